using Chirp.Contracts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Chirp.Gateway.Auth;

/// <summary>Access-token checks at the edge (RFC 6750, RFC 8725).</summary>
public static class BearerAuthentication
{
    /// <summary>Registers the JWT bearer scheme with the token service's own validation rules.</summary>
    public static IServiceCollection AddChirpBearerTokens(this IServiceCollection services)
    {
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddSingleton<IConfigureOptions<JwtBearerOptions>, ConfigureJwtBearer>();
        services.AddAuthorization();
        return services;
    }

    /// <summary>
    /// Drops any client-sent <see cref="ChirpHeaders.Identity"/> header, then: no bearer token means anonymous; a
    /// bearer token that does not validate, or is revoked (<see cref="RevocationState.Check"/>), gets 401 with
    /// <c>WWW-Authenticate: Bearer error="invalid_token"</c> before anything runs (RFC 6750 section 3.1). Until the
    /// revocation state has loaded once, a bearer token gets 503 with <c>Retry-After: 1</c> (fail closed: it cannot
    /// be told apart from a revoked one, but it is not known to be bad either).
    /// </summary>
    public static IApplicationBuilder UseChirpBearerTokens(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        context.Request.Headers.Remove(ChirpHeaders.Identity);
        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            var result = await context.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme);
            if (!result.Succeeded || TokenIssuer.SubjectOf(result.Principal) is null)
            {
                await WriteInvalidTokenAsync(context);
                return;
            }

            switch (context.RequestServices.GetRequiredService<RevocationState>().Check(result.Principal))
            {
                case RevocationVerdict.Revoked:
                    await WriteInvalidTokenAsync(context);
                    return;
                case RevocationVerdict.NotLoaded:
                    await WriteNotLoadedAsync(context);
                    return;
            }

            context.User = result.Principal;
        }

        await next(context);
    });

    /// <summary>Writes the 401 answer for a token that does not validate (see <see cref="WriteBearerErrorAsync"/>).</summary>
    public static Task WriteInvalidTokenAsync(HttpContext context) =>
        WriteBearerErrorAsync(context, StatusCodes.Status401Unauthorized, "invalid_token", "The access token is invalid, expired or revoked.", ErrorCodes.Unauthenticated);

    /// <summary>
    /// Answers a bearer-token failure (RFC 6750 section 3.1): <c>WWW-Authenticate: Bearer error="…"</c>, and the body
    /// each audience expects: an OAuth 2.0 error body (RFC 6749 section 5.2, <c>{"error","error_description"}</c>)
    /// under <c>/auth/*</c>, a problem details body (RFC 9457) with <paramref name="code"/> elsewhere.
    /// </summary>
    public static Task WriteBearerErrorAsync(HttpContext context, int status, string error, string description, string code)
    {
        context.Response.Headers.WWWAuthenticate = $"Bearer error=\"{error}\"";
        var result = context.Request.Path.StartsWithSegments("/auth", StringComparison.OrdinalIgnoreCase)
            ? Results.Json(new TokenEndpoints.OAuthError(error, description), statusCode: status)
            : Results.Problem(
                statusCode: status,
                title: ReasonPhrases.GetReasonPhrase(status),
                detail: description,
                extensions: new Dictionary<string, object?> { ["code"] = code });
        return result.ExecuteAsync(context);
    }

    private static Task WriteNotLoadedAsync(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "1";
        return Results.Problem(
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "Service Unavailable",
            detail: "The gateway cannot check access tokens for revocation yet; try again.").ExecuteAsync(context);
    }

    private sealed class ConfigureJwtBearer(TokenIssuer issuer) : IConfigureNamedOptions<JwtBearerOptions>
    {
        public void Configure(string? name, JwtBearerOptions options)
        {
            options.MapInboundClaims = false;
            options.IncludeErrorDetails = false;
            options.TokenValidationParameters = issuer.ValidationParameters();

            // The same validator as live connections, so HTTP and WebSocket refuse exactly the same tokens.
            options.TokenHandlers.Clear();
            options.TokenHandlers.Add(issuer.Handler);
        }

        public void Configure(JwtBearerOptions options) => Configure(Options.DefaultName, options);
    }
}
