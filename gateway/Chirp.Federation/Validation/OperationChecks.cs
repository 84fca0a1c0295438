using System.Text.Json.Nodes;
using Chirp.Federation.Planning;
using Chirp.Federation.Schema;
using GraphQLParser.AST;

namespace Chirp.Federation.Validation;

/// <summary>
/// Checks a selected operation needs beyond GraphQL.NET's rules, all on the document alone (so the answer is cached
/// with it): the <see cref="FederationLimits"/>, the existence of the operation's root type, and that every variable is
/// used where its type is allowed (GraphQL spec section 5.8.5, All Variable Usages Are Allowed).
/// </summary>
internal static class OperationChecks
{
    // Fragments spread several times multiply: a document of a few hundred bytes can expand to billions of fields.
    private const int MaxFieldVisits = 100_000;

    /// <summary>
    /// The limit errors of <paramref name="operation"/>, or none. Runs before any other validation: a fragment cycle
    /// (an invalid document that validation reports) stops the walk instead of looping.
    /// </summary>
    public static List<JsonObject> CheckLimits(GraphQLDocument document, GraphQLOperationDefinition operation, FederationLimits limits, SourceLines lines)
    {
        var fragments = Fragments(document);
        var depth = 0;
        var aliases = 0;
        var rootFields = 0;
        var visits = 0;
        var onPath = new HashSet<string>(StringComparer.Ordinal);
        Walk(operation.SelectionSet, 1);
        var errors = new List<JsonObject>();
        if (visits > MaxFieldVisits)
        {
            errors.Add(Error($"The operation expands to more than {MaxFieldVisits} fields through its fragments.", operation, lines));
        }

        if (depth > limits.MaxDepth)
        {
            errors.Add(Error($"The operation is nested {depth} fields deep; the gateway allows a depth of {limits.MaxDepth}.", operation, lines));
        }

        if (aliases > limits.MaxAliases)
        {
            errors.Add(Error($"The operation uses {aliases} aliases; the gateway allows {limits.MaxAliases}.", operation, lines));
        }

        if (rootFields > limits.MaxRootFields)
        {
            errors.Add(Error($"The operation selects {rootFields} root fields; the gateway allows {limits.MaxRootFields}.", operation, lines));
        }

        return errors;

        void Walk(GraphQLSelectionSet? set, int level)
        {
            foreach (var selection in set?.Selections ?? [])
            {
                switch (selection)
                {
                    case GraphQLField field:
                        if (++visits > MaxFieldVisits)
                        {
                            return;
                        }

                        depth = Math.Max(depth, level);
                        aliases += field.Alias is null ? 0 : 1;
                        rootFields += level == 1 ? 1 : 0;
                        // Counting stops at the first limit exceeded: the walk of a huge document stays short.
                        if (depth <= limits.MaxDepth && aliases <= limits.MaxAliases && rootFields <= limits.MaxRootFields)
                        {
                            Walk(field.SelectionSet, level + 1);
                        }

                        break;
                    case GraphQLInlineFragment inline:
                        Walk(inline.SelectionSet, level);
                        break;
                    case GraphQLFragmentSpread spread when fragments.TryGetValue(spread.FragmentName.Name.StringValue, out var fragment)
                        && onPath.Add(fragment.FragmentName.Name.StringValue):
                        Walk(fragment.SelectionSet, level);
                        onPath.Remove(fragment.FragmentName.Name.StringValue);
                        break;
                }
            }
        }
    }

    /// <summary>
    /// The schema errors of an operation that GraphQL.NET's rules let through: an operation type the schema has no
    /// root type for (GraphQL spec section 5.2.1, Operation Type Existence), and variables used where their type is
    /// not allowed (section 5.8.5). Runs on a document that GraphQL.NET found valid otherwise.
    /// </summary>
    public static List<JsonObject> CheckSchema(Supergraph supergraph, GraphQLDocument document, GraphQLOperationDefinition operation, SourceLines lines)
    {
        var errors = new List<JsonObject>();
        var rootName = supergraph.RootTypeName(operation.Operation);
        if (rootName is null || !supergraph.Types.ContainsKey(rootName))
        {
            var kind = operation.Operation.ToString().ToLowerInvariant();
            errors.Add(Error($"The schema has no {kind} type, so it takes no {kind} operations.", operation, lines));
            return errors;
        }

        var definitions = (operation.Variables?.Items ?? []).ToDictionary(v => v.Variable.Name.StringValue, StringComparer.Ordinal);
        var fragments = Fragments(document);
        var visited = new HashSet<string>(StringComparer.Ordinal);
        Walk(operation.SelectionSet, supergraph.Types[rootName]);
        return errors;

        void Walk(GraphQLSelectionSet? set, TypeDef parent)
        {
            foreach (var selection in set?.Selections ?? [])
            {
                CheckDirectives((selection as IHasDirectivesNode)?.Directives);
                switch (selection)
                {
                    case GraphQLField field:
                        if (!parent.Fields.TryGetValue(field.Name.StringValue, out var definition))
                        {
                            // __typename, or a field GraphQL.NET reported already.
                            break;
                        }

                        foreach (var argument in field.Arguments?.Items ?? [])
                        {
                            if (definition.Arguments.TryGetValue(argument.Name.StringValue, out var input))
                            {
                                CheckValue(argument.Value, input.Type, input.DefaultValue is not null);
                            }
                        }

                        if (field.SelectionSet is not null && supergraph.Types.TryGetValue(definition.NamedType, out var fieldType))
                        {
                            Walk(field.SelectionSet, fieldType);
                        }

                        break;
                    case GraphQLInlineFragment inline:
                        Walk(inline.SelectionSet, inline.TypeCondition is { } condition && supergraph.Types.TryGetValue(condition.Type.Name.StringValue, out var narrowed) ? narrowed : parent);
                        break;
                    case GraphQLFragmentSpread spread when fragments.TryGetValue(spread.FragmentName.Name.StringValue, out var fragment)
                        && visited.Add(fragment.FragmentName.Name.StringValue)
                        && supergraph.Types.TryGetValue(fragment.TypeCondition.Type.Name.StringValue, out var fragmentType):
                        Walk(fragment.SelectionSet, fragmentType);
                        break;
                }
            }
        }

        void CheckDirectives(GraphQLDirectives? directives)
        {
            foreach (var directive in directives?.Items ?? [])
            {
                if (directive.Name.StringValue is "skip" or "include")
                {
                    foreach (var argument in directive.Arguments?.Items ?? [])
                    {
                        CheckValue(argument.Value, new GraphQLNonNullType(new GraphQLNamedType(new GraphQLName("Boolean"))), false);
                    }
                }
            }
        }

        void CheckValue(GraphQLValue value, GraphQLType expected, bool locationHasDefault)
        {
            switch (value)
            {
                case GraphQLVariable variable when definitions.TryGetValue(variable.Name.StringValue, out var declared):
                    if (!IsAllowed(declared, expected, locationHasDefault))
                    {
                        errors.Add(Error(
                            $"Variable '${variable.Name.StringValue}' of type '{Print(declared.Type)}' is used in a position expecting '{Print(expected)}'.",
                            variable, lines));
                    }

                    break;
                case GraphQLListValue list:
                    var itemType = (expected is GraphQLNonNullType n ? n.Type : expected) is GraphQLListType l ? l.Type : expected;
                    foreach (var item in list.Values ?? [])
                    {
                        CheckValue(item, itemType, false);
                    }

                    break;
                case GraphQLObjectValue obj when supergraph.Types.TryGetValue(FieldDef.Unwrap(expected), out var inputType):
                    foreach (var field in obj.Fields ?? [])
                    {
                        if (inputType.InputFields.TryGetValue(field.Name.StringValue, out var inputField))
                        {
                            CheckValue(field.Value, inputField.Type, inputField.DefaultValue is not null);
                        }
                    }

                    break;
            }
        }
    }

    /// <summary>IsVariableUsageAllowed of spec section 5.8.5.</summary>
    private static bool IsAllowed(GraphQLVariableDefinition variable, GraphQLType location, bool locationHasDefault)
    {
        if (location is GraphQLNonNullType nonNullLocation && variable.Type is not GraphQLNonNullType)
        {
            var hasNonNullDefault = variable.DefaultValue is not null and not GraphQLNullValue;
            return (hasNonNullDefault || locationHasDefault) && AreTypesCompatible(variable.Type, nonNullLocation.Type);
        }

        return AreTypesCompatible(variable.Type, location);
    }

    /// <summary>AreTypesCompatible of spec section 5.8.5.</summary>
    private static bool AreTypesCompatible(GraphQLType variable, GraphQLType location) => (variable, location) switch
    {
        (GraphQLNonNullType v, GraphQLNonNullType l) => AreTypesCompatible(v.Type, l.Type),
        (_, GraphQLNonNullType) => false,
        (GraphQLNonNullType v, _) => AreTypesCompatible(v.Type, location),
        (GraphQLListType v, GraphQLListType l) => AreTypesCompatible(v.Type, l.Type),
        (_, GraphQLListType) or (GraphQLListType, _) => false,
        (GraphQLNamedType v, GraphQLNamedType l) => v.Name.StringValue == l.Name.StringValue,
        _ => false,
    };

    private static Dictionary<string, GraphQLFragmentDefinition> Fragments(GraphQLDocument document)
    {
        var fragments = new Dictionary<string, GraphQLFragmentDefinition>(StringComparer.Ordinal);
        foreach (var fragment in document.Definitions.OfType<GraphQLFragmentDefinition>())
        {
            fragments.TryAdd(fragment.FragmentName.Name.StringValue, fragment);
        }

        return fragments;
    }

    private static JsonObject Error(string message, ASTNode at, SourceLines lines)
    {
        var error = new JsonObject { ["message"] = message };
        if (lines.Find(at.Location) is { } location)
        {
            error["locations"] = new JsonArray(new JsonObject { ["line"] = location.Line, ["column"] = location.Column });
        }

        error["extensions"] = new JsonObject { ["code"] = RequestErrorCodes.ValidationFailed };
        return error;
    }

    private static string Print(GraphQLType type) => type switch
    {
        GraphQLNonNullType n => Print(n.Type) + "!",
        GraphQLListType l => "[" + Print(l.Type) + "]",
        GraphQLNamedType named => named.Name.StringValue,
        _ => "?",
    };
}
