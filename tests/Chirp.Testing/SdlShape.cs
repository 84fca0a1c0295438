using GraphQLParser;
using GraphQLParser.AST;
using GraphQLParser.Visitors;

namespace Chirp.Testing;

/// <summary>
/// Reduces an SDL document to the set of facts that matter for a subgraph contract: types and their kinds,
/// fields with their types, arguments with types and defaults, input fields, enum values, union members,
/// interfaces, applied directives with their arguments, directive definitions and the federation <c>@link</c>
/// imports. Whitespace, order, descriptions and comments do not count, nor do the federation plumbing types
/// (<c>_Any</c>, <c>_Entity</c>, <c>_Service</c>, <c>Query._service</c>, <c>Query._entities</c>, a <c>Query</c> that
/// holds nothing else, namespaced <c>federation__*</c>/<c>link__*</c> definitions) that GraphQL.NET prints, nor the
/// <c>@link</c> to the link spec itself. Used by every subgraph's drift test against <c>schema/&lt;name&gt;.graphql</c>.
/// </summary>
public static class SdlShape
{
    /// <summary>The facts of <paramref name="sdl"/>, one string each.</summary>
    public static SortedSet<string> Of(string sdl)
    {
        var document = Parser.Parse(sdl, new ParserOptions { Ignore = IgnoreOptions.All });
        var facts = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var definition in document.Definitions)
        {
            switch (definition)
            {
                case GraphQLSchemaDefinition schema:
                    AddSchema(facts, schema.Directives, schema.OperationTypes);
                    break;
                case GraphQLSchemaExtension schema:
                    AddSchema(facts, schema.Directives, schema.OperationTypes);
                    break;
                case GraphQLDirectiveDefinition directive when IsPlumbing(directive.Name.StringValue):
                    break;
                case GraphQLDirectiveDefinition directive:
                    facts.Add($"directive @{directive.Name.StringValue}{Arguments(directive.Arguments)}{(directive.Repeatable ? " repeatable" : "")} on "
                        + string.Join(" | ", directive.Locations.Items.Select(l => l.ToString()).Order(StringComparer.Ordinal)));
                    break;
                case GraphQLObjectTypeDefinition { Name.StringValue: "Query" } query
                    when query.Fields is null || query.Fields.Items.All(f => f.Name.StringValue.StartsWith('_')):
                    break;
                case GraphQLTypeDefinition type when !IsPlumbing(type.Name.StringValue):
                    AddType(facts, type);
                    break;
                case GraphQLTypeExtension extension when !IsPlumbing(extension.Name.StringValue):
                    AddType(facts, extension);
                    break;
            }
        }

        return facts;
    }

    /// <summary>A readable list of the differences, or an empty string when the two documents agree.</summary>
    public static string Diff(string expectedSdl, string actualSdl)
    {
        var expected = Of(expectedSdl);
        var actual = Of(actualSdl);
        var missing = expected.Except(actual).Select(f => "- " + f);
        var extra = actual.Except(expected).Select(f => "+ " + f);
        return string.Join(Environment.NewLine, missing.Concat(extra));
    }

    private static bool IsPlumbing(string name) => name.StartsWith('_') || name.Contains("__", StringComparison.Ordinal);

    private static void AddSchema(SortedSet<string> facts, GraphQLDirectives? directives, List<GraphQLRootOperationTypeDefinition>? operationTypes)
    {
        foreach (var operationType in operationTypes ?? [])
        {
            var name = operationType.Type!.Name.StringValue;
            var defaultName = operationType.Operation switch
            {
                OperationType.Query => "Query",
                OperationType.Mutation => "Mutation",
                _ => "Subscription",
            };
            if (name != defaultName)
            {
                facts.Add($"schema {operationType.Operation}: {name}");
            }
        }

        foreach (var directive in directives?.Items ?? [])
        {
            if (directive.Name.StringValue != "link")
            {
                facts.Add("schema " + Directive(directive));
                continue;
            }

            var url = ((GraphQLStringValue)directive.Arguments!.Items.Single(a => a.Name.StringValue == "url").Value).Value.ToString();
            if (url.StartsWith("https://specs.apollo.dev/link/", StringComparison.Ordinal))
            {
                continue;
            }

            IEnumerable<string> imports = directive.Arguments.Items.FirstOrDefault(a => a.Name.StringValue == "import")?.Value is GraphQLListValue list
                ? list.Values!.Select(Print).Order(StringComparer.Ordinal)
                : [];
            facts.Add($"schema @link({url}, import: [{string.Join(", ", imports)}])");
        }
    }

    private static void AddType(SortedSet<string> facts, ASTNode type)
    {
        var (kind, name, directives) = type switch
        {
            GraphQLTypeDefinition d => (d.Kind.ToString().Replace("Definition", "", StringComparison.Ordinal), d.Name.StringValue, (d as IHasDirectivesNode)?.Directives),
            GraphQLTypeExtension e => (e.Kind.ToString().Replace("Extension", "", StringComparison.Ordinal), e.Name.StringValue, (e as IHasDirectivesNode)?.Directives),
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
        facts.Add($"{kind} {name}");
        foreach (var directive in directives?.Items ?? [])
        {
            facts.Add($"{name} {Directive(directive)}");
        }

        switch (type)
        {
            case IHasFieldsDefinitionNode { Fields: { } fields }:
                foreach (var field in fields.Items.Where(f => !f.Name.StringValue.StartsWith('_')))
                {
                    var path = $"{name}.{field.Name.StringValue}";
                    facts.Add($"{path}: {Print(field.Type)}");
                    foreach (var argument in field.Arguments?.Items ?? [])
                    {
                        facts.Add($"{path}({InputValue(argument)})");
                    }

                    foreach (var directive in field.Directives?.Items ?? [])
                    {
                        facts.Add($"{path} {Directive(directive)}");
                    }
                }

                break;
            case GraphQLInputObjectTypeDefinition or GraphQLInputObjectTypeExtension:
                var inputFields = (type as GraphQLInputObjectTypeDefinition)?.Fields ?? ((GraphQLInputObjectTypeExtension)type).Fields;
                foreach (var field in inputFields?.Items ?? [])
                {
                    facts.Add($"{name}.{InputValue(field)}");
                }

                break;
            case GraphQLEnumTypeDefinition or GraphQLEnumTypeExtension:
                var values = (type as GraphQLEnumTypeDefinition)?.Values ?? ((GraphQLEnumTypeExtension)type).Values;
                foreach (var value in values?.Items ?? [])
                {
                    facts.Add($"{name}.{value.Name.StringValue}");
                }

                break;
            case GraphQLUnionTypeDefinition or GraphQLUnionTypeExtension:
                var members = (type as GraphQLUnionTypeDefinition)?.Types ?? ((GraphQLUnionTypeExtension)type).Types;
                foreach (var member in members?.Items ?? [])
                {
                    facts.Add($"{name} member {member.Name.StringValue}");
                }

                break;
        }

        if (type is IHasInterfacesNode { Interfaces: { } interfaces })
        {
            foreach (var implemented in interfaces.Items)
            {
                facts.Add($"{name} implements {implemented.Name.StringValue}");
            }
        }
    }

    private static string InputValue(GraphQLInputValueDefinition value)
    {
        var text = $"{value.Name.StringValue}: {Print(value.Type)}";
        if (value.DefaultValue is not null)
        {
            text += " = " + Print(value.DefaultValue);
        }

        foreach (var directive in value.Directives?.Items ?? [])
        {
            text += " " + Directive(directive);
        }

        return text;
    }

    private static string Arguments(GraphQLArgumentsDefinition? arguments) =>
        arguments is null || arguments.Items.Count == 0 ? "" : "(" + string.Join(", ", arguments.Items.Select(InputValue)) + ")";

    private static string Directive(GraphQLDirective directive) =>
        "@" + directive.Name.StringValue + (directive.Arguments is { Items.Count: > 0 } args
            ? "(" + string.Join(", ", args.Items.OrderBy(a => a.Name.StringValue, StringComparer.Ordinal).Select(a => $"{a.Name.StringValue}: {Print(a.Value)}")) + ")"
            : "");

    private static string Print(ASTNode node) => new SDLPrinter().Print(node);
}
