using System.Collections;
using Chirp.Contracts;
using Chirp.IdentityAssertions;
using GraphQL;
using GraphQL.DI;
using GraphQL.Instrumentation;
using GraphQL.Types;

namespace Chirp.Subgraphs;

/// <summary>
/// Apollo Federation v2.5 access directives as Chirp's subgraphs apply them: <c>@authenticated</c> and
/// <c>@requiresScopes(scopes: [[String!]!]!)</c>. GraphQL.NET 8.8.5 defines both when the schema links federation
/// 2.5 or later, but gives <c>@requiresScopes</c> the flat argument type <c>[String!]!</c>, so applying it with a
/// nested list cannot be printed; <see cref="FixRequiresScopes"/> corrects the type. Imported through <c>@link</c>,
/// the definitions are not printed in the SDL.
/// </summary>
public static class AccessDirectives
{
    /// <summary><c>@authenticated</c>: the field needs an authenticated caller.</summary>
    public const string Authenticated = "authenticated";

    /// <summary><c>@requiresScopes(scopes:)</c>: the caller needs every scope of at least one inner list.</summary>
    public const string RequiresScopes = "requiresScopes";

    /// <summary>The argument of <c>@requiresScopes</c>.</summary>
    public const string ScopesArgument = "scopes";

    /// <summary>Gives <c>@requiresScopes</c> its nested-list argument (scope names are strings, as Apollo's scalar is).</summary>
    /// <exception cref="InvalidOperationException">The federation setup (v2.5 or later, importing it) did not define <c>@requiresScopes</c>.</exception>
    public static void FixRequiresScopes(ISchema schema)
    {
        var directive = schema.Directives.Find(RequiresScopes)
            ?? throw new InvalidOperationException("Federation v2.5 or later, importing @requiresScopes, must be added before it is configured.");
        directive.Arguments = new QueryArguments(
            new QueryArgument<NonNullGraphType<ListGraphType<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>>>
            {
                Name = ScopesArgument,
            });
    }

    /// <summary>
    /// Adds Apollo Federation v2.5 importing <c>@key</c> and <paramref name="imports"/> (directive names without
    /// <c>@</c>; every other federation name stays namespaced as <c>federation__*</c>), fixes <c>@requiresScopes</c>
    /// when imported, and enforces both access directives in the subgraph itself with
    /// <see cref="AccessDirectivesMiddleware"/> (defence in depth: the gateway checks them first).
    /// </summary>
    public static IGraphQLBuilder AddChirpFederation(this IGraphQLBuilder builder, params string[] imports)
    {
        builder.AddFederation("2.5", link =>
        {
            link.Imports.Clear();
            link.Imports["@key"] = "@key";
            foreach (var name in imports)
            {
                link.Imports["@" + name] = "@" + name;
            }
        });
        if (imports.Contains(RequiresScopes, StringComparer.Ordinal))
        {
            builder.ConfigureSchema((schema, _) => FixRequiresScopes(schema));
        }

        return builder.UseMiddleware<AccessDirectivesMiddleware>();
    }
}

/// <summary>
/// Enforces <c>@authenticated</c> and <c>@requiresScopes</c> on the fields they are applied to, before the resolver
/// runs, using <see cref="ChirpClaims"/>. A refused field resolves to an error at its path with <c>extensions.code</c>
/// <see cref="ErrorCodes.Unauthenticated"/> (anonymous caller) or <see cref="ErrorCodes.Forbidden"/> (no inner
/// scope list fully held).
/// </summary>
public sealed class AccessDirectivesMiddleware : IFieldMiddleware
{
    /// <inheritdoc />
    public ValueTask<object?> ResolveAsync(IResolveFieldContext context, FieldMiddlewareDelegate next)
    {
        var directives = context.FieldDefinition.GetAppliedDirectives();
        if (directives is { Count: > 0 })
        {
            var user = context.User;
            var authenticated = user?.Identity?.IsAuthenticated == true;
            var scopes = directives.Find(AccessDirectives.RequiresScopes)?.FindArgument(AccessDirectives.ScopesArgument)?.Value as IEnumerable;
            if ((scopes is not null || directives.Find(AccessDirectives.Authenticated) is not null) && !authenticated)
            {
                throw new ExecutionError($"Sign in to use '{context.FieldDefinition.Name}'.") { Code = ErrorCodes.Unauthenticated };
            }

            if (scopes is not null && !scopes.Cast<IEnumerable>().Any(all => all.Cast<object>().All(scope => user!.HasScope(scope.ToString()!))))
            {
                throw new ExecutionError($"The access token lacks the scope that '{context.FieldDefinition.Name}' requires.") { Code = ErrorCodes.Forbidden };
            }
        }

        return next(context);
    }
}
