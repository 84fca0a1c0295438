using System.Security.Claims;
using System.Text.Encodings.Web;
using Chirp.Contracts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chirp.IdentityAssertions;

/// <summary>Claim types that a verified identity assertion becomes inside a service.</summary>
public static class ChirpClaims
{
    public const string Subject = "sub";
    public const string Handle = "handle";
    public const string DisplayName = "name";
    public const string Scope = "scope";

    /// <summary>The authentication scheme that reads <see cref="ChirpHeaders.Identity"/>.</summary>
    public const string Scheme = "ChirpIdentity";

    /// <summary>The caller's user id, or null for an anonymous caller.</summary>
    public static string? GetUserId(this ClaimsPrincipal principal) =>
        principal.Identity?.IsAuthenticated == true ? principal.FindFirstValue(Subject) : null;

    /// <summary>True when the caller's scope list (space separated, RFC 6749 section 3.3) holds <paramref name="scope"/>.</summary>
    public static bool HasScope(this ClaimsPrincipal principal, string scope) =>
        principal.FindFirstValue(Scope)?.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(scope, StringComparer.Ordinal) == true;

    /// <summary>Builds the principal for a verified assertion payload.</summary>
    public static ClaimsPrincipal ToPrincipal(this IdentityAssertionPayload payload) =>
        new(new ClaimsIdentity(
            [
                new Claim(Subject, payload.Sub),
                new Claim(Handle, payload.Handle),
                new Claim(DisplayName, payload.DisplayName),
                new Claim(Scope, payload.Scope),
            ],
            Scheme, Handle, null));
}

/// <summary>
/// Authenticates requests from the gateway by their <see cref="ChirpHeaders.Identity"/> assertion.
/// No header: anonymous. A header that does not verify: failure, answered with 401 by the challenge.
/// </summary>
public sealed class IdentityAssertionHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IdentityAssertionCodec codec) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(ChirpHeaders.Identity, out var values))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var payload = values.Count == 1 ? codec.Verify(values[0]) : null;
        return Task.FromResult(payload is null
            ? AuthenticateResult.Fail("The identity assertion does not verify.")
            : AuthenticateResult.Success(new AuthenticationTicket(payload.ToPrincipal(), Scheme.Name)));
    }
}
