using GraphQLParser.AST;

namespace Chirp.Federation.Planning;

/// <summary>The variables and fragments a part of the document uses (GraphQL spec section 5.8.3, "All Variable Uses Defined").</summary>
internal sealed partial class QueryPlanner
{
    private void CollectUses(ASTNode? node, HashSet<string> variables, List<ASTNode> fragments, HashSet<string> seen)
    {
        switch (node)
        {
            case null:
                return;
            case GraphQLVariable variable:
                variables.Add(variable.Name.StringValue);
                return;
            case GraphQLFragmentSpread spread:
                CollectUses(spread.Directives, variables, fragments, seen);
                var name = spread.FragmentName.Name.StringValue;
                if (seen.Add(name) && _fragments.TryGetValue(name, out var fragment))
                {
                    fragments.Add(fragment);
                    CollectUses(fragment.SelectionSet, variables, fragments, seen);
                }

                return;
            case GraphQLField field:
                CollectUses(field.Arguments, variables, fragments, seen);
                CollectUses(field.Directives, variables, fragments, seen);
                CollectUses(field.SelectionSet, variables, fragments, seen);
                return;
            case GraphQLInlineFragment inline:
                CollectUses(inline.Directives, variables, fragments, seen);
                CollectUses(inline.SelectionSet, variables, fragments, seen);
                return;
            case GraphQLSelectionSet set:
                foreach (var selection in set.Selections)
                {
                    CollectUses(selection, variables, fragments, seen);
                }

                return;
            case GraphQLDirectives directives:
                foreach (var directive in directives.Items)
                {
                    CollectUses(directive.Arguments, variables, fragments, seen);
                }

                return;
            case GraphQLArguments arguments:
                foreach (var argument in arguments.Items)
                {
                    CollectUses(argument.Value, variables, fragments, seen);
                }

                return;
            case GraphQLListValue list:
                foreach (var value in list.Values ?? [])
                {
                    CollectUses(value, variables, fragments, seen);
                }

                return;
            case GraphQLObjectValue obj:
                foreach (var field in obj.Fields ?? [])
                {
                    CollectUses(field.Value, variables, fragments, seen);
                }

                return;
        }
    }
}
