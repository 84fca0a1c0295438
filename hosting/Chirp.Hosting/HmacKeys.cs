using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace Chirp.Hosting;

/// <summary>
/// HMAC-SHA256 keys held in a <see cref="KeyRing{TKey}"/>: files <c>&lt;kid&gt;.key</c>, each a base64 secret of at least
/// <see cref="MinKeyBytes"/> bytes (RFC 2104 section 3: at least the hash length). Used for the identity assertions and
/// the email worker's mailed links, each purpose with its own folder.
/// </summary>
public static class HmacKeys
{
    /// <summary>Fewest key bytes accepted: the output length of SHA-256.</summary>
    public const int MinKeyBytes = 32;

    /// <summary>Loads (and keeps loading) the <c>*.key</c> files of <paramref name="options"/>' folder.</summary>
    /// <exception cref="InvalidOperationException">The folder is missing or empty, or a key is not base64 or too short; messages name the file, never the secret.</exception>
    public static KeyRing<byte[]> Load(KeyDirectoryOptions options, string section, TimeProvider time, ILogger logger) =>
        new(options, section, "*.key", (kid, text) => Parse(section, kid, text), time, logger);

    /// <summary>HMAC-SHA256 of <paramref name="data"/> under <paramref name="key"/> (32 bytes).</summary>
    public static byte[] Mac(this RingKey<byte[]> key, ReadOnlySpan<byte> data) => HMACSHA256.HashData(key.Key, data);

    /// <summary>
    /// True when <paramref name="mac"/> is the HMAC-SHA256 of <paramref name="data"/> under key <paramref name="kid"/>
    /// (compared in constant time); false for an unknown kid. Never throws on bad input.
    /// </summary>
    public static bool Verify(this KeyRing<byte[]> ring, string? kid, ReadOnlySpan<byte> data, ReadOnlySpan<byte> mac) =>
        ring.Find(kid) is { } key && CryptographicOperations.FixedTimeEquals(key.Mac(data), mac);

    /// <summary>True when the two rings hold a key with the same bytes, so a service can refuse to use one purpose's key for another.</summary>
    public static bool SharesKeyWith(this KeyRing<byte[]> ring, KeyRing<byte[]> other) =>
        ring.All.Any(mine => other.All.Any(theirs => CryptographicOperations.FixedTimeEquals(mine.Key, theirs.Key)));

    private static byte[] Parse(string section, string kid, string text)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{section} key '{kid}.key' is not base64.");
        }

        return bytes.Length >= MinKeyBytes ? bytes : throw new InvalidOperationException($"{section} key '{kid}.key' must be at least {MinKeyBytes} bytes.");
    }
}
