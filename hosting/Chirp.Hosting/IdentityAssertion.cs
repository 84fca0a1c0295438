using System.Buffers.Text;
using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chirp.Contracts;
using Microsoft.Extensions.Options;

namespace Chirp.Hosting;

/// <summary>
/// Internal HMAC keys for <see cref="ChirpHeaders.Identity"/> assertions (section <c>IdentityAssertion</c>).
/// Several keys verify, <see cref="SigningKeyId"/> signs, so keys rotate without downtime.
/// These are not the access-token keys.
/// </summary>
public sealed class IdentityAssertionOptions
{
    public const string SectionName = "IdentityAssertion";

    /// <summary>Key id to base64-encoded secret (at least 32 bytes each).</summary>
    [Required]
    public Dictionary<string, string> Keys { get; init; } = [];

    /// <summary>The key id that signs; only needed where assertions are issued (the gateway).</summary>
    public string? SigningKeyId { get; init; }

    /// <summary>Lifetime of an issued assertion in seconds; docs/architecture.md caps it at 60.</summary>
    [Range(1, 60)]
    public int LifetimeSeconds { get; init; } = 60;
}

/// <summary>
/// Signs and verifies identity assertions: <c>base64url(payload JSON) "." base64url(HMAC-SHA256(first part))</c>
/// under the key named by the payload's <c>kid</c> (docs/architecture.md section 2).
/// </summary>
public sealed class IdentityAssertionCodec
{
    private readonly Dictionary<string, byte[]> _keys;
    private readonly string? _signingKeyId;
    private readonly int _lifetimeSeconds;
    private readonly TimeProvider _time;

    /// <summary>Builds the codec from validated options.</summary>
    /// <exception cref="InvalidOperationException">A key is not base64 or shorter than 32 bytes, or the signing key id names no key.</exception>
    public IdentityAssertionCodec(IOptions<IdentityAssertionOptions> options, TimeProvider time)
    {
        var o = options.Value;
        _keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (kid, secret) in o.Keys)
        {
            if (string.IsNullOrWhiteSpace(secret))
            {
                throw new InvalidOperationException($"IdentityAssertion:Keys:{kid} is empty.");
            }

            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(secret);
            }
            catch (FormatException)
            {
                throw new InvalidOperationException($"IdentityAssertion:Keys:{kid} is not base64.");
            }

            if (bytes.Length < 32)
            {
                throw new InvalidOperationException($"IdentityAssertion:Keys:{kid} must be at least 32 bytes.");
            }

            _keys[kid] = bytes;
        }

        if (_keys.Count == 0)
        {
            throw new InvalidOperationException("IdentityAssertion:Keys must hold at least one key.");
        }

        if (o.SigningKeyId is not null && !_keys.ContainsKey(o.SigningKeyId))
        {
            throw new InvalidOperationException("IdentityAssertion:SigningKeyId names no configured key.");
        }

        _signingKeyId = o.SigningKeyId;
        _lifetimeSeconds = o.LifetimeSeconds;
        _time = time;
    }

    /// <summary>Issues an assertion for a caller, valid for the configured lifetime (60 s at most).</summary>
    /// <exception cref="InvalidOperationException">No signing key is configured.</exception>
    public string Sign(string userId, string handle, string displayName, string scope)
    {
        var kid = _signingKeyId ?? throw new InvalidOperationException("IdentityAssertion:SigningKeyId is not configured.");
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var payload = new IdentityAssertionPayload(userId, handle, displayName, scope, now, now + _lifetimeSeconds, kid);
        var json = JsonSerializer.SerializeToUtf8Bytes(payload, ContractsJsonContext.Default.IdentityAssertionPayload);
        var body = Base64Url.EncodeToString(json);
        var mac = HMACSHA256.HashData(_keys[kid], Encoding.ASCII.GetBytes(body));
        return body + "." + Base64Url.EncodeToString(mac);
    }

    /// <summary>
    /// Verifies an assertion: shape, known <c>kid</c>, constant-time MAC comparison, and expiry (5 s leeway).
    /// Returns null for anything that does not verify; never throws on bad input.
    /// </summary>
    public IdentityAssertionPayload? Verify(string? assertion)
    {
        if (string.IsNullOrEmpty(assertion) || assertion.Length > 4096)
        {
            return null;
        }

        var dot = assertion.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == assertion.Length - 1)
        {
            return null;
        }

        var body = assertion[..dot];
        IdentityAssertionPayload? payload;
        byte[] mac;
        try
        {
            mac = Base64Url.DecodeFromChars(assertion.AsSpan(dot + 1));
            payload = JsonSerializer.Deserialize(Base64Url.DecodeFromChars(body), ContractsJsonContext.Default.IdentityAssertionPayload);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return null;
        }

        if (payload?.Kid is null || payload.Sub is null || !_keys.TryGetValue(payload.Kid, out var key))
        {
            return null;
        }

        var expected = HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(body));
        if (!CryptographicOperations.FixedTimeEquals(expected, mac))
        {
            return null;
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        return payload.Exp + 5 < now || payload.Iat - 5 > now ? null : payload;
    }
}
