using GraphQL.Types;

namespace Chirp.EmailWorker.Schema;

/// <summary>
/// Apollo Federation's <c>@requiresScopes(scopes: [[federation__Scope!]!]!)</c> (federation v2.5). GraphQL.NET 8.8.5
/// defines it for v2.5 but with a flat <c>[String!]!</c> argument, which cannot print the nested list; this fixes
/// the argument's type so <c>_service { sdl }</c> prints <c>@requiresScopes(scopes: [["email:manage"]])</c>.
/// </summary>
public static class RequiresScopes
{
    public const string Name = "requiresScopes";

    public const string ScopesArgument = "scopes";

    /// <summary>Gives the schema's <c>@requiresScopes</c> definition the nested list argument of the spec.</summary>
    /// <exception cref="InvalidOperationException">The schema has no <c>@requiresScopes</c> (federation not added or older than v2.5).</exception>
    public static void FixDefinition(ISchema schema)
    {
        var directive = schema.Directives.Find(Name)
            ?? throw new InvalidOperationException("Federation v2.5 or later must be added before @requiresScopes is configured.");
        directive.Arguments = new QueryArguments(
            new QueryArgument<NonNullGraphType<ListGraphType<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>>> { Name = ScopesArgument });
    }
}
