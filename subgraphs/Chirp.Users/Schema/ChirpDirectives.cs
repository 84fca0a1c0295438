using Chirp.Contracts;
using Chirp.Hosting;
using GraphQL;
using GraphQL.Instrumentation;

namespace Chirp.Users.Schema;

/// <summary>Names of the Apollo Federation 2.5 access-control directives that Chirp's subgraphs apply.</summary>
public static class ChirpDirectives
{
    /// <summary><c>@authenticated</c>: only for a caller with a verified identity.</summary>
    public const string Authenticated = "authenticated";

    /// <summary><c>@requiresScopes(scopes: [[String!]!]!)</c>: the caller holds every scope of at least one inner list.</summary>
    public const string RequiresScopes = "requiresScopes";
}

/// <summary>
/// Enforces <c>@authenticated</c> and <c>@requiresScopes</c> in the subgraph itself, so a field stays protected
/// even if a request reaches the subgraph without passing the gateway's checks. Runs before every resolver; a
/// refused field resolves to an <see cref="ErrorCodes.Unauthenticated"/> or <see cref="ErrorCodes.Forbidden"/> error
/// at its path.
/// </summary>
public sealed class DirectiveAuthorizationMiddleware : IFieldMiddleware
{
    /// <inheritdoc />
    public ValueTask<object?> ResolveAsync(IResolveFieldContext context, FieldMiddlewareDelegate next)
    {
        var directives = context.FieldDefinition.GetAppliedDirectives();
        if (directives is { Count: > 0 })
        {
            var user = context.User;
            var authenticated = user?.Identity?.IsAuthenticated == true;
            if (directives.Find(ChirpDirectives.Authenticated) is not null && !authenticated)
            {
                throw new ExecutionError($"Sign in to use '{context.FieldDefinition.Name}'.") { Code = ErrorCodes.Unauthenticated };
            }

            if (directives.Find(ChirpDirectives.RequiresScopes)?.FindArgument("scopes")?.Value is System.Collections.IEnumerable alternatives)
            {
                if (!authenticated)
                {
                    throw new ExecutionError($"Sign in to use '{context.FieldDefinition.Name}'.") { Code = ErrorCodes.Unauthenticated };
                }

                var allowed = alternatives.Cast<System.Collections.IEnumerable>()
                    .Any(all => all.Cast<object>().All(scope => user!.HasScope(scope.ToString()!)));
                if (!allowed)
                {
                    throw new ExecutionError($"The access token lacks the scope that '{context.FieldDefinition.Name}' requires.") { Code = ErrorCodes.Forbidden };
                }
            }
        }

        return next(context);
    }
}
