using System.Globalization;
using Chirp.Contracts;
using StackExchange.Redis;

namespace Chirp.EmailWorker.Events;

/// <summary>
/// The dead-letter stream <c>tweet-retweeted.dead</c>: entries that cannot be mailed keep their original fields
/// and get <see cref="ReasonField"/>, <see cref="SourceIdField"/>, <see cref="DeliveriesField"/> and
/// <see cref="FailedAtField"/> appended. Replaying strips those and adds the entry to the main stream again.
/// </summary>
public static class DeadLetters
{
    public const string ReasonField = "reason";
    public const string SourceIdField = "source-id";
    public const string DeliveriesField = "deliveries";
    public const string FailedAtField = "failed-at";

    private static readonly HashSet<string> MetaFields = [ReasonField, SourceIdField, DeliveriesField, FailedAtField];

    /// <summary>
    /// Adds <paramref name="entry"/> to the dead-letter stream and acknowledges it in the consumer group in one
    /// <c>MULTI</c>, so it is never both lost and still pending.
    /// </summary>
    public static async Task MoveAsync(IDatabase db, StreamEntry entry, string reason, long deliveries, DateTimeOffset now)
    {
        var fields = entry.Values
            .Append(new NameValueEntry(ReasonField, reason))
            .Append(new NameValueEntry(SourceIdField, entry.Id))
            .Append(new NameValueEntry(DeliveriesField, deliveries))
            .Append(new NameValueEntry(FailedAtField, now.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)))
            .ToArray();
        var transaction = db.CreateTransaction();
        var add = transaction.StreamAddAsync(TweetRetweetedStream.DeadLetterStreamName, fields);
        var ack = transaction.StreamAcknowledgeAsync(TweetRetweetedStream.StreamName, TweetRetweetedStream.EmailWorkerGroup, entry.Id);
        await transaction.ExecuteAsync();
        await Task.WhenAll(add, ack);
    }

    /// <summary>Up to <paramref name="count"/> dead letters, oldest first.</summary>
    public static async Task<StreamEntry[]> ListAsync(IDatabase db, int count = 1000) =>
        await db.StreamRangeAsync(TweetRetweetedStream.DeadLetterStreamName, count: count);

    /// <summary>
    /// Adds the original fields of dead letter <paramref name="id"/> (or of every dead letter when null) to
    /// <c>tweet-retweeted</c> as new entries and deletes them from the dead-letter stream, each in one <c>MULTI</c>.
    /// Returns how many were replayed (0 when <paramref name="id"/> names none).
    /// </summary>
    public static async Task<int> ReplayAsync(IDatabase db, string? id)
    {
        var entries = id is null
            ? await db.StreamRangeAsync(TweetRetweetedStream.DeadLetterStreamName)
            : await db.StreamRangeAsync(TweetRetweetedStream.DeadLetterStreamName, id, id, count: 1);
        foreach (var entry in entries)
        {
            var original = entry.Values.Where(v => !MetaFields.Contains(v.Name.ToString())).ToArray();
            var transaction = db.CreateTransaction();
            var add = transaction.StreamAddAsync(TweetRetweetedStream.StreamName, original);
            var delete = transaction.StreamDeleteAsync(TweetRetweetedStream.DeadLetterStreamName, [entry.Id]);
            await transaction.ExecuteAsync();
            await Task.WhenAll(add, delete);
        }

        return entries.Length;
    }
}
