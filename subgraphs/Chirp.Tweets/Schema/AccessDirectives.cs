using GraphQL.Types;

namespace Chirp.Tweets.Schema;

/// <summary>
/// Names of the Apollo Federation v2.5 access directives. GraphQL.NET 8.8.5 defines both when the schema links
/// federation 2.5 or later, but gives <c>@requiresScopes</c> the argument type <c>[String!]!</c> instead of Apollo's
/// <c>[[federation__Scope!]!]!</c>, so applying it with a nested list cannot be printed; <see cref="FixRequiresScopes"/>
/// corrects the type. Both definitions are imported through <c>@link</c> and therefore not printed in the SDL.
/// The resolvers enforce both again through <see cref="Access"/> (the gateway checks them first).
/// </summary>
public static class AccessDirectives
{
    /// <summary><c>@authenticated</c>: the field needs an authenticated caller.</summary>
    public const string Authenticated = "authenticated";

    /// <summary><c>@requiresScopes(scopes:)</c>: the caller needs every scope of at least one inner list.</summary>
    public const string RequiresScopes = "requiresScopes";

    /// <summary>Gives <c>@requiresScopes</c> its nested-list argument (scope names are strings, as Apollo's scalar is).</summary>
    /// <exception cref="InvalidOperationException">The federation setup did not define <c>@requiresScopes</c>.</exception>
    public static void FixRequiresScopes(ISchema schema)
    {
        var directive = schema.Directives.Find(RequiresScopes)
            ?? throw new InvalidOperationException("Federation 2.5 must define @requiresScopes.");
        directive.Arguments = new QueryArguments(
            new QueryArgument<NonNullGraphType<ListGraphType<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>>>
            {
                Name = "scopes",
            });
    }
}
