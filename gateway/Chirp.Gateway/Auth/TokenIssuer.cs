using System.Security.Claims;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Chirp.Gateway.Auth;

/// <summary>Who an access token is for: the seed's "basic user information" plus the granted scopes.</summary>
/// <param name="UserId">The user's id (UUIDv7 string), the <c>sub</c> claim.</param>
/// <param name="Handle">The user's handle.</param>
/// <param name="DisplayName">The user's display name at log-in time.</param>
/// <param name="Scope">Granted scopes, space separated (RFC 6749 section 3.3).</param>
public sealed record TokenSubject(string UserId, string Handle, string DisplayName, string Scope);

/// <summary>Issues and validates ES256 access tokens (RFC 7519, RFC 8725).</summary>
public sealed class TokenIssuer(SigningKeys keys, IOptions<TokenOptions> options, TimeProvider time) : IDisposable
{
    /// <summary>The JWT claim holding <c>{userId, handle, displayName}</c>.</summary>
    public const string ContextClaim = "context";

    private readonly StrictTokenHandler _handler = new(time, keys.Find, options.Value.ValidatedTokenCacheSize) { SetDefaultTimesOnTokenCreation = false };

    /// <summary>The validator that both the HTTP bearer scheme and live connections use (<see cref="StrictTokenHandler"/>).</summary>
    public StrictTokenHandler Handler => _handler;

    /// <summary>A signed access token and its lifetime in seconds.</summary>
    /// <param name="subject">Who the token is for.</param>
    /// <param name="sessionId">The refresh-token family of this log-in, carried as <c>sid</c> so log-out can end it.</param>
    public (string Token, int ExpiresIn, string Jti) Issue(TokenSubject subject, string sessionId)
    {
        using var activity = Chirp.Hosting.Telemetry.ActivitySource.StartActivity("token issue");
        var o = options.Value;
        var now = time.GetUtcNow().UtcDateTime;
        var jti = Guid.CreateVersion7().ToString();
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = o.Issuer,
            Audience = o.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + o.AccessTokenLifetime,
            SigningCredentials = keys.Credentials,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = subject.UserId,
                [JwtRegisteredClaimNames.Jti] = jti,
                ["scope"] = subject.Scope,
                ["sid"] = sessionId,
                [ContextClaim] = new Dictionary<string, object>
                {
                    ["userId"] = subject.UserId,
                    ["handle"] = subject.Handle,
                    ["displayName"] = subject.DisplayName,
                },
            },
        };
        return (_handler.CreateToken(descriptor), (int)o.AccessTokenLifetime.TotalSeconds, jti);
    }

    /// <summary>
    /// Validation rules shared by HTTP and WebSocket (through <see cref="Handler"/>): ES256 only, exact kid match (no trying every key), issuer,
    /// audience, lifetime with the configured skew (30 s at most), signed tokens only.
    /// </summary>
    public TokenValidationParameters ValidationParameters()
    {
        var o = options.Value;
        return new TokenValidationParameters
        {
            ValidIssuer = o.Issuer,
            ValidAudience = o.Audience,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            IssuerSigningKeyResolver = (_, token, kid, _) => keys.Find(kid) is { } key ? [key] : [],
            TryAllIssuerSigningKeys = false,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = o.ClockSkew,
            NameClaimType = "sub",
        };
    }

    /// <summary>Validates a raw access token; the principal, or null when it does not validate.</summary>
    public async Task<ClaimsPrincipal?> ValidateAsync(string token)
    {
        var result = await _handler.ValidateTokenAsync(token, ValidationParameters());
        return result.IsValid ? new ClaimsPrincipal(result.ClaimsIdentity) : null;
    }

    /// <inheritdoc />
    public void Dispose() => _handler.Dispose();

    /// <summary>Reads the <see cref="TokenSubject"/> back from a validated principal; null when its claims are incomplete.</summary>
    public static TokenSubject? SubjectOf(ClaimsPrincipal principal)
    {
        var sub = principal.FindFirstValue("sub");
        var context = principal.FindFirstValue(ContextClaim);
        if (sub is null || context is null)
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(context);
            var root = doc.RootElement;
            return new TokenSubject(
                sub,
                root.GetProperty("handle").GetString() ?? "",
                root.GetProperty("displayName").GetString() ?? "",
                principal.FindFirstValue("scope") ?? "");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }
}
