using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Chirp.Users.Data.Migrations;

/// <inheritdoc />
public partial class CreateUsers : Migration
{
    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.CreateTable(
            name: "users",
            columns: table => new
            {
                id = table.Column<Guid>(type: "uuid", nullable: false),
                handle = table.Column<string>(type: "text", nullable: false),
                display_name = table.Column<string>(type: "text", nullable: false),
                password_hash = table.Column<string>(type: "text", nullable: false),
                created_at = table.Column<DateTimeOffset>(type: "timestamptz", nullable: false)
            },
            constraints: table =>
            {
                table.PrimaryKey("pk_users", x => x.id);
                table.CheckConstraint("ck_users_display_name_length", "char_length(display_name) BETWEEN 1 AND 50");
                table.CheckConstraint("ck_users_handle", "handle ~ '^[a-z0-9_]{3,15}$'");
            });

        migrationBuilder.CreateIndex(
            name: "ux_users_handle",
            table: "users",
            column: "handle",
            unique: true);
    }

    /// <inheritdoc />
    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropTable(
            name: "users");
    }
}
