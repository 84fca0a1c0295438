using System.ComponentModel.DataAnnotations;
using MailKit.Security;
using MimeKit;

namespace Chirp.EmailWorker;

/// <summary>
/// How the retweet mail consumer reads the <c>tweet-retweeted</c> stream (section <c>EmailWorker</c>).
/// Every value has a default that suits production; tests shorten the delays.
/// </summary>
public sealed class EmailWorkerOptions
{
    public const string SectionName = "EmailWorker";

    /// <summary>
    /// The consumer name inside the <c>email-worker</c> group; defaults to host name plus process id so that each
    /// process is a distinct consumer whose pending entries others can reclaim when it dies.
    /// </summary>
    public string? ConsumerName { get; set; }

    /// <summary>Longest wait between two reads when no pub/sub signal arrives.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long the worker waits after a wake-up before it reads, so entries published close together are read, looked
    /// up and acknowledged as one batch instead of one round each. Zero reads at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Most entries read, retried or reclaimed per round trip.</summary>
    [Range(1, 1000)]
    public int BatchSize { get; set; } = 32;

    /// <summary>
    /// Deliveries (Redis' per-entry delivery count) after which an entry that still fails transiently is moved to
    /// the dead-letter stream.
    /// </summary>
    [Range(1, 1000)]
    public int MaxDeliveries { get; set; } = 10;

    /// <summary>Wait before the first retry; doubles with every further delivery.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between two retries; at most <see cref="ClaimIdleTime"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long an entry may sit unacknowledged with another consumer before this one claims it
    /// (<c>XAUTOCLAIM</c>): that consumer is taken to be dead. Must exceed the SMTP timeout; short enough that
    /// an event read by a worker that was killed is still mailed within a minute.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan ClaimIdleTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The consumer name to use: <see cref="ConsumerName"/> or <c>host-pid</c>.</summary>
    public string EffectiveConsumerName =>
        string.IsNullOrWhiteSpace(ConsumerName) ? $"{Environment.MachineName}-{Environment.ProcessId}" : ConsumerName;
}

/// <summary>Where retweet mail is submitted (section <c>Smtp</c>; RFC 5321).</summary>
public sealed class SmtpOptions
{
    public const string SectionName = "Smtp";

    /// <summary>SMTP server host name or address.</summary>
    [Required]
    public string Host { get; set; } = "";

    /// <summary>SMTP server port.</summary>
    [Range(1, 65535)]
    public int Port { get; set; }

    /// <summary>The <c>From</c> mailbox, e.g. <c>Chirp &lt;no-reply@chirp.example&gt;</c> (RFC 5322 section 3.4).</summary>
    [Required]
    public string From { get; set; } = "";

    /// <summary>TLS mode; <c>None</c> for a local sink, <c>StartTls</c> or <c>SslOnConnect</c> for a real relay.</summary>
    public SecureSocketOptions Security { get; set; } = SecureSocketOptions.None;

    /// <summary>User name for SMTP AUTH; none when empty.</summary>
    public string? UserName { get; set; }

    /// <summary>Password for SMTP AUTH (from a secret, never appsettings.json).</summary>
    public string? Password { get; set; }

    /// <summary>Timeout of each SMTP command; keep it well under <see cref="EmailWorkerOptions.ClaimIdleTime"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long an unused connection stays open for the next message before the worker closes it with <c>QUIT</c>;
    /// zero opens one connection per message. Keep it under the server's idle timeout (RFC 5321 section 4.5.3.2.7).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The parsed <see cref="From"/> mailbox.</summary>
    /// <exception cref="ParseException">The value is not a single mailbox.</exception>
    public MailboxAddress ParseFrom() => MailboxAddress.Parse(From);

    /// <summary>True when <paramref name="from"/> is one mailbox with an address (checked at start).</summary>
    public static bool IsValidFrom(string? from) =>
        from is not null && MailboxAddress.TryParse(from, out var mailbox) && mailbox.Address.Contains('@', StringComparison.Ordinal);
}
