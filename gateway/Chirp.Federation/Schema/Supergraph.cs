using GraphQLParser;
using GraphQLParser.AST;
using GraphQLParser.Exceptions;

namespace Chirp.Federation.Schema;

/// <summary>
/// A composed supergraph in Apollo's format (<c>join__</c> v0.3): which subgraphs exist, where they listen by
/// default, which of them resolves each type and field, the entity keys, and the API schema that clients see.
/// Immutable and thread-safe.
/// </summary>
public sealed class Supergraph
{
    private readonly Dictionary<string, Uri> _urls;

    private Supergraph(
        Dictionary<string, Uri> urls,
        Dictionary<string, TypeDef> types,
        string queryType,
        string? mutationType,
        string? subscriptionType,
        string apiSdl)
    {
        _urls = urls;
        SubgraphNames = [.. urls.Keys];
        Types = types;
        QueryType = queryType;
        MutationType = mutationType;
        SubscriptionType = subscriptionType;
        ApiSdl = apiSdl;
        Api = new ApiSchema(apiSdl);
    }

    /// <summary>The subgraph names, from <c>@join__graph(name:)</c>, e.g. <c>users</c>.</summary>
    public IReadOnlyList<string> SubgraphNames { get; }

    /// <summary>The client-facing schema as SDL: the supergraph without join, link and security metadata.</summary>
    public string ApiSdl { get; }

    internal IReadOnlyDictionary<string, TypeDef> Types { get; }

    internal string QueryType { get; }

    internal string? MutationType { get; }

    internal string? SubscriptionType { get; }

    internal ApiSchema Api { get; }

    /// <summary>The URL that <c>@join__graph(url:)</c> gives for <paramref name="subgraphName"/>.</summary>
    /// <exception cref="ArgumentException">No subgraph has that name.</exception>
    public Uri DefaultUrl(string subgraphName) =>
        _urls.TryGetValue(subgraphName, out var url) ? url : throw new ArgumentException($"No subgraph is named '{subgraphName}'.", nameof(subgraphName));

    internal TypeDef Type(string name) =>
        Types.TryGetValue(name, out var type) ? type : throw new InvalidOperationException($"The type '{name}' is not in the supergraph.");

    internal string? RootTypeName(OperationType operation) => operation switch
    {
        OperationType.Query => QueryType,
        OperationType.Mutation => MutationType,
        _ => SubscriptionType,
    };

    /// <summary>Reads a supergraph SDL.</summary>
    /// <exception cref="SupergraphException">The text does not parse, or lacks the join metadata the engine needs.</exception>
    public static Supergraph Parse(string supergraphSdl)
    {
        ArgumentNullException.ThrowIfNull(supergraphSdl);
        GraphQLDocument document;
        try
        {
            document = Parser.Parse(supergraphSdl, new ParserOptions { Ignore = IgnoreOptions.All });
        }
        catch (GraphQLParserException e)
        {
            throw new SupergraphException($"The supergraph does not parse: {e.Description} (line {e.Location.Line}, column {e.Location.Column}).", e);
        }

        var graphs = ReadGraphs(document, out var urls);
        var types = new Dictionary<string, TypeDef>(StringComparer.Ordinal);
        foreach (var definition in document.Definitions.OfType<GraphQLTypeDefinition>())
        {
            var name = definition.Name.StringValue;
            if (IsFederationName(name))
            {
                continue;
            }

            if (types.ContainsKey(name))
            {
                throw new SupergraphException($"The type '{name}' is defined twice.");
            }

            types[name] = ReadType(definition, graphs);
        }

        AddBuiltInScalars(types);
        LinkPossibleTypes(types);

        var schema = document.Definitions.OfType<GraphQLSchemaDefinition>().FirstOrDefault();
        string RootName(OperationType op, string fallback) =>
            schema?.OperationTypes.FirstOrDefault(o => o.Operation == op)?.Type?.Name.StringValue ?? fallback;
        var query = RootName(OperationType.Query, "Query");
        var mutation = RootName(OperationType.Mutation, "Mutation");
        var subscription = RootName(OperationType.Subscription, "Subscription");
        if (!types.TryGetValue(query, out var queryType) || queryType.Kind != TypeKind.Object)
        {
            throw new SupergraphException($"The supergraph has no query type '{query}'.");
        }

        foreach (var type in types.Values)
        {
            foreach (var field in type.Fields.Values)
            {
                if (!types.TryGetValue(field.NamedType, out var fieldType))
                {
                    throw new SupergraphException($"The field '{type.Name}.{field.Name}' has the unknown type '{field.NamedType}'.");
                }

                field.Auth = AuthRequirement.Combine(field.Auth, fieldType.Auth);
            }
        }

        string apiSdl;
        try
        {
            apiSdl = ApiSchema.PrintApiSdl(supergraphSdl);
        }
        catch (GraphQLParserException e)
        {
            throw new SupergraphException("The supergraph does not parse: " + e.Description, e);
        }

        try
        {
            return new Supergraph(
                urls,
                types,
                query,
                types.ContainsKey(mutation) ? mutation : null,
                types.ContainsKey(subscription) ? subscription : null,
                apiSdl);
        }
        catch (Exception e) when (e is not SupergraphException)
        {
            throw new SupergraphException("The API schema of the supergraph is not valid: " + e.Message, e);
        }
    }

    /// <summary>Names that belong to the federation machinery, not to the API.</summary>
    internal static bool IsFederationName(string name) =>
        name.StartsWith("join__", StringComparison.Ordinal)
        || name.StartsWith("link__", StringComparison.Ordinal)
        || name.StartsWith("requiresScopes__", StringComparison.Ordinal)
        || name.StartsWith("policy__", StringComparison.Ordinal);

    private static Dictionary<string, string> ReadGraphs(GraphQLDocument document, out Dictionary<string, Uri> urls)
    {
        var graphEnum = document.Definitions.OfType<GraphQLEnumTypeDefinition>().FirstOrDefault(e => e.Name.StringValue == "join__Graph")
            ?? throw new SupergraphException("The supergraph has no 'join__Graph' enum: it is not an Apollo supergraph (join v0.3).");
        var graphs = new Dictionary<string, string>(StringComparer.Ordinal);
        urls = new Dictionary<string, Uri>(StringComparer.Ordinal);
        foreach (var value in graphEnum.Values?.Items ?? [])
        {
            var enumName = value.Name.StringValue;
            var directive = Directives(value.Directives, "join__graph").FirstOrDefault()
                ?? throw new SupergraphException($"The join__Graph value '{enumName}' has no @join__graph.");
            var name = StringArgument(directive, "name") ?? throw new SupergraphException($"@join__graph of '{enumName}' has no name.");
            var url = StringArgument(directive, "url") ?? throw new SupergraphException($"@join__graph of '{enumName}' has no url.");
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
            {
                throw new SupergraphException($"@join__graph of '{enumName}' has the url '{url}', which is not an absolute URL.");
            }

            if (urls.ContainsKey(name))
            {
                throw new SupergraphException($"Two subgraphs are named '{name}'.");
            }

            graphs[enumName] = name;
            urls[name] = uri;
        }

        if (graphs.Count == 0)
        {
            throw new SupergraphException("The supergraph names no subgraph.");
        }

        return graphs;
    }

    private static TypeDef ReadType(GraphQLTypeDefinition definition, Dictionary<string, string> graphs)
    {
        var name = definition.Name.StringValue;
        var kind = definition switch
        {
            GraphQLObjectTypeDefinition => TypeKind.Object,
            GraphQLInterfaceTypeDefinition => TypeKind.Interface,
            GraphQLUnionTypeDefinition => TypeKind.Union,
            GraphQLEnumTypeDefinition => TypeKind.Enum,
            GraphQLInputObjectTypeDefinition => TypeKind.InputObject,
            _ => TypeKind.Scalar,
        };
        var directives = (definition as IHasDirectivesNode)?.Directives;
        var type = new TypeDef(name, kind) { Auth = ReadAuth(directives) };
        foreach (var join in Directives(directives, "join__type"))
        {
            var graph = Graph(join, graphs, name);
            type.Graphs.Add(graph);
            var key = StringArgument(join, "key");
            if (key is not null && BooleanArgument(join, "resolvable") != false)
            {
                if (!type.Keys.TryGetValue(graph, out var keys))
                {
                    type.Keys[graph] = keys = [];
                }

                keys.Add(ParseFieldSet(key, $"the key of '{name}'"));
            }
        }

        foreach (var join in Directives(directives, "join__implements"))
        {
            // Recorded on the implementing type; LinkPossibleTypes turns it around.
            type.Interfaces.Add(StringArgument(join, "interface") ?? throw new SupergraphException($"@join__implements on '{name}' has no interface."));
        }

        switch (definition)
        {
            case GraphQLObjectTypeDefinition o:
                ReadFields(type, o.Fields, graphs);
                AddInterfaces(type, o.Interfaces);
                break;
            case GraphQLInterfaceTypeDefinition i:
                ReadFields(type, i.Fields, graphs);
                AddInterfaces(type, i.Interfaces);
                break;
            case GraphQLUnionTypeDefinition u:
                type.PossibleTypes.AddRange(u.Types?.Items.Select(t => t.Name.StringValue) ?? []);
                foreach (var member in Directives(directives, "join__unionMember"))
                {
                    var graph = Graph(member, graphs, name);
                    if (!type.PossibleTypesByGraph.TryGetValue(graph, out var set))
                    {
                        type.PossibleTypesByGraph[graph] = set = new HashSet<string>(StringComparer.Ordinal);
                    }

                    set.Add(StringArgument(member, "member") ?? "");
                }

                break;
            case GraphQLEnumTypeDefinition e:
                foreach (var value in e.Values?.Items ?? [])
                {
                    type.EnumValues.Add(value.Name.StringValue);
                }

                break;
            case GraphQLInputObjectTypeDefinition input:
                foreach (var field in input.Fields?.Items ?? [])
                {
                    type.InputFields[field.Name.StringValue] = new InputValueDef(field.Name.StringValue, field.Type, field.DefaultValue);
                }

                break;
        }

        return type;
    }

    private static void AddInterfaces(TypeDef type, GraphQLImplementsInterfaces? interfaces)
    {
        foreach (var i in interfaces?.Items ?? [])
        {
            type.Interfaces.Add(i.Name.StringValue);
        }
    }

    private static void ReadFields(TypeDef type, GraphQLFieldsDefinition? fields, Dictionary<string, string> graphs)
    {
        foreach (var definition in fields?.Items ?? [])
        {
            var field = new FieldDef(definition.Name.StringValue, definition.Type, type.Name) { Auth = ReadAuth(definition.Directives) };
            foreach (var argument in definition.Arguments?.Items ?? [])
            {
                field.Arguments[argument.Name.StringValue] = new InputValueDef(argument.Name.StringValue, argument.Type, argument.DefaultValue);
            }

            var joins = Directives(definition.Directives, "join__field").Where(j => j.Arguments?.Items.Any(a => a.Name.StringValue == "graph") == true).ToList();
            if (joins.Count == 0)
            {
                field.Graphs.UnionWith(type.Graphs);
            }

            foreach (var join in joins)
            {
                var graph = Graph(join, graphs, $"{type.Name}.{field.Name}");
                if (BooleanArgument(join, "external") == true || BooleanArgument(join, "usedOverridden") == true)
                {
                    continue;
                }

                field.Graphs.Add(graph);
                var provides = StringArgument(join, "provides");
                if (provides is not null)
                {
                    field.Provides[graph] = ParseFieldSet(provides, $"@provides of '{type.Name}.{field.Name}'");
                }

                var requires = StringArgument(join, "requires");
                if (requires is not null)
                {
                    field.Requires[graph] = ParseFieldSet(requires, $"@requires of '{type.Name}.{field.Name}'");
                }
            }

            type.Fields[field.Name] = field;
        }
    }

    private static void AddBuiltInScalars(Dictionary<string, TypeDef> types)
    {
        foreach (var name in (string[])["Int", "Float", "String", "Boolean", "ID"])
        {
            types.TryAdd(name, new TypeDef(name, TypeKind.Scalar));
        }
    }

    private static void LinkPossibleTypes(Dictionary<string, TypeDef> types)
    {
        foreach (var type in types.Values.Where(t => t.Kind == TypeKind.Object))
        {
            foreach (var interfaceName in type.Interfaces)
            {
                if (types.TryGetValue(interfaceName, out var i) && i.Kind == TypeKind.Interface)
                {
                    i.PossibleTypes.Add(type.Name);
                    // A subgraph knows the implementation when it defines both types.
                    foreach (var graph in type.Graphs.Intersect(i.Graphs))
                    {
                        if (!i.PossibleTypesByGraph.TryGetValue(graph, out var set))
                        {
                            i.PossibleTypesByGraph[graph] = set = new HashSet<string>(StringComparer.Ordinal);
                        }

                        set.Add(type.Name);
                    }
                }
            }
        }
    }

    private static AuthRequirement? ReadAuth(GraphQLDirectives? directives)
    {
        var authenticated = Directives(directives, "authenticated").Any();
        List<IReadOnlyList<string>>? sets = null;
        foreach (var directive in Directives(directives, "requiresScopes"))
        {
            var value = directive.Arguments?.Items.FirstOrDefault(a => a.Name.StringValue == "scopes")?.Value;
            sets ??= [];
            if (value is GraphQLListValue outer)
            {
                foreach (var inner in outer.Values ?? [])
                {
                    sets.Add(inner is GraphQLListValue list
                        ? [.. (list.Values ?? []).OfType<GraphQLStringValue>().Select(s => (string)s.Value)]
                        : []);
                }
            }
        }

        return authenticated || sets is not null ? new AuthRequirement(authenticated || sets is not null, sets) : null;
    }

    private static GraphQLSelectionSet ParseFieldSet(string fields, string what)
    {
        try
        {
            var document = Parser.Parse("{" + fields + "}", new ParserOptions { Ignore = IgnoreOptions.All });
            return ((GraphQLOperationDefinition)document.Definitions[0]).SelectionSet;
        }
        catch (GraphQLParserException e)
        {
            throw new SupergraphException($"The field set \"{fields}\" of {what} does not parse: {e.Description}", e);
        }
    }

    private static string Graph(GraphQLDirective directive, Dictionary<string, string> graphs, string where)
    {
        var value = directive.Arguments?.Items.FirstOrDefault(a => a.Name.StringValue == "graph")?.Value as GraphQLEnumValue
            ?? throw new SupergraphException($"@{directive.Name.StringValue} on '{where}' has no graph.");
        return graphs.TryGetValue(value.Name.StringValue, out var name)
            ? name
            : throw new SupergraphException($"@{directive.Name.StringValue} on '{where}' names the unknown graph '{value.Name.StringValue}'.");
    }

    internal static IEnumerable<GraphQLDirective> Directives(GraphQLDirectives? directives, string name) =>
        directives?.Items.Where(d => d.Name.StringValue == name) ?? [];

    private static string? StringArgument(GraphQLDirective directive, string name) =>
        directive.Arguments?.Items.FirstOrDefault(a => a.Name.StringValue == name)?.Value is GraphQLStringValue s ? (string)s.Value : null;

    private static bool? BooleanArgument(GraphQLDirective directive, string name) =>
        directive.Arguments?.Items.FirstOrDefault(a => a.Name.StringValue == name)?.Value is GraphQLBooleanValue b ? b.BoolValue : null;
}
