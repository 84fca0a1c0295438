using Chirp.Federation.Schema;
using GraphQLParser.AST;

namespace Chirp.Federation.Planning;

/// <summary>The operation cannot be split over the subgraphs (a composition gap, not a client error).</summary>
internal sealed class QueryPlanningException(string message) : Exception(message);

/// <summary>
/// Turns one client operation into a <see cref="QueryPlan"/>: root fields go to their owning subgraph (one fetch per
/// subgraph, or per run of consecutive fields for a mutation); a field that the current subgraph cannot resolve on
/// an entity becomes an <c>_entities</c> fetch to its owner, keyed by the fields of <c>@join__type(key:)</c>.
/// </summary>
/// <remarks>
/// <c>@skip</c>/<c>@include</c> are decided here from <paramref name="conditions"/> and fields the caller may not see
/// are left out, so a plan is valid for one set of condition values and one authorization outcome.
/// </remarks>
internal sealed partial class QueryPlanner(
    Supergraph supergraph,
    GraphQLDocument document,
    GraphQLOperationDefinition operation,
    IReadOnlyDictionary<string, bool> conditions,
    Func<AuthRequirement, (string Code, string Message)?> authorize)
{
    private const string IntrospectionSubgraph = "";

    private readonly Dictionary<string, GraphQLFragmentDefinition> _fragments = document.Definitions
        .OfType<GraphQLFragmentDefinition>()
        .GroupBy(f => f.FragmentName.Name.StringValue)
        .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);

    private readonly Dictionary<string, GraphQLVariableDefinition> _variables = (operation.Variables?.Items ?? [])
        .GroupBy(v => v.Variable.Name.StringValue)
        .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);

    private readonly List<FetchBuilder> _fetches = [];
    private readonly SourceLines _lines = new(document);

    public QueryPlan Plan()
    {
        var rootName = supergraph.RootTypeName(operation.Operation)
            ?? throw new QueryPlanningException($"The schema has no {operation.Operation.ToString().ToLowerInvariant()} type.");
        var rootType = supergraph.Type(rootName);
        var collected = CollectFields(rootType, [operation.SelectionSet]);
        var shape = new ObjectShape(rootType.Name);
        var introspection = new List<GraphQLField>();
        var groups = new List<(string Graph, List<(FieldGroup, OutputField)> Fields)>();
        foreach (var (key, group) in collected)
        {
            if (group.Name == "__typename")
            {
                shape.Fields.Add(new OutputField(key, group.Name, null, Location(group)));
                continue;
            }

            if (group.Name is "__schema" or "__type")
            {
                var type = group.Name == "__schema"
                    ? new GraphQLNonNullType(new GraphQLNamedType(new GraphQLName("__Schema")))
                    : (GraphQLType)new GraphQLNamedType(new GraphQLName("__Type"));
                shape.Fields.Add(new OutputField(key, group.Name, type, Location(group)) { IsOpaque = true });
                introspection.AddRange(group.Nodes);
                continue;
            }

            var output = NewOutputField(rootType, key, group);
            shape.Fields.Add(output);
            if (output.Denied is not null)
            {
                continue;
            }

            var field = rootType.Fields[group.Name];
            if (field.Graphs.Count == 0)
            {
                throw new QueryPlanningException($"No subgraph resolves {rootType.Name}.{field.Name}.");
            }

            if (operation.Operation == OperationType.Mutation)
            {
                // Serial execution (GraphQL spec 6.2.2): only consecutive fields of one subgraph share a fetch.
                if (groups.Count > 0 && field.Graphs.Contains(groups[^1].Graph))
                {
                    groups[^1].Fields.Add((group, output));
                }
                else
                {
                    groups.Add((field.Graphs.First(), [(group, output)]));
                }
            }
            else
            {
                var index = groups.FindIndex(g => field.Graphs.Contains(g.Graph));
                if (index >= 0)
                {
                    groups[index].Fields.Add((group, output));
                }
                else
                {
                    groups.Add((field.Graphs.First(), [(group, output)]));
                }
            }
        }

        var previousSubtree = new List<FetchBuilder>();
        var levelKeys = new HashSet<string>(collected.Select(c => c.Key), StringComparer.Ordinal);
        foreach (var (graph, fields) in groups)
        {
            var start = _fetches.Count;
            var fetch = NewFetch(graph, operation.Operation, null);
            fetch.DependsOn.AddRange(previousSubtree);
            fetch.RootKeys.AddRange(fields.Select(f => f.Item2.ResponseKey));
            PlanLevel(rootType, graph, fetch, fetch.Items, [], fields, levelKeys);
            if (operation.Operation == OperationType.Mutation)
            {
                previousSubtree = _fetches[start..];
            }
        }

        return Build(shape, introspection);
    }
    /// <summary>
    /// Plans the fields of one object (or the fields of one concrete type under an abstract one) for
    /// <paramref name="graph"/>: fields it resolves go into <paramref name="target"/>; the others become entity fetches.
    /// <c>levelKeys</c> holds every client response key of this object, to keep internal fields clear of them.
    /// </summary>
    private void PlanLevel(
        TypeDef type,
        string graph,
        FetchBuilder fetch,
        List<FetchItem> target,
        List<PathSegment> path,
        List<(FieldGroup Group, OutputField Output)> fields,
        HashSet<string> levelKeys,
        GraphQLSelectionSet? provided = null)
    {
        var remote = new List<EntityGroup>();
        foreach (var (group, output) in fields)
        {
            var field = type.Fields[group.Name];
            var providedHere = ProvidedField(provided, group.Name);
            if (field.Graphs.Contains(graph) || providedHere is not null)
            {
                PlanLocalField(field, graph, fetch, target, path, group, output, providedHere?.SelectionSet);
                continue;
            }

            var owner = PickOwner(type, field, graph, remote, provided)
                ?? throw new QueryPlanningException($"{type.Name}.{field.Name} cannot be reached from the {graph} subgraph: no entity key leads to its owner.");
            owner.ClientFields.Add((group, output));
        }

        if (remote.Count == 0)
        {
            return;
        }

        AddKeys();

        // @requires: a field the owner needs in the representation comes from this fetch when it can, else from
        // the entity fetch of another subgraph that then runs first.
        foreach (var owner in remote.ToList())
        {
            foreach (var (group, _) in owner.ClientFields)
            {
                if (!type.Fields[group.Name].Requires.TryGetValue(owner.Graph, out var requires))
                {
                    continue;
                }

                foreach (var required in requires.Selections.OfType<GraphQLField>())
                {
                    var name = required.Name.StringValue;
                    if (owner.Representation.Any(r => r.Name == name) || owner.FromSiblings.Any(r => r.Field.Name.StringValue == name))
                    {
                        continue;
                    }

                    var requiredField = type.Fields.GetValueOrDefault(name)
                        ?? throw new QueryPlanningException($"@requires of {type.Name}.{group.Name} names the unknown field {name}.");
                    if (requiredField.Graphs.Contains(graph))
                    {
                        owner.Representation.Add((name, EnsureInternalField(target, levelKeys, required)));
                    }
                    else
                    {
                        var sibling = PickOwner(type, requiredField, graph, remote)
                            ?? throw new QueryPlanningException($"The field {name} that {type.Name}.{group.Name} requires cannot be reached from the {graph} subgraph.");
                        sibling.InternalFields.Add(required);
                        owner.FromSiblings.Add((required, sibling));
                    }
                }
            }
        }

        AddKeys(); // for owners that only a @requires brought in

        var done = new HashSet<EntityGroup>();
        while (done.Count < remote.Count)
        {
            var ready = remote.FirstOrDefault(g => !done.Contains(g) && g.FromSiblings.All(s => done.Contains(s.Sibling)))
                ?? throw new QueryPlanningException($"The @requires of fields on {type.Name} form a cycle.");
            done.Add(ready);
            var entityFetch = NewFetch(ready.Graph, OperationType.Query, type.Name);
            entityFetch.DependsOn.Add(fetch);
            entityFetch.DependsOn.AddRange(ready.FromSiblings.Select(s => s.Sibling.Fetch!).Distinct());
            ready.Fetch = entityFetch;
            PlanLevel(type, ready.Graph, entityFetch, entityFetch.Items, path, ready.ClientFields, levelKeys);

            // After the client's fields, so that a required field the client also asked for is fetched once.
            foreach (var field in ready.InternalFields)
            {
                ready.InternalKeys[field.Name.StringValue] = EnsureInternalField(entityFetch.Items, levelKeys, field);
            }

            if (entityFetch.Items.Count == 0)
            {
                entityFetch.Items.Add(new FetchField(null, "__typename"));
            }

            var representation = ready.Representation.ToList();
            representation.AddRange(ready.FromSiblings.Select(s => (s.Field.Name.StringValue, s.Sibling.InternalKeys[s.Field.Name.StringValue])));
            entityFetch.Locations.Add(new EntityLocation(path, type.Name, representation));
        }

        void AddKeys()
        {
            foreach (var owner in remote.Where(o => !o.HasKey))
            {
                foreach (var keyField in owner.Key.Selections.OfType<GraphQLField>())
                {
                    owner.Representation.Add((keyField.Name.StringValue, EnsureInternalField(target, levelKeys, keyField)));
                }

                owner.HasKey = true;
            }
        }
    }

    /// <summary>The field named <paramref name="name"/> in a <c>@provides</c> selection, or null.</summary>
    private static GraphQLField? ProvidedField(GraphQLSelectionSet? provided, string name)
    {
        foreach (var selection in provided?.Selections ?? [])
        {
            if (selection is GraphQLField field && field.Name.StringValue == name)
            {
                return field;
            }
        }

        return null;
    }

    private EntityGroup? PickOwner(TypeDef type, FieldDef field, string graph, List<EntityGroup> groups, GraphQLSelectionSet? provided = null)
    {
        foreach (var group in groups)
        {
            if (field.Graphs.Contains(group.Graph))
            {
                return group;
            }
        }

        foreach (var candidate in field.Graphs)
        {
            // The owner must take representations of this type, keyed by fields the current subgraph can give.
            var key = type.Keys.GetValueOrDefault(candidate)?.FirstOrDefault(k => k.Selections.OfType<GraphQLField>()
                .All(f => type.Fields.TryGetValue(f.Name.StringValue, out var keyField)
                    && (keyField.Graphs.Contains(graph) || ProvidedField(provided, keyField.Name) is not null)));
            if (key is not null)
            {
                var group = new EntityGroup(candidate, key);
                groups.Add(group);
                return group;
            }
        }

        return null;
    }

    private void PlanLocalField(
        FieldDef field,
        string graph,
        FetchBuilder fetch,
        List<FetchItem> target,
        List<PathSegment> path,
        FieldGroup group,
        OutputField output,
        GraphQLSelectionSet? provided)
    {
        var key = output.ResponseKey;
        var first = group.Nodes[0];
        var item = new FetchField(key == field.Name ? null : key, field.Name, first.Arguments);
        fetch.UseVariables(first.Arguments);
        target.Add(item);
        var type = supergraph.Type(field.NamedType);
        if (!type.IsComposite)
        {
            return;
        }

        // What this subgraph provides below the field: a nested part of a @provides above, or the field's own.
        provided ??= field.Provides.GetValueOrDefault(graph);
        var selections = group.Nodes.Where(n => n.SelectionSet is not null).Select(n => n.SelectionSet!).ToList();
        item.Children = [];
        output.Selection = new Dictionary<string, ObjectShape>(StringComparer.Ordinal);
        if (type.Kind == TypeKind.Object)
        {
            PlanObject(type, graph, fetch, item.Children, [.. path, new PathSegment(key, null)], selections, output, provided);
        }
        else
        {
            output.IsAbstract = true;
            item.Children.Add(new FetchField(null, "__typename"));
            foreach (var possible in type.PossibleTypes)
            {
                var objectType = supergraph.Type(possible);
                var children = new List<FetchItem>();
                PlanObject(objectType, graph, fetch, children, [.. path, new PathSegment(key, possible)], selections, output,
                    provided, plan: objectType.Graphs.Contains(graph));
                if (children.Count > 0)
                {
                    item.Children.Add(new FetchFragment(possible, children));
                }
            }
        }
    }

    private void PlanObject(
        TypeDef type,
        string graph,
        FetchBuilder fetch,
        List<FetchItem> target,
        List<PathSegment> path,
        List<GraphQLSelectionSet> selections,
        OutputField output,
        GraphQLSelectionSet? provided,
        bool plan = true)
    {
        var collected = CollectFields(type, selections);
        var shape = new ObjectShape(type.Name);
        output.Selection![type.Name] = shape;
        var fields = new List<(FieldGroup, OutputField)>();
        foreach (var (key, group) in collected)
        {
            if (group.Name == "__typename")
            {
                shape.Fields.Add(new OutputField(key, group.Name, null, Location(group)));
                continue;
            }

            var field = NewOutputField(type, key, group);
            shape.Fields.Add(field);
            if (field.Denied is null)
            {
                fields.Add((group, field));
            }
        }

        if (!plan)
        {
            return;
        }

        PlanLevel(type, graph, fetch, target, path, fields, new HashSet<string>(collected.Select(c => c.Key), StringComparer.Ordinal), provided);
        if (target.Count == 0 && !output.IsAbstract)
        {
            // A selection set cannot be empty; this one had only __typename or fields the caller may not see.
            target.Add(new FetchField(null, "__typename"));
        }
    }

    private OutputField NewOutputField(TypeDef type, string key, FieldGroup group)
    {
        var field = type.Fields.GetValueOrDefault(group.Name)
            ?? throw new QueryPlanningException($"The type {type.Name} has no field {group.Name}.");
        var output = new OutputField(key, field.Name, field.Type, Location(group)) { ParentType = type.Name };
        if (field.Auth is not null)
        {
            output.Denied = authorize(field.Auth);
        }

        return output;
    }

    /// <summary>
    /// Adds a field that the engine needs (an entity key or a required field) to <paramref name="target"/>, under its
    /// own name when that is free, else under an internal alias; returns the response key it will have.
    /// </summary>
    private static string EnsureInternalField(List<FetchItem> target, HashSet<string> levelKeys, GraphQLField field)
    {
        var name = field.Name.StringValue;
        if (field.SelectionSet is null)
        {
            var existing = target.OfType<FetchField>().FirstOrDefault(f => f.ResponseKey == name);
            if (existing is { Alias: null, Arguments: null, Children: null })
            {
                return name;
            }

            if (existing is null && !levelKeys.Contains(name))
            {
                target.Add(new FetchField(null, name));
                return name;
            }
        }

        var alias = "__key_" + name;
        while (levelKeys.Contains(alias))
        {
            alias = "_" + alias;
        }

        if (!target.OfType<FetchField>().Any(f => f.ResponseKey == alias))
        {
            target.Add(new FetchField(alias, name) { Children = ToItems(field.SelectionSet) });
        }

        return alias;
    }

    private static List<FetchItem>? ToItems(GraphQLSelectionSet? selectionSet) =>
        selectionSet?.Selections.OfType<GraphQLField>()
            .Select(f => (FetchItem)new FetchField(null, f.Name.StringValue) { Children = ToItems(f.SelectionSet) })
            .ToList();

    private FetchBuilder NewFetch(string graph, OperationType type, string? entityType)
    {
        var fetch = new FetchBuilder(graph, type, entityType);
        _fetches.Add(fetch);
        return fetch;
    }
    private (int Line, int Column)? Location(FieldGroup group) => _lines.Find(group.Nodes[0].Location);
    /// <summary>The fields of one response key (GraphQL spec: they merge).</summary>
    internal sealed class FieldGroup(string name)
    {
        public string Name { get; } = name;

        public List<GraphQLField> Nodes { get; } = [];
    }
    private sealed class EntityGroup(string graph, GraphQLSelectionSet key)
    {
        public string Graph { get; } = graph;

        public GraphQLSelectionSet Key { get; } = key;

        public List<(FieldGroup, OutputField)> ClientFields { get; } = [];

        /// <summary>Fields a sibling's <c>@requires</c> needs from this subgraph.</summary>
        public List<GraphQLField> InternalFields { get; } = [];

        public Dictionary<string, string> InternalKeys { get; } = new(StringComparer.Ordinal);

        /// <summary>Representation fields taken from the parent fetch: name and response key.</summary>
        public List<(string Name, string RawKey)> Representation { get; } = [];

        public List<(GraphQLField Field, EntityGroup Sibling)> FromSiblings { get; } = [];

        public FetchBuilder? Fetch { get; set; }

        public bool HasKey { get; set; }
    }
}
