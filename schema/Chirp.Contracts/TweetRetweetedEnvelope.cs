using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Chirp.Contracts;

/// <summary>
/// The envelope of a <c>tweet-retweeted</c> stream entry, the one codec of its producer (the tweets outbox relay) and
/// its consumers (the email worker, the tweets subscription feed); docs/architecture.md section 5. An entry has the
/// fields <c>type</c>, <c>v</c> and <c>data</c> (<see cref="TweetRetweetedStream"/>), <c>data</c> a serialised
/// <see cref="TweetRetweeted"/>; on the pub/sub channel the same entry travels as
/// <c>{"id":"&lt;stream entry id&gt;","type":"tweet-retweeted","v":"1","data":"&lt;event JSON&gt;"}</c>.
/// </summary>
/// <param name="Id">The stream entry id that <c>XADD</c> returned.</param>
/// <param name="Type">The entry's <c>type</c> field.</param>
/// <param name="Version">The entry's <c>v</c> field.</param>
/// <param name="Data">The entry's <c>data</c> field (event JSON), verbatim.</param>
public sealed record TweetRetweetedEnvelope(string Id, string Type, string Version, string Data)
{
    /// <summary>The channel message: the entry as one JSON object with <c>id</c>, <c>type</c>, <c>v</c>, <c>data</c>.</summary>
    public string ToChannelMessage()
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping: the message never reaches HTML, and "data" stays readable ("\"" rather than "\u0022").
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("id", Id);
            writer.WriteString(TweetRetweetedStream.TypeField, Type);
            writer.WriteString(TweetRetweetedStream.VersionField, Version);
            writer.WriteString(TweetRetweetedStream.DataField, Data);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// Reads a channel message written by <see cref="ToChannelMessage"/> and opens its event (<see cref="TryOpen"/>).
    /// False for anything malformed, of another type or version, or whose event is not a valid v1 event (never throws).
    /// </summary>
    public static bool TryParseChannelMessage(string? json, out TweetRetweetedEnvelope envelope, out TweetRetweeted @event)
    {
        envelope = null!;
        @event = null!;
        if (string.IsNullOrEmpty(json))
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !TryGetString(root, "id", out var id)
                || !TryGetString(root, TweetRetweetedStream.TypeField, out var type)
                || !TryGetString(root, TweetRetweetedStream.VersionField, out var version)
                || !TryGetString(root, TweetRetweetedStream.DataField, out var data)
                || TryOpen(type, version, data, out _) is not { } opened)
            {
                return false;
            }

            envelope = new TweetRetweetedEnvelope(id, type, version, data);
            @event = opened;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// The event of an entry's <paramref name="type"/>, <paramref name="version"/> and <paramref name="data"/> fields,
    /// or null with <paramref name="reason"/> saying why the entry is poison: an unknown <c>type</c> or <c>v</c>,
    /// <c>data</c> that is not the v1 JSON, or ids that are not UUIDs (never throws).
    /// </summary>
    public static TweetRetweeted? TryOpen(string? type, string? version, string? data, out string reason)
    {
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

        if (string.IsNullOrEmpty(data))
        {
            reason = "no data";
            return null;
        }

        TweetRetweeted? e;
        try
        {
            e = JsonSerializer.Deserialize(data, ContractsJsonContext.Default.TweetRetweeted);
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

    private static bool TryGetString(JsonElement o, string name, out string value)
    {
        value = "";
        if (!o.TryGetProperty(name, out var p) || p.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        value = p.GetString()!;
        return true;
    }
}
