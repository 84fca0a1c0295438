using Chirp.Federation.Schema;
using GraphQLParser.AST;

namespace Chirp.Federation.Planning;

/// <summary>Field collection (GraphQL spec section 6.3.2, CollectFields) with <c>@skip</c>/<c>@include</c> decided.</summary>
internal sealed partial class QueryPlanner
{
    /// <summary>CollectFields of GraphQL spec section 6.3.2, for a known object type.</summary>
    private List<(string Key, FieldGroup Group)> CollectFields(TypeDef objectType, IEnumerable<GraphQLSelectionSet> selectionSets)
    {
        var groups = new Dictionary<string, FieldGroup>(StringComparer.Ordinal);
        var order = new List<(string, FieldGroup)>();
        var visited = new HashSet<string>(StringComparer.Ordinal);
        foreach (var set in selectionSets)
        {
            Collect(set);
        }

        return order;

        void Collect(GraphQLSelectionSet set)
        {
            foreach (var selection in set.Selections)
            {
                switch (selection)
                {
                    case GraphQLField field when Included(field.Directives):
                        var key = (field.Alias?.Name ?? field.Name).StringValue;
                        if (!groups.TryGetValue(key, out var group))
                        {
                            groups[key] = group = new FieldGroup(field.Name.StringValue);
                            order.Add((key, group));
                        }

                        group.Nodes.Add(field);
                        break;
                    case GraphQLFragmentSpread spread when Included(spread.Directives):
                        var name = spread.FragmentName.Name.StringValue;
                        if (visited.Add(name) && _fragments.TryGetValue(name, out var fragment) && Applies(fragment.TypeCondition.Type.Name.StringValue, objectType))
                        {
                            Collect(fragment.SelectionSet);
                        }

                        break;
                    case GraphQLInlineFragment inline when Included(inline.Directives):
                        if (inline.TypeCondition is null || Applies(inline.TypeCondition.Type.Name.StringValue, objectType))
                        {
                            Collect(inline.SelectionSet);
                        }

                        break;
                }
            }
        }
    }

    private bool Applies(string typeCondition, TypeDef objectType) =>
        typeCondition == objectType.Name
        || (supergraph.Types.TryGetValue(typeCondition, out var condition) && condition.IsAbstract && condition.PossibleTypes.Contains(objectType.Name));

    private bool Included(GraphQLDirectives? directives)
    {
        if (directives is null)
        {
            return true;
        }

        foreach (var directive in directives.Items)
        {
            var name = directive.Name.StringValue;
            if (name is not ("skip" or "include"))
            {
                continue;
            }

            var value = directive.Arguments?.Items.FirstOrDefault(a => a.Name.StringValue == "if")?.Value;
            var condition = value switch
            {
                GraphQLBooleanValue b => b.BoolValue,
                GraphQLVariable v => conditions.GetValueOrDefault(v.Name.StringValue),
                _ => false,
            };
            if (name == "skip" ? condition : !condition)
            {
                return false;
            }
        }

        return true;
    }
}
