using Chirp.Contracts;
using GraphQLParser.AST;

namespace Chirp.Federation.Schema;

/// <summary>The kinds of named types (GraphQL spec section 3.4).</summary>
internal enum TypeKind
{
    Scalar,
    Object,
    Interface,
    Union,
    Enum,
    InputObject,
}

/// <summary>
/// What a field or type demands of the caller: <c>@authenticated</c> and/or <c>@requiresScopes</c>, whose
/// <see cref="ScopeSets"/> are an OR of ANDs.
/// </summary>
internal sealed record AuthRequirement(bool Authenticated, IReadOnlyList<IReadOnlyList<string>>? ScopeSets)
{
    /// <summary>A stable text that identifies the requirement (used to key per-caller plans).</summary>
    public string Id { get; } = (Authenticated ? "auth" : "") + (ScopeSets is null ? "" : "|" + string.Join(" OR ", ScopeSets.Select(s => string.Join(" AND ", s))));

    /// <summary>Both requirements at once.</summary>
    public static AuthRequirement? Combine(AuthRequirement? a, AuthRequirement? b)
    {
        if (a is null || b is null)
        {
            return a ?? b;
        }

        IReadOnlyList<IReadOnlyList<string>>? sets = (a.ScopeSets, b.ScopeSets) switch
        {
            (null, var s) => s,
            (var s, null) => s,
            // (A1 or A2) and (B1 or B2) = every Ai with every Bj.
            var (x, y) => [.. x.SelectMany(ai => y.Select(bj => (IReadOnlyList<string>)[.. ai.Union(bj)]))],
        };
        return new AuthRequirement(a.Authenticated || b.Authenticated, sets);
    }

    /// <summary>Null when <paramref name="caller"/> may see the field, else the error code and message.</summary>
    public (string Code, string Message)? Check(CallerContext caller)
    {
        if (!caller.IsAuthenticated)
        {
            return (ErrorCodes.Unauthenticated, "You must be signed in to see this field.");
        }

        if (ScopeSets is null || ScopeSets.Any(set => set.All(caller.Scopes.Contains)))
        {
            return null;
        }

        var needed = string.Join(" or ", ScopeSets.Select(set => string.Join(" and ", set)));
        return (ErrorCodes.Forbidden, $"This field needs the scope {needed}.");
    }
}

/// <summary>The <c>extensions.code</c> values of request errors, beside <see cref="ErrorCodes"/>.</summary>
internal static class RequestErrorCodes
{
    /// <summary>The document is not valid (the code GraphQL servers commonly use).</summary>
    public const string ValidationFailed = "GRAPHQL_VALIDATION_FAILED";

    /// <summary>No operation matches the request's operation name.</summary>
    public const string OperationNotFound = "OPERATION_RESOLUTION_FAILURE";
}

/// <summary>An argument or input field.</summary>
internal sealed record InputValueDef(string Name, GraphQLType Type, GraphQLValue? DefaultValue);

/// <summary>A named type of the supergraph with its join metadata.</summary>
internal sealed class TypeDef(string name, TypeKind kind)
{
    public string Name { get; } = name;

    public TypeKind Kind { get; } = kind;

    public bool IsComposite => Kind is TypeKind.Object or TypeKind.Interface or TypeKind.Union;

    public bool IsAbstract => Kind is TypeKind.Interface or TypeKind.Union;

    /// <summary>Output fields (objects and interfaces), in declaration order.</summary>
    public Dictionary<string, FieldDef> Fields { get; } = new(StringComparer.Ordinal);

    /// <summary>Input fields (input objects).</summary>
    public Dictionary<string, InputValueDef> InputFields { get; } = new(StringComparer.Ordinal);

    /// <summary>Enum values.</summary>
    public HashSet<string> EnumValues { get; } = new(StringComparer.Ordinal);

    /// <summary>Interfaces an object or interface implements.</summary>
    public HashSet<string> Interfaces { get; } = new(StringComparer.Ordinal);

    /// <summary>For unions: member types; for interfaces: implementing object types (filled after parsing).</summary>
    public List<string> PossibleTypes { get; } = [];

    /// <summary>Subgraphs that define the type (<c>@join__type(graph:)</c>).</summary>
    public HashSet<string> Graphs { get; } = new(StringComparer.Ordinal);

    /// <summary>Resolvable entity keys per subgraph (<c>@join__type(key:)</c>).</summary>
    public Dictionary<string, List<GraphQLSelectionSet>> Keys { get; } = new(StringComparer.Ordinal);

    /// <summary>Per subgraph, the possible types it knows (<c>@join__implements</c>, <c>@join__unionMember</c>).</summary>
    public Dictionary<string, HashSet<string>> PossibleTypesByGraph { get; } = new(StringComparer.Ordinal);

    /// <summary>Type-level <c>@authenticated</c>/<c>@requiresScopes</c>; applies to every field returning the type.</summary>
    public AuthRequirement? Auth { get; set; }
}

/// <summary>An output field of the supergraph with its join metadata.</summary>
internal sealed class FieldDef(string name, GraphQLType type, string declaringType)
{
    public string Name { get; } = name;

    public GraphQLType Type { get; } = type;

    public string DeclaringType { get; } = declaringType;

    public string NamedType { get; } = Unwrap(type);

    public Dictionary<string, InputValueDef> Arguments { get; } = new(StringComparer.Ordinal);

    /// <summary>Subgraphs that can resolve the field (not <c>external</c>).</summary>
    public HashSet<string> Graphs { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// <c>@join__field(provides:)</c> per subgraph: fields of the returned objects that this subgraph resolves at this
    /// field although they are <c>@external</c> in it.
    /// </summary>
    public Dictionary<string, GraphQLSelectionSet> Provides { get; } = new(StringComparer.Ordinal);

    /// <summary><c>@join__field(requires:)</c> per subgraph.</summary>
    public Dictionary<string, GraphQLSelectionSet> Requires { get; } = new(StringComparer.Ordinal);

    /// <summary>Field-level <c>@authenticated</c>/<c>@requiresScopes</c> combined with the return type's.</summary>
    public AuthRequirement? Auth { get; set; }

    public static string Unwrap(GraphQLType type) => type switch
    {
        GraphQLNonNullType n => Unwrap(n.Type),
        GraphQLListType l => Unwrap(l.Type),
        GraphQLNamedType named => named.Name.StringValue,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}
