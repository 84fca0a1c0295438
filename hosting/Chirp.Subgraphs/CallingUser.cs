using System.Security.Claims;
using Chirp.Contracts;
using Chirp.IdentityAssertions;
using GraphQL;

namespace Chirp.Subgraphs;

/// <summary>
/// Who calls a field, from the gateway's identity assertion. <c>@authenticated</c> and <c>@requiresScopes</c> are
/// enforced before the resolver runs (<see cref="AccessDirectives"/>); this reads
/// the caller's user id where a resolver needs it.
/// </summary>
public static class CallingUser
{
    /// <summary>The calling user's id.</summary>
    /// <param name="context">The field being resolved.</param>
    /// <param name="message">What the caller reads when anonymous, e.g. "Sign in to change your profile.".</param>
    /// <exception cref="ExecutionError">UNAUTHENTICATED when the caller is anonymous or its id is not a UUID.</exception>
    public static Guid RequireUserId(this IResolveFieldContext context, string message = "You must be signed in.") =>
        ChirpIds.TryParse(context.User?.GetUserId(), out var userId) ? userId : throw CodedErrors.Unauthenticated(message);

    /// <summary>The caller's handle and display name (from the identity assertion), or empty strings.</summary>
    public static (string Handle, string DisplayName) Names(this ClaimsPrincipal? user) =>
        (user?.FindFirstValue(ChirpClaims.Handle) ?? "", user?.FindFirstValue(ChirpClaims.DisplayName) ?? "");
}
