using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Chirp.Tweets.Data;

/// <summary>
/// A position in a newest-first tweet list (Relay cursor connections): the last seen <c>(created_at, id)</c>.
/// Clients see it as opaque base64url text.
/// </summary>
/// <param name="CreatedAt">The tweet's creation time (microsecond precision, as stored).</param>
/// <param name="Id">The tweet's id, the tie-breaker between tweets of the same microsecond.</param>
public readonly record struct TweetCursor(DateTimeOffset CreatedAt, Guid Id)
{
    private const string Prefix = "t1:";

    /// <summary>The cursor of a tweet.</summary>
    public static TweetCursor Of(Tweet tweet) => new(tweet.CreatedAt, tweet.Id);

    /// <summary>Encodes as base64url of <c>t1:&lt;unix microseconds&gt;:&lt;uuid&gt;</c>.</summary>
    public string Encode()
    {
        var micros = (CreatedAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        return Base64Url.EncodeToString(Encoding.ASCII.GetBytes($"{Prefix}{micros.ToString(CultureInfo.InvariantCulture)}:{Id:D}"));
    }

    /// <summary>Decodes a cursor made by <see cref="Encode"/>; false for anything else (never throws).</summary>
    public static bool TryDecode(string? text, out TweetCursor cursor)
    {
        cursor = default;
        if (string.IsNullOrEmpty(text) || text.Length > 128)
        {
            return false;
        }

        string plain;
        try
        {
            plain = Encoding.ASCII.GetString(Base64Url.DecodeFromChars(text));
        }
        catch (FormatException)
        {
            return false;
        }

        if (!plain.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var parts = plain[Prefix.Length..].Split(':');
        if (parts.Length != 2
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var micros)
            || micros > (DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10
            || !Guid.TryParseExact(parts[1], "D", out var id))
        {
            return false;
        }

        cursor = new TweetCursor(DateTimeOffset.UnixEpoch.AddTicks(micros * 10), id);
        return true;
    }
}
