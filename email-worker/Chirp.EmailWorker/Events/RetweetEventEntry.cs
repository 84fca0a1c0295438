using System.Text.Json;
using Chirp.Contracts;
using StackExchange.Redis;

namespace Chirp.EmailWorker.Events;

/// <summary>Reads a <c>tweet-retweeted</c> stream entry (docs/architecture.md section 5: fields <c>type</c>, <c>v</c>, <c>data</c>).</summary>
public static class RetweetEventEntry
{
    /// <summary>
    /// The event in <paramref name="entry"/>, or null with <paramref name="reason"/> saying why the entry is poison:
    /// an unknown <c>type</c> or <c>v</c>, <c>data</c> that is not the v1 JSON, or ids that are not UUIDs.
    /// </summary>
    public static TweetRetweeted? TryRead(StreamEntry entry, out string reason)
    {
        var type = entry[TweetRetweetedStream.TypeField];
        var version = entry[TweetRetweetedStream.VersionField];
        var data = entry[TweetRetweetedStream.DataField];
        if (type != TweetRetweetedStream.EventType)
        {
            reason = $"unknown type '{type}'";
            return null;
        }

        if (version != TweetRetweetedStream.Version)
        {
            reason = $"unsupported version '{version}' of {TweetRetweetedStream.EventType}";
            return null;
        }

        if (data.IsNullOrEmpty)
        {
            reason = "no data";
            return null;
        }

        TweetRetweeted? e;
        try
        {
            e = JsonSerializer.Deserialize((string)data!, ContractsJsonContext.Default.TweetRetweeted);
        }
        catch (JsonException ex)
        {
            reason = $"data is not valid JSON: {ex.Message}";
            return null;
        }

        if (e is null
            || !Guid.TryParse(e.EventId, out _)
            || !Guid.TryParse(e.TweetAuthorId, out _)
            || e.TweetText is null
            || e.RetweetedByHandle is null
            || e.RetweetedByDisplayName is null)
        {
            reason = "data lacks eventId, tweetAuthorId, tweetText or the retweeter's handle and display name";
            return null;
        }

        reason = "";
        return e;
    }
}
