using System.ComponentModel.DataAnnotations;

namespace Chirp.Tweets.Events;

/// <summary>Tuning of <see cref="OutboxRelay"/> (configuration section <c>Outbox</c>).</summary>
public sealed class OutboxRelayOptions
{
    public const string SectionName = "Outbox";

    /// <summary>Runs the relay in this process. Every replica may run one: they share rows through <c>SKIP LOCKED</c>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often to look for due rows when no commit signalled one (catches other replicas' rows and retries).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the relay waits after a wake-up before it claims, so commits that arrive close together go out in one
    /// batch (one transaction and one Redis round trip) instead of one batch each. It adds at most this much to the
    /// commit-to-<c>XADD</c> latency; zero claims at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Most rows claimed in one transaction.</summary>
    [Range(1, 1000)]
    public int BatchSize { get; set; } = 50;

    /// <summary>Delay before the first retry after Redis refused a row; doubles with each attempt up to <see cref="MaxRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Longest delay between retries of one row.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a sent row is kept (for operators tracing an event) before the relay deletes it.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "90.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often the relay deletes sent rows older than <see cref="Retention"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Most rows one <c>DELETE</c> removes; it repeats until fewer are left.</summary>
    [Range(1, 10000)]
    public int CleanupBatchSize { get; set; } = 500;
}
