using Microsoft.EntityFrameworkCore;

namespace Chirp.EmailWorker.Data;

/// <summary>A user's mail preferences. No row means the defaults: no address, not verified, not opted in.</summary>
public sealed class EmailSettings
{
    /// <summary>The user's id (the <c>User</c> entity key, a UUIDv7 owned by the users subgraph).</summary>
    public Guid UserId { get; set; }

    /// <summary>The plain addr-spec (RFC 5322 section 3.4.1), at most 254 characters; null when none is set.</summary>
    public string? Address { get; set; }

    /// <summary>True once the owner confirmed the address through the mailed link; mail goes only to verified addresses.</summary>
    public bool Verified { get; set; }

    /// <summary>The user wants a mail when one of their tweets is retweeted.</summary>
    public bool NotifyOnRetweet { get; set; }

    /// <summary>When the last confirmation mail went out (UTC); null when none did. Rate-limits re-sending.</summary>
    public DateTimeOffset? ConfirmationSentAt { get; set; }

    /// <summary>Last change (UTC).</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// One mail the SMTP server accepted, keyed by (event id, recipient) so a redelivered event is not mailed
/// twice once the send is recorded.
/// </summary>
public sealed class SentMail
{
    /// <summary>The <c>eventId</c> of the event that caused the mail.</summary>
    public Guid EventId { get; set; }

    /// <summary>The address the mail went to.</summary>
    public string Recipient { get; set; } = "";

    /// <summary>The <c>Message-ID</c> without angle brackets (derived from event id and recipient).</summary>
    public string MessageId { get; set; } = "";

    /// <summary>When the SMTP server accepted the mail (UTC).</summary>
    public DateTimeOffset SentAt { get; set; }
}

/// <summary>The email worker's database (<c>ConnectionStrings:Email</c>).</summary>
public sealed class EmailDbContext(DbContextOptions<EmailDbContext> options) : DbContext(options)
{
    /// <summary>Longest address accepted (RFC 5321 section 4.5.3.1.3 path limit less the angle brackets).</summary>
    public const int MaxAddressLength = 254;

    public DbSet<EmailSettings> EmailSettings => Set<EmailSettings>();

    public DbSet<SentMail> SentMail => Set<SentMail>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<EmailSettings>(e =>
        {
            e.ToTable("email_settings");
            e.HasKey(s => s.UserId);
            e.Property(s => s.UserId).HasColumnName("user_id").ValueGeneratedNever();
            e.Property(s => s.Address).HasColumnName("address").HasMaxLength(MaxAddressLength);
            e.Property(s => s.Verified).HasColumnName("verified");
            e.Property(s => s.NotifyOnRetweet).HasColumnName("notify_on_retweet");
            e.Property(s => s.ConfirmationSentAt).HasColumnName("confirmation_sent_at");
            e.Property(s => s.UpdatedAt).HasColumnName("updated_at");
        });

        modelBuilder.Entity<SentMail>(e =>
        {
            e.ToTable("sent_mail");
            e.HasKey(m => new { m.EventId, m.Recipient });
            e.Property(m => m.EventId).HasColumnName("event_id");
            e.Property(m => m.Recipient).HasColumnName("recipient").HasMaxLength(MaxAddressLength);
            e.Property(m => m.MessageId).HasColumnName("message_id").HasMaxLength(300);
            e.Property(m => m.SentAt).HasColumnName("sent_at");
        });
    }
}
