using GraphQLParser.AST;
using GraphQLParser.Visitors;

namespace Chirp.Federation.Planning;

/// <summary>Introspection fields (GraphQL spec section 4.2): answered from the API schema in a document of their own.</summary>
internal sealed partial class QueryPlanner
{
    private FetchNode PlanIntrospection(List<GraphQLField> fields, SDLPrinter printer)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        var fragments = new List<ASTNode>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            CollectUses(field, used, fragments, seen);
        }

        var definition = new GraphQLOperationDefinition(new GraphQLSelectionSet([.. fields]))
        {
            Operation = OperationType.Query,
            Variables = used.Count == 0 ? null : new GraphQLVariablesDefinition([.. _variables.Values.Where(v => used.Contains(v.Variable.Name.StringValue))]),
        };
        var node = new FetchNode(-1, IntrospectionSubgraph)
        {
            Document = printer.Print(new GraphQLDocument([definition, .. fragments])),
            Variables = [.. _variables.Keys.Where(used.Contains)],
        };
        node.RootKeys.AddRange(fields.Select(f => (f.Alias?.Name ?? f.Name).StringValue).Distinct());
        return node;
    }
}
