using System.Security.Claims;
using Chirp.Contracts;
using Chirp.Hosting;
using GraphQL;

namespace Chirp.Tweets.Schema;

/// <summary>
/// The caller of a field. <c>@authenticated</c> and <c>@requiresScopes</c> are enforced before the resolver runs
/// (<see cref="Chirp.GraphQL.AspNetCore.Federation.AccessDirectivesMiddleware"/>); these read who the caller is.
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

    /// <summary>The caller's handle and display name (from the identity assertion), or empty strings.</summary>
    public static (string Handle, string DisplayName) Names(this ClaimsPrincipal? user) =>
        (user?.FindFirstValue(ChirpClaims.Handle) ?? "", user?.FindFirstValue(ChirpClaims.DisplayName) ?? "");
}
