using System.Security.Cryptography;

namespace Chirp.Hosting;

/// <summary>
/// Named HMAC-SHA256 keys of which several verify and one signs, so a key rotates without invalidating what the old
/// one signed: add the new key, switch the signing key id, remove the old key once nothing it signed is still valid.
/// Secrets come from configuration as base64 of at least 32 bytes (RFC 2104 section 3: at least the hash length).
/// </summary>
public sealed class HmacKeyRing
{
    /// <summary>Fewest key bytes accepted: the output length of SHA-256.</summary>
    public const int MinKeyBytes = 32;

    private readonly Dictionary<string, byte[]> _keys;

    /// <summary>Reads the keys; <paramref name="section"/> (e.g. <c>EmailLinks</c>) only names settings in error messages.</summary>
    /// <exception cref="InvalidOperationException">
    /// No key, a key that is empty, not base64 or shorter than <see cref="MinKeyBytes"/>, a key id that is not
    /// 1-32 letters, digits, '-' or '_', or a <paramref name="signingKeyId"/> that names no key. Messages name the
    /// setting, never the secret.
    /// </exception>
    public HmacKeyRing(string section, IReadOnlyDictionary<string, string> keys, string signingKeyId)
    {
        _keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (kid, secret) in keys)
        {
            if (kid.Length is 0 or > 32 || !kid.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                throw new InvalidOperationException($"{section}:Keys has a key id that is not 1-32 letters, digits, '-' or '_'.");
            }

            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(secret ?? "");
            }
            catch (FormatException)
            {
                throw new InvalidOperationException($"{section}:Keys:{kid} is not base64.");
            }

            if (bytes.Length < MinKeyBytes)
            {
                throw new InvalidOperationException($"{section}:Keys:{kid} must be at least {MinKeyBytes} bytes.");
            }

            _keys[kid] = bytes;
        }

        if (_keys.Count == 0)
        {
            throw new InvalidOperationException($"{section}:Keys must hold at least one key.");
        }

        if (!_keys.ContainsKey(signingKeyId))
        {
            throw new InvalidOperationException($"{section}:SigningKeyId names no key of {section}:Keys.");
        }

        SigningKeyId = signingKeyId;
    }

    /// <summary>The id of the key that <see cref="Sign"/> uses.</summary>
    public string SigningKeyId { get; }

    /// <summary>HMAC-SHA256 of <paramref name="data"/> under the signing key (32 bytes).</summary>
    public byte[] Sign(ReadOnlySpan<byte> data) => HMACSHA256.HashData(_keys[SigningKeyId], data);

    /// <summary>
    /// True when <paramref name="mac"/> is the HMAC-SHA256 of <paramref name="data"/> under key <paramref name="kid"/>
    /// (compared in constant time); false for an unknown key id. Never throws on bad input.
    /// </summary>
    public bool Verify(string kid, ReadOnlySpan<byte> data, ReadOnlySpan<byte> mac) =>
        _keys.TryGetValue(kid, out var key)
        && CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(key, data), mac);

    /// <summary>True when any key of this ring has the same bytes as <paramref name="secret"/> (base64), so services can refuse to reuse another purpose's key.</summary>
    public bool Holds(string? secret)
    {
        if (string.IsNullOrEmpty(secret))
        {
            return false;
        }

        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(secret);
        }
        catch (FormatException)
        {
            return false;
        }

        return _keys.Values.Any(k => CryptographicOperations.FixedTimeEquals(k, bytes));
    }
}
