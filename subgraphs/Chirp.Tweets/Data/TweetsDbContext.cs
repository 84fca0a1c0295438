using Microsoft.EntityFrameworkCore;

namespace Chirp.Tweets.Data;

/// <summary>The tweets database: tweets, retweets and the event outbox.</summary>
public sealed class TweetsDbContext(DbContextOptions<TweetsDbContext> options) : DbContext(options)
{
    /// <summary>Name of the unique index that allows one retweet per user and original.</summary>
    public const string RetweetOncePerUserIndex = "ux_tweets_author_id_retweet_of_id";

    public DbSet<Tweet> Tweets => Set<Tweet>();

    public DbSet<OutboxMessage> OutboxMessages => Set<OutboxMessage>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Tweet>(e =>
        {
            e.ToTable("tweets");
            e.HasKey(t => t.Id).HasName("pk_tweets");
            e.Property(t => t.Id).HasColumnName("id").ValueGeneratedNever();
            e.Property(t => t.AuthorId).HasColumnName("author_id");
            e.Property(t => t.Text).HasColumnName("text").IsRequired();
            e.Property(t => t.CreatedAt).HasColumnName("created_at");
            e.Property(t => t.RetweetOfId).HasColumnName("retweet_of_id");
            e.HasOne(t => t.RetweetOf).WithMany().HasForeignKey(t => t.RetweetOfId)
                .HasConstraintName("fk_tweets_retweet_of_id").OnDelete(DeleteBehavior.Restrict);

            // One retweet per user and original; originals (null) are not constrained.
            e.HasIndex(t => new { t.AuthorId, t.RetweetOfId }).IsUnique()
                .HasFilter("retweet_of_id IS NOT NULL").HasDatabaseName(RetweetOncePerUserIndex);

            // Listing a user's tweets newest first: WHERE author_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC.
            e.HasIndex(t => new { t.AuthorId, t.CreatedAt, t.Id }).IsDescending(false, true, true)
                .HasDatabaseName("ix_tweets_author_id_created_at_id");

            // retweetCount: SELECT retweet_of_id, count(*) ... WHERE retweet_of_id = ANY($1) GROUP BY retweet_of_id.
            e.HasIndex(t => t.RetweetOfId).HasDatabaseName("ix_tweets_retweet_of_id");
        });

        modelBuilder.Entity<OutboxMessage>(e =>
        {
            e.ToTable("outbox_messages");
            e.HasKey(m => m.Id).HasName("pk_outbox_messages");
            e.Property(m => m.Id).HasColumnName("id").ValueGeneratedNever();
            e.Property(m => m.Type).HasColumnName("type").IsRequired();
            e.Property(m => m.Payload).HasColumnName("payload").IsRequired();
            e.Property(m => m.OccurredAt).HasColumnName("occurred_at");
            e.Property(m => m.SentAt).HasColumnName("sent_at");
            e.Property(m => m.Attempts).HasColumnName("attempts");
            e.Property(m => m.NextAttemptAt).HasColumnName("next_attempt_at");
            e.Property(m => m.LastError).HasColumnName("last_error");

            // The relay's claim: WHERE sent_at IS NULL AND next_attempt_at <= now() ORDER BY next_attempt_at, id LIMIT n. With id in the
            // index the claim reads n entries in order; without it, a backlog of rows due at one instant is sorted on every claim.
            e.HasIndex(m => new { m.NextAttemptAt, m.Id }).HasFilter("sent_at IS NULL").HasDatabaseName("ix_outbox_messages_pending");
        });
    }
}
