using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Chirp.EmailWorker.Data.Migrations
{
    /// <inheritdoc />
    public partial class AddressConfirmation : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "confirmation_sent_at",
                table: "email_settings",
                type: "timestamp with time zone",
                nullable: true);

            // Before this migration every address counted as verified as soon as it was set; none was ever confirmed
            // by its owner, so none is verified until it is.
            migrationBuilder.Sql("UPDATE email_settings SET verified = false WHERE verified;");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "confirmation_sent_at",
                table: "email_settings");
        }
    }
}
