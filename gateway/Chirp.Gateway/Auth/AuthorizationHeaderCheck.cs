using Chirp.Contracts;

namespace Chirp.Gateway.Auth;

/// <summary>Refuses a request that carries more than one <c>Authorization</c> header.</summary>
public static class AuthorizationHeaderCheck
{
    /// <summary>
    /// Two or more <c>Authorization</c> header fields are a malformed request (RFC 6750 section 3.1): 400 with
    /// <c>WWW-Authenticate: Bearer error="invalid_request"</c>, an OAuth 2.0 error body on <c>/auth/*</c>
    /// (RFC 6749 section 5.2) and a problem details body elsewhere. Picking one of them would let a proxy and the
    /// gateway disagree about who is calling. Runs before <see cref="BearerAuthentication.UseChirpBearerTokens"/>.
    /// </summary>
    public static IApplicationBuilder UseSingleAuthorizationHeader(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Request.Headers.Authorization.Count <= 1)
        {
            await next(context);
            return;
        }

        await BearerAuthentication.WriteBearerErrorAsync(
            context, StatusCodes.Status400BadRequest, "invalid_request", "Send at most one Authorization header.", ErrorCodes.BadUserInput);
    });
}
