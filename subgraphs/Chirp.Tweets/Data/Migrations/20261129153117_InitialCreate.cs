using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Chirp.Tweets.Data.Migrations;

/// <inheritdoc />
public partial class InitialCreate : Migration
{
    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.CreateTable(
            name: "outbox_messages",
            columns: table => new
            {
                id = table.Column<Guid>(type: "uuid", nullable: false),
                type = table.Column<string>(type: "text", nullable: false),
                payload = table.Column<string>(type: "text", nullable: false),
                occurred_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                sent_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                attempts = table.Column<int>(type: "integer", nullable: false),
                next_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                last_error = table.Column<string>(type: "text", nullable: true)
            },
            constraints: table =>
            {
                table.PrimaryKey("pk_outbox_messages", x => x.id);
            });

        migrationBuilder.CreateTable(
            name: "tweets",
            columns: table => new
            {
                id = table.Column<Guid>(type: "uuid", nullable: false),
                author_id = table.Column<Guid>(type: "uuid", nullable: false),
                text = table.Column<string>(type: "text", nullable: false),
                created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                retweet_of_id = table.Column<Guid>(type: "uuid", nullable: true)
            },
            constraints: table =>
            {
                table.PrimaryKey("pk_tweets", x => x.id);
                table.ForeignKey(
                    name: "fk_tweets_retweet_of_id",
                    column: x => x.retweet_of_id,
                    principalTable: "tweets",
                    principalColumn: "id",
                    onDelete: ReferentialAction.Restrict);
            });

        migrationBuilder.CreateIndex(
            name: "ix_outbox_messages_pending",
            table: "outbox_messages",
            column: "next_attempt_at",
            filter: "sent_at IS NULL");

        migrationBuilder.CreateIndex(
            name: "ix_tweets_author_id_created_at_id",
            table: "tweets",
            columns: new[] { "author_id", "created_at", "id" },
            descending: new[] { false, true, true });

        migrationBuilder.CreateIndex(
            name: "ix_tweets_retweet_of_id",
            table: "tweets",
            column: "retweet_of_id");

        migrationBuilder.CreateIndex(
            name: "ux_tweets_author_id_retweet_of_id",
            table: "tweets",
            columns: new[] { "author_id", "retweet_of_id" },
            unique: true,
            filter: "retweet_of_id IS NOT NULL");
    }

    /// <inheritdoc />
    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropTable(
            name: "outbox_messages");

        migrationBuilder.DropTable(
            name: "tweets");
    }
}
