using System.Text.Json;
using Chirp.Contracts;
using Microsoft.Extensions.Options;
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
        endpoints.MapPost("/auth/token", IssueAsync)
            .Accepts<Dictionary<string, string>>("application/x-www-form-urlencoded", "application/json")
            .Produces<TokenResponse>()
            .Produces<OAuthError>(StatusCodes.Status400BadRequest)
            .WithTags("auth")
            .WithSummary("Issue an access token (password or refresh_token grant)");

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

    /// <summary>A successful token response (RFC 6749 section 5.1).</summary>
    public sealed record TokenResponse(string access_token, string token_type, int expires_in, string refresh_token, string scope);

    /// <summary>An error response (RFC 6749 section 5.2).</summary>
    public sealed record OAuthError(string error, string error_description);

    private static async Task<IResult> IssueAsync(
        HttpContext context, TokenIssuer issuer, RefreshTokenStore refreshTokens, CredentialsClient credentials, ILoggerFactory loggers)
    {
        context.Response.Headers.CacheControl = "no-store";
        var form = await ReadParametersAsync(context.Request);
        if (form is null)
        {
            return Error("invalid_request", "Send the parameters as application/x-www-form-urlencoded or a JSON object of strings.");
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

                        var user = await credentials.VerifyAsync(username.Trim().ToLowerInvariant(), password, context.RequestAborted);
                        if (user is not { } u)
                        {
                            return Error("invalid_grant", "The handle or password is wrong.");
                        }

                        var subject = new TokenSubject(u.Id, u.Handle, u.DisplayName, scope);
                        return Success(issuer, subject, await refreshTokens.IssueAsync(subject));
                    }

                case "refresh_token":
                    {
                        var token = form.GetValueOrDefault("refresh_token");
                        if (string.IsNullOrEmpty(token))
                        {
                            return Error("invalid_request", "refresh_token is required.");
                        }

                        var (status, subject, newToken) = await refreshTokens.RedeemAsync(token);
                        return status == RefreshTokenStore.RedeemStatus.Rotated
                            ? Success(issuer, subject!, newToken!)
                            : Error("invalid_grant", "The refresh token is invalid, expired or revoked.");
                    }

                default:
                    return Error(string.IsNullOrEmpty(grantType) ? "invalid_request" : "unsupported_grant_type",
                        "grant_type must be password or refresh_token.");
            }
        }
        catch (Exception e) when (e is RedisException or HttpRequestException or TaskCanceledException)
        {
            loggers.CreateLogger(typeof(TokenEndpoints)).LogWarning(e, "Token request failed on a dependency");
            return Results.Json(new OAuthError("temporarily_unavailable", "The token service cannot reach a dependency; try again."), statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    private static IResult Success(TokenIssuer issuer, TokenSubject subject, string refreshToken)
    {
        var (token, expiresIn, _) = issuer.Issue(subject);
        return Results.Json(new TokenResponse(token, "Bearer", expiresIn, refreshToken, subject.Scope));
    }

    private static IResult Error(string code, string description) =>
        Results.Json(new OAuthError(code, description), statusCode: StatusCodes.Status400BadRequest);

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

    /// <summary>Reads form or JSON parameters; null when the body is neither (or JSON that is not an object of strings).</summary>
    internal static async Task<Dictionary<string, string>?> ReadParametersAsync(HttpRequest request)
    {
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync();
            return form.ToDictionary(f => f.Key, f => f.Value.ToString(), StringComparer.Ordinal);
        }

        if (request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) == true)
        {
            try
            {
                using var doc = await JsonDocument.ParseAsync(request.Body);
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return null;
                }

                var result = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var p in doc.RootElement.EnumerateObject())
                {
                    if (p.Value.ValueKind == JsonValueKind.String)
                    {
                        result[p.Name] = p.Value.GetString()!;
                    }
                    else if (p.Value.ValueKind == JsonValueKind.True || p.Value.ValueKind == JsonValueKind.False)
                    {
                        result[p.Name] = p.Value.GetRawText();
                    }
                }

                return result;
            }
            catch (JsonException)
            {
                return null;
            }
        }

        return null;
    }
}
