using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Chirp.Contracts;
using Chirp.GraphQL.AspNetCore;
using Chirp.IdentityAssertions;
using Chirp.Users.Data;

namespace Chirp.Users;

/// <summary>Body of <see cref="InternalRoutes.CredentialsVerify"/>.</summary>
public sealed record CredentialsRequest(string? Handle, string? Password);

/// <summary>Answer of <see cref="InternalRoutes.CredentialsVerify"/> for a right handle and password.</summary>
public sealed record CredentialsResponse(string Id, string Handle, string DisplayName);

/// <summary>JSON of the credentials check, camelCase, source-generated.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CredentialsRequest))]
[JsonSerializable(typeof(CredentialsResponse))]
public sealed partial class UsersJsonContext : JsonSerializerContext;

/// <summary>
/// <c>POST /internal/credentials/verify</c>: the gateway's password check, outside the graph (docs/architecture.md section 2).
/// Only a verified assertion whose scope holds <see cref="ChirpScopes.CredentialsVerify"/> may call it: 401 without
/// an assertion, 403 with one that lacks the scope. Then 200 <c>{id, handle, displayName}</c>, 401 for a wrong
/// handle or password (the same answer for both), 400 for a body that is not <c>{"handle","password"}</c> or not valid JSON, 413 for one over 256 KiB, 415 for
/// a body that is not JSON, 503 with <c>Retry-After</c> beyond the password-check limit (<see cref="PasswordCheckLimits"/>).
/// Errors are RFC 9457 problem details.
/// </summary>
public static class CredentialsEndpoint
{
    /// <summary>
    /// Largest accepted body, as for GraphQL requests: an overlong password below it is simply wrong (401), which the
    /// password rules decide without hashing it.
    /// </summary>
    private const int MaxBodyBytes = 256 * 1024;

    /// <summary>Maps the route.</summary>
    public static IEndpointConventionBuilder MapCredentialsEndpoint(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost(InternalRoutes.CredentialsVerify, VerifyAsync).RequireRateLimiting(PasswordCheckLimits.PolicyName).ExcludeFromDescription();

    private static async Task<IResult> VerifyAsync(HttpContext http, UserAccounts accounts, CancellationToken cancellationToken)
    {
        if (http.User.Identity?.IsAuthenticated != true)
        {
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                detail: "This route needs the gateway's service assertion.");
        }

        if (!http.User.HasScope(ChirpScopes.CredentialsVerify))
        {
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                detail: $"The assertion lacks the scope '{ChirpScopes.CredentialsVerify}'.");
        }

        if (!http.Request.HasJsonContentType())
        {
            return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, detail: "Content-Type must be application/json.");
        }

        // The one JSON reader of every Chirp route: size limit (413), UTF-8, no repeated names, no lone surrogates (400).
        var (body, status, unreadable) = await JsonRequestBody.ReadAsync(http.Request, MaxBodyBytes, cancellationToken);
        if (unreadable is not null)
        {
            return Results.Problem(statusCode: status, detail: unreadable);
        }

        if (body is not JsonObject o || o["handle"] is not JsonValue h || !h.TryGetValue<string>(out var handle) ||
            o["password"] is not JsonValue p || !p.TryGetValue<string>(out var password))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest,
                detail: "The body must be a JSON object {\"handle\": string, \"password\": string}.");
        }

        var user = await accounts.VerifyCredentialsAsync(handle, password, cancellationToken);
        return user is null
            ? Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized", detail: "The handle or password is wrong.")
            : Results.Json(new CredentialsResponse(user.Id.ToString(), user.Handle, user.DisplayName), UsersJsonContext.Default.CredentialsResponse);
    }
}
