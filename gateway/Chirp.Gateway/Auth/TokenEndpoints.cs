using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.GraphQL.AspNetCore;
using Microsoft.AspNetCore.Http.Features;
using Chirp.Contracts;
using Chirp.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using StackExchange.Redis;

namespace Chirp.Gateway.Auth;

/// <summary>
/// <c>POST /auth/token</c> (RFC 6749 sections 4.3 and 6, form or JSON), <c>/.well-known/jwks.json</c> (RFC 7517)
/// and <c>/.well-known/oauth-authorization-server</c> (RFC 8414).
/// </summary>
public static class TokenEndpoints
{
    /// <summary>Maps the token service's routes.</summary>
    public static IEndpointRouteBuilder MapTokenEndpoints(this IEndpointRouteBuilder endpoints)
    {
        // No Accepts metadata here: routing would answer other content types with a 415 problem document, where
        // RFC 6749 section 5.2 wants a 400 invalid_request error body. The request body is described for OpenAPI only.
        endpoints.MapPost("/auth/token", IssueAsync)
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                operation.RequestBody = ParametersBody();
                return Task.CompletedTask;
            })
            .Produces<TokenResponse>()
            .Produces<OAuthError>(StatusCodes.Status400BadRequest)
            .Produces<OAuthError>(StatusCodes.Status503ServiceUnavailable)
            .Produces<OAuthError>(StatusCodes.Status429TooManyRequests)
            .WithTags("auth")
            .WithSummary("Issue an access token (password or refresh_token grant)");

        // Like the token endpoint: another content type is an RFC 6749 section 5.2 invalid_request (RFC 7009 section 2.2.1).
        endpoints.MapPost("/auth/revoke", RevokeAsync)
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                operation.RequestBody = ParametersBody();
                return Task.CompletedTask;
            })
            .Produces(StatusCodes.Status200OK)
            .Produces<OAuthError>(StatusCodes.Status400BadRequest)
            .Produces<OAuthError>(StatusCodes.Status503ServiceUnavailable)
            .WithTags("auth")
            .WithSummary("Revoke a refresh token and its whole session, or one access token (RFC 7009)");

        endpoints.MapPost("/auth/logout", LogOutAsync)
            .Produces(StatusCodes.Status204NoContent)
            .Produces<OAuthError>(StatusCodes.Status400BadRequest)
            .Produces<OAuthError>(StatusCodes.Status401Unauthorized)
            .Produces<OAuthError>(StatusCodes.Status503ServiceUnavailable)
            .WithTags("auth")
            .WithSummary("End this session (refresh and access tokens); {\"everywhere\": true} ends every session of the user");

        endpoints.MapGet("/.well-known/jwks.json", (SigningKeys keys) => Results.Json(keys.ToJwks()))
            .WithTags("auth").WithSummary("Public keys that verify access tokens");

        endpoints.MapGet("/.well-known/oauth-authorization-server", (HttpContext context, IOptions<TokenOptions> options) =>
        {
            var origin = $"{context.Request.Scheme}://{context.Request.Host}";
            return Results.Json(new Dictionary<string, object>
            {
                ["issuer"] = options.Value.Issuer,
                ["token_endpoint"] = origin + "/auth/token",
                ["revocation_endpoint"] = origin + "/auth/revoke",
                ["jwks_uri"] = origin + "/.well-known/jwks.json",
                ["grant_types_supported"] = new[] { "password", "refresh_token" },
                ["response_types_supported"] = Array.Empty<string>(),
                ["scopes_supported"] = ChirpScopes.Default,
                ["token_endpoint_auth_methods_supported"] = new[] { "none" },
                ["revocation_endpoint_auth_methods_supported"] = new[] { "none" },
            });
        }).WithTags("auth").WithSummary("Authorization server metadata (RFC 8414)");
        return endpoints;
    }

    /// <summary>Largest accepted body of the token, revocation and log-out endpoints.</summary>
    private const int MaxBodyBytes = 16 * 1024;

    /// <summary>A successful token response (RFC 6749 section 5.1).</summary>
    public sealed record TokenResponse(string access_token, string token_type, int expires_in, string refresh_token, string scope);

    /// <summary>An error response (RFC 6749 section 5.2).</summary>
    public sealed record OAuthError(string error, string error_description);

    /// <summary>The <c>error</c> of a 429 answer to a throttled log-in (not an RFC 6749 code; named in README.md).</summary>
    public const string TooManyAttempts = "too_many_attempts";

    /// <summary>
    /// The answer to a throttled log-in, given to the shared rejection mechanism (<see cref="RequestLimits.Reject"/>
    /// adds <c>Retry-After</c>): 429 with an OAuth error body.
    /// </summary>
    public static RateLimitRejection LoginRejection { get; } = new(LoginThrottle.PolicyName, (_, _) =>
        Results.Json(new OAuthError(TooManyAttempts, "Too many failed log-ins; try again after the Retry-After seconds."),
            statusCode: StatusCodes.Status429TooManyRequests));

    /// <summary>
    /// The replica-wide request limit's answer (<see cref="RequestLimits.ConcurrencyPolicy"/>) on the gateway: under
    /// <c>/auth/*</c> 503 <c>temporarily_unavailable</c> with an OAuth error body like every other token-service answer,
    /// elsewhere the problem details body of every service.
    /// </summary>
    public static RateLimitRejection OverloadRejection { get; } = new(RequestLimits.ConcurrencyPolicy, (context, wait) =>
        context.Request.Path.StartsWithSegments("/auth", StringComparison.OrdinalIgnoreCase)
            ? Results.Json(new OAuthError("temporarily_unavailable", $"The token service is busy; try again in {RequestLimits.WholeSeconds(wait)} s."),
                statusCode: StatusCodes.Status503ServiceUnavailable)
            : RequestLimits.Busy(wait));

    private static async Task<IResult> IssueAsync(
        HttpContext context, TokenIssuer issuer, RefreshTokenStore refreshTokens, CredentialsClient credentials, LoginThrottle throttle,
        RevocationFeed revocations, ILoggerFactory loggers)
    {
        context.Response.Headers.CacheControl = "no-store";
        var (form, problem) = await ReadParametersAsync(context.Request);
        if (form is null)
        {
            return Error("invalid_request", problem!);
        }

        var grantType = form.GetValueOrDefault("grant_type");
        try
        {
            switch (grantType)
            {
                case "password":
                    {
                        var username = form.GetValueOrDefault("username");
                        var password = form.GetValueOrDefault("password");
                        if (string.IsNullOrEmpty(username) || string.IsNullOrEmpty(password))
                        {
                            return Error("invalid_request", "username and password are required.");
                        }

                        var scope = GrantedScope(form.GetValueOrDefault("scope"));
                        if (scope is null)
                        {
                            return Error("invalid_scope", $"Known scopes: {string.Join(' ', ChirpScopes.Default)}.");
                        }

                        var handle = username.Trim().ToLowerInvariant();
                        var address = throttle.ClientAddress(context.Request);
                        if (throttle.TryBegin(handle, address, out var attempt) is { } wait)
                        {
                            return context.RequestServices.Reject(context, LoginThrottle.PolicyName, wait);
                        }

                        using var _ = attempt;
                        if (!await revocations.IsRedisConnectedAsync(context.RequestAborted))
                        {
                            return Unavailable(context);
                        }

                        var user = await credentials.VerifyAsync(handle, password, context.RequestAborted);
                        if (user is not { } u)
                        {
                            attempt!.Fail();
                            return Error("invalid_grant", "The handle or password is wrong.");
                        }

                        var subject = new TokenSubject(u.Id, u.Handle, u.DisplayName, scope);
                        var (refreshToken, family) = await refreshTokens.IssueAsync(subject);
                        return Success(issuer, subject, refreshToken, family);
                    }

                case "refresh_token":
                    {
                        var token = form.GetValueOrDefault("refresh_token");
                        if (string.IsNullOrEmpty(token))
                        {
                            return Error("invalid_request", "refresh_token is required.");
                        }

                        if (!await revocations.IsRedisConnectedAsync(context.RequestAborted))
                        {
                            return Unavailable(context);
                        }

                        var (status, subject, newToken, family) = await refreshTokens.RedeemAsync(token);
                        if (status == RefreshTokenStore.RedeemStatus.Reused)
                        {
                            // Someone holds a copy of a rotated refresh token: end the session's access tokens as well.
                            await revocations.RevokeSessionAsync(family!);
                        }

                        return status == RefreshTokenStore.RedeemStatus.Rotated
                            ? Success(issuer, subject!, newToken!, family!)
                            : Error("invalid_grant", "The refresh token is invalid, expired or revoked.");
                    }

                default:
                    return Error(string.IsNullOrEmpty(grantType) ? "invalid_request" : "unsupported_grant_type",
                        "grant_type must be password or refresh_token.");
            }
        }
        catch (CredentialsCheckBusyException busy)
        {
            return Busy(context, busy.RetryAfter);
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException or HttpRequestException or TaskCanceledException)
        {
            loggers.CreateLogger(typeof(TokenEndpoints)).LogWarning(e, "Token request failed on a dependency");
            return Unavailable(context);
        }
    }

    /// <summary>
    /// RFC 7009: a refresh token ends its session (its family and the session's access tokens); an access token that
    /// validates is denied by its <c>jti</c> until its <c>exp</c> plus the leeway. <c>token_type_hint</c>
    /// (<c>access_token</c> or <c>refresh_token</c>) only orders the lookups (section 2.1). Unknown, expired or
    /// invalid tokens are answered 200 as section 2.2 asks; 503 <c>temporarily_unavailable</c> when Redis cannot be
    /// reached (this replica refuses a revoked access token already).
    /// </summary>
    private static async Task<IResult> RevokeAsync(HttpContext context, RefreshTokenStore refreshTokens, TokenIssuer issuer, RevocationFeed revocations)
    {
        context.Response.Headers.CacheControl = "no-store";
        var (form, problem) = await ReadParametersAsync(context.Request);
        if (form is null)
        {
            return Error("invalid_request", problem!);
        }

        var token = form.GetValueOrDefault("token");
        if (string.IsNullOrEmpty(token))
        {
            return Error("invalid_request", "token is required.");
        }

        // Refresh tokens are opaque and never contain a dot; access tokens are JWS compact serializations.
        var accessFirst = form!.GetValueOrDefault("token_type_hint") switch
        {
            "access_token" => true,
            "refresh_token" => false,
            _ => token.Contains('.', StringComparison.Ordinal),
        };
        try
        {
            if (accessFirst)
            {
                _ = await RevokeAccessTokenAsync(token, issuer, revocations) || await RevokeRefreshTokenAsync(token, refreshTokens, revocations);
            }
            else
            {
                _ = await RevokeRefreshTokenAsync(token, refreshTokens, revocations) || await RevokeAccessTokenAsync(token, issuer, revocations);
            }
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            return Unavailable(context);
        }

        return Results.Ok();
    }

    private static async Task<bool> RevokeRefreshTokenAsync(string token, RefreshTokenStore refreshTokens, RevocationFeed revocations)
    {
        if (await refreshTokens.RevokeAsync(token) is not { } revoked)
        {
            return false;
        }

        await revocations.RevokeSessionAsync(revoked.Family);
        return true;
    }

    private static async Task<bool> RevokeAccessTokenAsync(string token, TokenIssuer issuer, RevocationFeed revocations)
    {
        // Only a token this service signed, still within its lifetime, can be denied; anything else needs nothing.
        if (!token.Contains('.', StringComparison.Ordinal) || await issuer.ValidateAsync(token) is not { } principal ||
            principal.FindFirst("jti")?.Value is not { Length: > 0 } jti ||
            !long.TryParse(principal.FindFirst("exp")?.Value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var exp))
        {
            return false;
        }

        await revocations.RevokeAccessTokenAsync(jti, exp);
        return true;
    }

    /// <summary>
    /// Ends the caller's session (the <c>sid</c> of the access token: its refresh-token family and every access token
    /// of it), or with <c>{"everywhere": true}</c> every session of the user (all families, and a not-before stamp
    /// that refuses every access token issued until now). Answers like the other token endpoints, with OAuth 2.0
    /// error bodies (RFC 6749 section 5.2): without a bearer token 401 with <c>WWW-Authenticate: Bearer</c> and no
    /// error code in that header (RFC 6750 section 3.1), a malformed body 400 <c>invalid_request</c>, and 503
    /// <c>temporarily_unavailable</c> when Redis cannot be reached: then the log-out has not happened everywhere
    /// (README.md "Access tokens, log-in throttling and readiness" says what a client does then).
    /// </summary>
    private static async Task<IResult> LogOutAsync(HttpContext context, RefreshTokenStore refreshTokens, RevocationFeed revocations)
    {
        context.Response.Headers.CacheControl = "no-store";
        if (context.User.Identity?.IsAuthenticated != true || context.User.FindFirst("sub")?.Value is not { } userId)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return Results.Json(new OAuthError("invalid_request", "Log-out needs the session's access token: send Authorization: Bearer <access token>."),
                statusCode: StatusCodes.Status401Unauthorized);
        }

        var everywhere = false;
        // A JSON body is often sent chunked, without Content-Length.
        if (context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? context.Request.ContentLength > 0)
        {
            var (form, problem) = await ReadParametersAsync(context.Request);
            if (form is null || (form.TryGetValue("everywhere", out var value) && !bool.TryParse(value, out everywhere)))
            {
                return Error("invalid_request", (form is null ? problem + " " : "") + "Send no body, or {\"everywhere\": true|false}.");
            }
        }

        try
        {
            if (everywhere)
            {
                await revocations.RevokeUserAsync(userId);
                await refreshTokens.RevokeAllAsync(userId);
            }
            else if (context.User.FindFirst("sid")?.Value is { } sid)
            {
                await revocations.RevokeSessionAsync(sid);
                await refreshTokens.RevokeFamilyAsync(sid);
            }
            else if (context.User.FindFirst("jti")?.Value is { } jti && long.TryParse(context.User.FindFirst("exp")?.Value, out var exp))
            {
                // A token without a session can still be denied by itself.
                await revocations.RevokeAccessTokenAsync(jti, exp);
            }
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            // Only this replica refuses the access token now; the refresh token still works and other replicas know nothing.
            context.Response.Headers.RetryAfter = "1";
            return Results.Json(new OAuthError("temporarily_unavailable",
                "The token service cannot reach a dependency, so the log-out has not taken effect everywhere. " +
                "Once it answers again, send the refresh token to /auth/revoke to end the session."),
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return Results.NoContent();
    }

    private static IResult Success(TokenIssuer issuer, TokenSubject subject, string refreshToken, string family)
    {
        var (token, expiresIn, _) = issuer.Issue(subject, family);
        return Results.Json(new TokenResponse(token, "Bearer", expiresIn, refreshToken, subject.Scope));
    }

    /// <summary>503 with an OAuth error body <c>temporarily_unavailable</c> (RFC 6749 section 4.1.2.1) and <c>Retry-After</c>.</summary>
    private static IResult Unavailable(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "1";
        return Results.Json(new OAuthError("temporarily_unavailable", "The token service cannot reach a dependency; try again."), statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>
    /// 503 <c>temporarily_unavailable</c> with <c>Retry-After</c> for a log-in that the password-check limit refused:
    /// everything is reachable, but more log-ins are being checked than the users service takes at once.
    /// </summary>
    private static IResult Busy(HttpContext context, TimeSpan retryAfter)
    {
        var seconds = RequestLimits.WholeSeconds(retryAfter);
        context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Results.Json(new OAuthError("temporarily_unavailable", $"The token service is busy checking other log-ins; try again in {seconds} s."),
            statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult Error(string code, string description) =>
        Results.Json(new OAuthError(code, description), statusCode: StatusCodes.Status400BadRequest);

    /// <summary>The OpenAPI request body of the token endpoint: its parameters as a form or as a JSON object of strings.</summary>
    private static OpenApiRequestBody ParametersBody()
    {
        OpenApiMediaType Parameters() => new()
        {
            Schema = new OpenApiSchema { Type = JsonSchemaType.Object, AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.String } },
        };

        return new OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/x-www-form-urlencoded"] = Parameters(),
                ["application/json"] = Parameters(),
            },
        };
    }

    /// <summary>The requested scopes if all are known (none requested: all defaults); null if any is unknown.</summary>
    private static string? GrantedScope(string? requested)
    {
        if (string.IsNullOrWhiteSpace(requested))
        {
            return string.Join(' ', ChirpScopes.Default);
        }

        var scopes = requested.Split(' ', StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToList();
        return scopes.All(s => ChirpScopes.Default.Contains(s, StringComparer.Ordinal)) ? string.Join(' ', scopes) : null;
    }

    /// <summary>
    /// Reads form or JSON parameters. Returns them, or null and a message saying what is wrong: a body over
    /// <see cref="MaxBodyBytes"/>, one that is neither a form nor JSON, or a malformed one (a parameter sent twice
    /// included: RFC 6749 section 3.2 makes that malformed, not a choice between values). The caller answers 400
    /// <c>invalid_request</c>, as RFC 6749 section 5.2 has the token endpoint do for every malformed request.
    /// </summary>
    internal static async Task<(Dictionary<string, string>? Parameters, string? Problem)> ReadParametersAsync(HttpRequest request)
    {
        const string FormOrJson = "Send the parameters as application/x-www-form-urlencoded or a JSON object of strings.";
        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, $"The request body is larger than {MaxBodyBytes} bytes.");
        }

        if (request.HasFormContentType)
        {
            try
            {
                var form = await request.ReadFormAsync(new FormOptions { ValueLengthLimit = MaxBodyBytes, KeyLengthLimit = 256, ValueCountLimit = 32 });
                if (form.FirstOrDefault(f => f.Value.Count > 1) is { Key: { } repeated })
                {
                    return (null, $"The parameter '{repeated}' is sent more than once.");
                }

                return (form.ToDictionary(f => f.Key, f => f.Value.ToString(), StringComparer.Ordinal), null);
            }
            catch (Exception e) when (e is InvalidDataException or BadHttpRequestException or IOException)
            {
                return (null, "The form cannot be read: it is malformed, or too large (at most 32 parameters).");
            }
        }

        if (request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) == true)
        {
            var (body, _, error) = await JsonRequestBody.ReadAsync(request, MaxBodyBytes, request.HttpContext.RequestAborted);
            if (error is not null)
            {
                return (null, error);
            }

            if (body is not JsonObject o)
            {
                return (null, FormOrJson);
            }

            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, value) in o)
            {
                if (value is JsonValue v && v.GetValueKind() is JsonValueKind.String or JsonValueKind.True or JsonValueKind.False)
                {
                    result[name] = v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v.ToJsonString();
                }
            }

            return (result, null);
        }

        return (null, FormOrJson);
    }
}
