using System.Buffers.Text;
using System.Text.Json;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Chirp.Gateway.Auth;

/// <summary>
/// The one access-token validator of the gateway, used by the HTTP bearer scheme and by a WebSocket's
/// <c>connection_init</c> alike. Before the library's signature and claim checks it refuses what the library lets
/// through: a compact JWS that is not exactly three base64url parts, a header with <c>crit</c> (RFC 7515 section
/// 4.1.11: we understand no extension), key-carrying headers <c>jwk</c>, <c>jku</c>, <c>x5u</c>, <c>x5c</c> (keys come
/// only from our key folder, RFC 8725 section 3.10), repeated header parameters or claim names (RFC 7515 section 4,
/// RFC 7519 section 4), an <c>alg</c> other than exactly <c>ES256</c>, a missing required claim, and an <c>iat</c>
/// later than now plus the clock skew.
/// <para>
/// A token that validated is remembered (at most <paramref name="cacheSize"/> tokens, each until its <c>exp</c> plus
/// the clock skew), so a client's later requests skip the ES256 signature check, which is nearly all of the cost of
/// accepting a token. A remembered token is accepted only while the key that verified it is still the one its kid
/// names (<paramref name="findKey"/>), so removing or replacing a key ends its tokens at once. Revocation is not
/// remembered: it is checked on every request after this. Use it with <see cref="TokenIssuer.ValidationParameters"/> only.
/// </para>
/// </summary>
/// <param name="time">The clock for <c>iat</c> and for remembered tokens' expiry.</param>
/// <param name="findKey">The verification key a kid names now, or null (<see cref="SigningKeys.Find"/>).</param>
/// <param name="cacheSize">Most tokens remembered (<see cref="TokenOptions.ValidatedTokenCacheSize"/>); 0 remembers none.</param>
public sealed class StrictTokenHandler(TimeProvider time, Func<string?, SecurityKey?> findKey, int cacheSize) : JsonWebTokenHandler, IDisposable
{
    /// <summary>Longest token looked at, in characters; ours are about 700.</summary>
    public const int MaxTokenChars = 8 * 1024;

    /// <summary>Claims every access token of ours carries; a token without one of them is not ours.</summary>
    public static readonly IReadOnlyList<string> RequiredClaims = ["iss", "aud", "sub", "exp", "iat", "jti", TokenIssuer.ContextClaim];

    private static readonly string[] RefusedHeaders = ["crit", "jwk", "jku", "x5u", "x5c"];

    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false, MaxDepth = 16 };

    private readonly MemoryCache? _validated = cacheSize > 0 ? new(new MemoryCacheOptions { SizeLimit = cacheSize }) : null;

    /// <summary>
    /// A remembered result for <paramref name="token"/>, or <see cref="Refusal"/> and then the library's validation;
    /// never throws on bad input.
    /// </summary>
    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        using var activity = Chirp.Hosting.Telemetry.ActivitySource.StartActivity("token validate");
        var result = await ValidateOrRecallAsync(token, validationParameters);
        activity?.SetTag("chirp.token.valid", result.IsValid);
        return result;
    }

    private async Task<TokenValidationResult> ValidateOrRecallAsync(string token, TokenValidationParameters validationParameters)
    {
        ArgumentNullException.ThrowIfNull(validationParameters);
        var now = time.GetUtcNow();
        if (_validated is not null && token is not null && _validated.TryGetValue(token, out Validated? known) && known is not null)
        {
            if (known.Until > now && ReferenceEquals(findKey(known.Kid), known.Key))
            {
                return known.Result;
            }

            _validated.Remove(token);
        }

        var refusal = Refusal(token, now, validationParameters.ClockSkew);
        if (refusal is not null)
        {
            // The reason names the rule only, never the token's content, so it is safe to log.
            return new TokenValidationResult { IsValid = false, Exception = new SecurityTokenMalformedException(refusal) };
        }

        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (_validated is not null && result.IsValid && result.SecurityToken is JsonWebToken jwt && findKey(jwt.Kid) is { } key)
        {
            var until = new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero) + validationParameters.ClockSkew;
            _validated.Set(token!, new Validated(result, jwt.Kid, key, until), new MemoryCacheEntryOptions { Size = 1, AbsoluteExpiration = until });
        }

        return result;
    }

    /// <inheritdoc />
    public void Dispose() => _validated?.Dispose();

    /// <summary>
    /// Why <paramref name="token"/> is refused before its signature is checked, or null when it may go on.
    /// <paramref name="now"/> and <paramref name="clockSkew"/> bound <c>iat</c>.
    /// </summary>
    public static string? Refusal(string? token, DateTimeOffset now, TimeSpan clockSkew)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenChars)
        {
            return "The token is empty or too long.";
        }

        var parts = token.Split('.');
        if (parts.Length != 3 || parts.Any(p => p.Length == 0))
        {
            return "The token is not a compact JWS of three non-empty parts.";
        }

        using var header = ParseObject(parts[0]);
        using var payload = ParseObject(parts[1]);
        if (header is null || payload is null)
        {
            return "The token's header or payload is not base64url JSON object without repeated names.";
        }

        foreach (var parameter in header.RootElement.EnumerateObject())
        {
            if (RefusedHeaders.Contains(parameter.Name, StringComparer.Ordinal))
            {
                return $"The token's header has '{parameter.Name}', which this service never honours.";
            }
        }

        if (!header.RootElement.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String ||
            alg.GetString() != SecurityAlgorithms.EcdsaSha256)
        {
            return "The token's alg is not ES256.";
        }

        var claims = payload.RootElement;
        foreach (var name in RequiredClaims)
        {
            if (!claims.TryGetProperty(name, out _))
            {
                return $"The token lacks the '{name}' claim.";
            }
        }

        if (claims.GetProperty("exp").ValueKind != JsonValueKind.Number ||
            (claims.TryGetProperty("nbf", out var nbf) && nbf.ValueKind != JsonValueKind.Number))
        {
            return "The token's exp or nbf is not a number (RFC 7519 section 2, NumericDate).";
        }

        if (claims.GetProperty("iat") is not { ValueKind: JsonValueKind.Number } iat || !iat.TryGetDouble(out var issuedAt) ||
            issuedAt > (now + clockSkew).ToUnixTimeSeconds())
        {
            return "The token's iat is not a number or lies in the future.";
        }

        return null;
    }

    /// <summary>The base64url-encoded JSON object, or null when it is not one or repeats a name at any depth.</summary>
    private static JsonDocument? ParseObject(string part)
    {
        try
        {
            var document = JsonDocument.Parse(Base64Url.DecodeFromChars(part), Strict);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document;
            }

            document.Dispose();
            return null;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return null;
        }
    }

    private sealed record Validated(TokenValidationResult Result, string Kid, SecurityKey Key, DateTimeOffset Until);
}
