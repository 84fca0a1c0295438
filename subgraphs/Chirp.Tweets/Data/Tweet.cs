namespace Chirp.Tweets.Data;

/// <summary>
/// A tweet or a retweet (table <c>tweets</c>). A retweet has <see cref="RetweetOfId"/> set to the ORIGINAL tweet
/// (never to another retweet) and carries the original's text; a user has at most one retweet per original.
/// </summary>
public sealed class Tweet
{
    /// <summary>UUIDv7, so ids sort roughly by creation time.</summary>
    public Guid Id { get; set; }

    /// <summary>The user id (owned by the users subgraph) of who wrote or retweeted it.</summary>
    public Guid AuthorId { get; set; }

    /// <summary>NFC-normalised text, 1-280 Unicode scalar values.</summary>
    public string Text { get; set; } = "";

    /// <summary>Creation time, UTC, truncated to microseconds so it round-trips through <c>timestamptz</c> unchanged.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The original tweet when this is a retweet, else null.</summary>
    public Guid? RetweetOfId { get; set; }

    /// <summary>Navigation to <see cref="RetweetOfId"/> (used only for the foreign key).</summary>
    public Tweet? RetweetOf { get; set; }
}
