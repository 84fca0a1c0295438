using System.Buffers.Text;
using System.ComponentModel.DataAnnotations;
using System.Text;
using System.Text.Json;
using Chirp.Contracts;
using Chirp.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chirp.IdentityAssertions;

/// <summary>
/// Internal HMAC keys for <see cref="ChirpHeaders.Identity"/> assertions (section <c>IdentityAssertion</c>): the files
/// <c>&lt;kid&gt;.key</c> of <see cref="KeyDirectoryOptions.KeyDirectory"/>, each a base64 secret of at least 32
/// bytes. They rotate like the token keys (every key verifies, one signs, a new key signs only after the activation
/// delay) and are never the access-token keys.
/// </summary>
public sealed class IdentityAssertionOptions : KeyDirectoryOptions
{
    public const string SectionName = "IdentityAssertion";

    /// <summary>Lifetime of an issued assertion in seconds; docs/architecture.md caps it at 60.</summary>
    [Range(1, 60)]
    public int LifetimeSeconds { get; set; } = 60;
}

/// <summary>
/// Signs and verifies identity assertions: <c>base64url(payload JSON) "." base64url(HMAC-SHA256(first part))</c>
/// under the key named by the payload's <c>kid</c> (docs/architecture.md section 2).
/// </summary>
public sealed class IdentityAssertionCodec : IDisposable
{
    private readonly KeyRing<byte[]> _keys;
    private readonly int _lifetimeSeconds;
    private readonly TimeProvider _time;

    /// <summary>Loads the keys of <see cref="KeyDirectoryOptions.KeyDirectory"/> and keeps them current.</summary>
    /// <exception cref="InvalidOperationException">The folder is missing or empty, a key is not base64 or shorter than 32 bytes, or the signing key id names no key.</exception>
    public IdentityAssertionCodec(IOptions<IdentityAssertionOptions> options, TimeProvider time, ILogger<IdentityAssertionCodec> logger)
    {
        _keys = HmacKeys.Load(options.Value, IdentityAssertionOptions.SectionName, time, logger);
        _lifetimeSeconds = options.Value.LifetimeSeconds;
        _time = time;
    }

    /// <summary>The kid that signs now.</summary>
    public string SigningKeyId => _keys.Signing.Kid;

    /// <summary>Issues an assertion for a caller, valid for the configured lifetime (60 s at most).</summary>
    public string Sign(string userId, string handle, string displayName, string scope)
    {
        var key = _keys.Signing;
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var payload = new IdentityAssertionPayload(userId, handle, displayName, scope, now, now + _lifetimeSeconds, key.Kid);
        var json = JsonSerializer.SerializeToUtf8Bytes(payload, ContractsJsonContext.Default.IdentityAssertionPayload);
        var body = Base64Url.EncodeToString(json);
        var mac = key.Mac(Encoding.ASCII.GetBytes(body));
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

        if (payload?.Kid is null || payload.Sub is null || !_keys.Verify(payload.Kid, Encoding.ASCII.GetBytes(body), mac))
        {
            return null;
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        return payload.Exp + 5 < now || payload.Iat - 5 > now ? null : payload;
    }

    /// <summary>True when <paramref name="other"/> holds one of these keys (see <see cref="HmacKeys.SharesKeyWith"/>).</summary>
    public bool SharesKeyWith(KeyRing<byte[]> other) => _keys.SharesKeyWith(other);

    /// <inheritdoc />
    public void Dispose() => _keys.Dispose();
}
