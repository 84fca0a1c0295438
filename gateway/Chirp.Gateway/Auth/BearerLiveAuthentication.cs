using System.Security.Claims;
using System.Text.Json.Nodes;
using Chirp.GraphQL.AspNetCore;
using Microsoft.Extensions.Options;

namespace Chirp.Gateway.Auth;

/// <summary>
/// Access tokens on live connections: a WebSocket's <c>connection_init</c> payload carries
/// <c>{"Authorization": "Bearer &lt;jwt&gt;"}</c>; an SSE stream has the usual <c>Authorization</c> header, already
/// checked by <see cref="BearerAuthentication"/>. Either way the connection ends at the token's <c>exp</c> plus the leeway,
/// or earlier when the token is revoked (<see cref="RevocationFeed"/> closes it). A revoked token, or any token before
/// the revocation state has loaded, is refused (4403).
/// </summary>
public sealed class BearerLiveAuthenticator(TokenIssuer issuer, RevocationState revocations, IOptions<TokenOptions> options) : ILiveConnectionAuthenticator
{
    /// <inheritdoc />
    public async ValueTask<LiveAuthentication?> AuthenticateAsync(HttpContext context, JsonObject? initPayload, CancellationToken cancellationToken)
    {
        var values = initPayload?.Where(p => string.Equals(p.Key, "Authorization", StringComparison.OrdinalIgnoreCase)).Select(p => p.Value).ToList() ?? [];
        if (values.Count > 1)
        {
            // Like two Authorization header fields (RFC 6750 section 3.1): refused rather than one of them picked.
            return null;
        }

        var value = values.FirstOrDefault();
        if (value is null)
        {
            return new LiveAuthentication(context.User, ExpiryOf(context.User));
        }

        if (value is not JsonValue v || !v.TryGetValue<string>(out var authorization) ||
            !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var principal = await issuer.ValidateAsync(authorization["Bearer ".Length..].Trim());
        return principal is not null && TokenIssuer.SubjectOf(principal) is not null && revocations.Check(principal) == RevocationVerdict.Accepted
            ? new LiveAuthentication(principal, ExpiryOf(principal))
            : null;
    }

    /// <inheritdoc />
    public DateTimeOffset? ExpiryOf(HttpContext context) => ExpiryOf(context.User);

    private DateTimeOffset? ExpiryOf(ClaimsPrincipal user) =>
        user.Identity?.IsAuthenticated == true && long.TryParse(user.FindFirstValue("exp"), out var exp)
            ? DateTimeOffset.FromUnixTimeSeconds(exp) + options.Value.ClockSkew
            : null;
}
