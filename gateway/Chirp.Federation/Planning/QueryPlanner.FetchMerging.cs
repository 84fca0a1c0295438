using GraphQLParser.AST;
using GraphQLParser.Visitors;

namespace Chirp.Federation.Planning;

/// <summary>The plan's last step: fetch builders merged into subgraph calls and printed as subgraph documents.</summary>
internal sealed partial class QueryPlanner
{
    private QueryPlan Build(ObjectShape shape, List<GraphQLField> introspection)
    {
        var printer = new SDLPrinter();

        // Fetch merging: entity fetches to one subgraph at the same level of the plan become one call ("one call per
        // subgraph per level"), where a fetch's level is one more than its deepest dependency's. The call waits for
        // the union of their dependencies, all of a lower level, so merging never makes a cycle. Fetches with the same
        // selection share one batch of representations; a different selection gets its own aliased _entities field in
        // that call, so selections never mix.
        var calls = new List<Call>();
        var callOf = new Dictionary<FetchBuilder, Call>();
        foreach (var fetch in _fetches)
        {
            var dependsOn = fetch.DependsOn.Select(d => callOf[d]).Distinct().ToList();
            var level = dependsOn.Count == 0 ? 0 : dependsOn.Max(d => d.Level) + 1;
            var call = fetch.EntityType is null
                ? null
                : calls.FirstOrDefault(c => c.IsEntity && c.Subgraph == fetch.Subgraph && c.Level == level);
            if (call is null)
            {
                call = new Call(fetch, level);
                calls.Add(call);
            }

            foreach (var dependency in dependsOn)
            {
                if (!call.DependsOn.Contains(dependency))
                {
                    call.DependsOn.Add(dependency);
                }
            }

            callOf[fetch] = call;
            call.Variables.UnionWith(fetch.Variables);
            if (fetch.EntityType is not null)
            {
                var selection = fetch.PrintSelection(printer);
                var batch = call.Batches.FirstOrDefault(b => b.Selection == selection);
                if (batch.Selection is null)
                {
                    batch = (selection, []);
                    call.Batches.Add(batch);
                }

                batch.Locations.AddRange(fetch.Locations);
            }
        }

        // Dependencies first (a stable sort keeps the order of a mutation's serial root fetches).
        calls = [.. calls.OrderBy(c => c.Level)];

        var nodes = new List<FetchNode>();
        var nodeOf = new Dictionary<Call, FetchNode>();
        var prefix = operation.Name?.StringValue;
        foreach (var call in calls)
        {
            var node = new FetchNode(nodes.Count, call.Subgraph)
            {
                OperationName = prefix is null ? null : $"{prefix}__{Sanitize(call.Subgraph)}__{nodes.Count}",
                Variables = [.. _variables.Keys.Where(call.Variables.Contains)],
                DependsOn = [.. call.DependsOn.Select(d => nodeOf[d])],
            };
            var text = new System.Text.StringBuilder(call.IsEntity ? "query" : OperationKeyword(call.First.Operation));
            if (node.OperationName is not null)
            {
                text.Append(' ').Append(node.OperationName);
            }

            var variables = new System.Text.StringBuilder();
            var body = new System.Text.StringBuilder();
            if (call.IsEntity)
            {
                body.Append('{');
                for (var i = 0; i < call.Batches.Count; i++)
                {
                    var single = call.Batches.Count == 1;
                    var key = single ? "_entities" : $"_{i}";
                    var variable = single ? "representations" : $"representations{i}";
                    while (_variables.ContainsKey(variable))
                    {
                        variable = "_" + variable;
                    }

                    node.Batches.Add(new EntityBatch(key, variable, call.Batches[i].Locations));
                    variables.Append(",$").Append(variable).Append(":[_Any!]!");
                    body.Append(i == 0 ? "" : " ").Append(single ? "" : key + ":")
                        .Append("_entities(representations:$").Append(variable).Append(')').Append(call.Batches[i].Selection);
                }

                body.Append('}');
            }
            else
            {
                body.Append(call.First.PrintSelection(printer));
                node.RootKeys.AddRange(call.First.RootKeys);
            }

            call.First.Variables.Clear();
            call.First.Variables.UnionWith(call.Variables);
            call.First.PrintVariables(_variables, variables, printer);
            if (variables.Length > 0)
            {
                text.Append('(').Append(variables, 1, variables.Length - 1).Append(')');
            }

            node.Document = text.Append(body).ToString();
            nodes.Add(node);
            nodeOf[call] = node;
        }

        FetchNode? introspectionNode = null;
        if (introspection.Count > 0)
        {
            introspectionNode = PlanIntrospection(introspection, printer);
        }

        return new QueryPlan(operation.Operation, nodes, shape, introspectionNode);
    }
    private static string OperationKeyword(OperationType type) => type switch
    {
        OperationType.Mutation => "mutation",
        OperationType.Subscription => "subscription",
        _ => "query",
    };

    private static string Sanitize(string name) => new([.. name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_')]);
    /// <summary>One subgraph request: a root fetch, or the entity fetches that share a subgraph and dependencies.</summary>
    private sealed class Call(FetchBuilder first, int level)
    {
        public FetchBuilder First { get; } = first;

        /// <summary>0 for a fetch without dependencies, else one more than its deepest dependency's.</summary>
        public int Level { get; } = level;

        public string Subgraph => First.Subgraph;

        public bool IsEntity => First.EntityType is not null;

        public List<Call> DependsOn { get; } = [];

        public HashSet<string> Variables { get; } = new(StringComparer.Ordinal);

        public List<(string Selection, List<EntityLocation> Locations)> Batches { get; } = [];
    }
}
