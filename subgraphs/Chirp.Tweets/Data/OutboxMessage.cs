namespace Chirp.Tweets.Data;

/// <summary>
/// An integration event waiting to be relayed to Redis (table <c>outbox_messages</c>). Written in the same
/// transaction as the change it describes, so an event exists exactly when the change committed.
/// </summary>
public sealed class OutboxMessage
{
    /// <summary>The event id (UUIDv7); also the event's <c>eventId</c>.</summary>
    public Guid Id { get; set; }

    /// <summary>The stream entry's <c>type</c>, e.g. <c>tweet-retweeted</c>.</summary>
    public string Type { get; set; } = "";

    /// <summary>
    /// The stream entry's <c>data</c>: the event JSON exactly as serialised at commit. Kept as text, not jsonb,
    /// because jsonb reorders keys and the wire format is a checked-in contract.
    /// </summary>
    public string Payload { get; set; } = "";

    /// <summary>When the change committed (UTC).</summary>
    public DateTimeOffset OccurredAt { get; set; }

    /// <summary>When Redis accepted the entry; null while pending.</summary>
    public DateTimeOffset? SentAt { get; set; }

    /// <summary>Failed relay attempts so far.</summary>
    public int Attempts { get; set; }

    /// <summary>Not relayed before this time (backoff after a failure).</summary>
    public DateTimeOffset NextAttemptAt { get; set; }

    /// <summary>The last relay failure, for operators; null when none.</summary>
    public string? LastError { get; set; }
}
