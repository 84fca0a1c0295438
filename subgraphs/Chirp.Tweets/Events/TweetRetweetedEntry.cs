using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Chirp.Contracts;

namespace Chirp.Tweets.Events;

/// <summary>
/// A <c>tweet-retweeted</c> stream entry as published on the pub/sub channel of the same name:
/// <c>{"id":"&lt;stream entry id&gt;","type":"tweet-retweeted","v":"1","data":"&lt;event JSON&gt;"}</c>, where <c>data</c>
/// is the entry's <c>data</c> field verbatim, a JSON string holding a serialised <see cref="TweetRetweeted"/>.
/// </summary>
/// <param name="Id">The stream entry id that <c>XADD</c> returned.</param>
/// <param name="Type">The entry's <c>type</c> field.</param>
/// <param name="Version">The entry's <c>v</c> field.</param>
/// <param name="Data">The entry's <c>data</c> field (event JSON).</param>
public sealed record TweetRetweetedEntry(string Id, string Type, string Version, string Data)
{
    /// <summary>The channel message: the entry as one JSON object.</summary>
    public string ToJson()
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
    /// Reads a channel message written by <see cref="ToJson"/> and its event. False for anything malformed, of another
    /// type, or of another version (never throws).
    /// </summary>
    public static bool TryParse(string? json, out TweetRetweetedEntry entry, out TweetRetweeted @event)
    {
        entry = null!;
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
                || !TryGetString(root, TweetRetweetedStream.TypeField, out var type) || type != TweetRetweetedStream.EventType
                || !TryGetString(root, TweetRetweetedStream.VersionField, out var version) || version != TweetRetweetedStream.Version
                || !TryGetString(root, TweetRetweetedStream.DataField, out var data))
            {
                return false;
            }

            var parsed = JsonSerializer.Deserialize(data, ContractsJsonContext.Default.TweetRetweeted);
            if (parsed is null)
            {
                return false;
            }

            entry = new TweetRetweetedEntry(id, type, version, data);
            @event = parsed;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
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
