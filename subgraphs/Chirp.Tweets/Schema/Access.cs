using System.Security.Claims;
using Chirp.Contracts;
using Chirp.Hosting;
using GraphQL;

namespace Chirp.Tweets.Schema;

/// <summary>
/// Enforcement of <c>@authenticated</c> and <c>@requiresScopes</c> inside the subgraph (defence in depth: the gateway
/// checks them first). Failures are field errors with <c>extensions.code</c> UNAUTHENTICATED or FORBIDDEN.
/// </summary>
public static class Access
{
    /// <summary>The caller's user id.</summary>
    /// <exception cref="ExecutionError">UNAUTHENTICATED when the caller is anonymous or the id is not a UUID.</exception>
    public static Guid RequireUser(this IResolveFieldContext context)
    {
        var id = context.User?.GetUserId();
        return Guid.TryParseExact(id, "D", out var userId)
            ? userId
            : throw new ExecutionError("You must be signed in.") { Code = ErrorCodes.Unauthenticated };
    }

    /// <summary>The caller's user id, after checking they hold <paramref name="scope"/>.</summary>
    /// <exception cref="ExecutionError">UNAUTHENTICATED when anonymous; FORBIDDEN when the scope is missing.</exception>
    public static Guid RequireScope(this IResolveFieldContext context, string scope)
    {
        var userId = context.RequireUser();
        return context.User!.HasScope(scope)
            ? userId
            : throw new ExecutionError($"This needs the scope '{scope}'.") { Code = ErrorCodes.Forbidden };
    }

    /// <summary>The caller's handle and display name (from the identity assertion), or empty strings.</summary>
    public static (string Handle, string DisplayName) Names(this ClaimsPrincipal? user) =>
        (user?.FindFirstValue(ChirpClaims.Handle) ?? "", user?.FindFirstValue(ChirpClaims.DisplayName) ?? "");
}
