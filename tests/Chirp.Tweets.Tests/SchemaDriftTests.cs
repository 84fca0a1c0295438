using System.Text;
using Chirp.Testing;
using GraphQLParser;
using GraphQLParser.AST;

namespace Chirp.Tweets.Tests;

/// <summary>The served SDL (<c>{ _service { sdl } }</c>) and <c>schema/tweets.graphql</c> describe the same subgraph.</summary>
[Collection(TweetsCollection.Name)]
public sealed class SchemaDriftTests(TweetsServers servers)
{
    [Fact]
    public async Task ServedSdlMatchesTheCheckedInSchemaFile()
    {
        var response = await servers.GraphQLAsync("{ _service { sdl } }");
        var served = response.Data("_service", "sdl");
        var file = await File.ReadAllTextAsync(RepoPaths.Combine("schema", "tweets.graphql"));

        Assert.Equal(SchemaShape.Of(file), SchemaShape.Of(served));
    }

    [Fact]
    public void TheShapeSeesADroppedDirectiveOrChangedDefault()
    {
        const string a = "type Query { f(first: Int = 20): String @authenticated }";
        Assert.NotEqual(SchemaShape.Of(a), SchemaShape.Of("type Query { f(first: Int = 20): String }"));
        Assert.NotEqual(SchemaShape.Of(a), SchemaShape.Of("type Query { f(first: Int = 10): String @authenticated }"));
        Assert.Equal(SchemaShape.Of(a), SchemaShape.Of("\"doc\" type Query {\n  f(first: Int = 20): String @authenticated\n}"));
    }
}

/// <summary>
/// A schema reduced to a sorted list of lines: types with their kind and directives, fields with their types and
/// directives, arguments with types and defaults, union members, enum values, and federation <c>@link</c> imports.
/// Descriptions, order and whitespace do not count; nor do federation plumbing (<c>_service</c>, <c>_entities</c>,
/// <c>_Any</c>, ...) and directive definitions, which GraphQL.NET prints and the checked-in file leaves out.
/// </summary>
public static class SchemaShape
{
    public static IReadOnlyList<string> Of(string sdl)
    {
        var document = Parser.Parse(sdl, new ParserOptions { Ignore = IgnoreOptions.All });
        var lines = new List<string>();
        foreach (var definition in document.Definitions)
        {
            switch (definition)
            {
                case GraphQLSchemaDefinition s:
                    AddLinks(lines, s.Directives);
                    break;
                case GraphQLSchemaExtension s:
                    AddLinks(lines, s.Directives);
                    break;
                case GraphQLTypeDefinition t when !t.Name.StringValue.StartsWith('_'):
                    AddType(lines, t);
                    break;
            }
        }

        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private static void AddLinks(List<string> lines, GraphQLDirectives? directives)
    {
        foreach (var link in directives?.Items.Where(d => d.Name.StringValue == "link") ?? [])
        {
            var url = Value(link.Arguments?.Items.First(a => a.Name.StringValue == "url").Value);
            if (url.Contains("specs.apollo.dev/link/", StringComparison.Ordinal))
            {
                continue;
            }

            var imports = link.Arguments?.Items.FirstOrDefault(a => a.Name.StringValue == "import")?.Value is GraphQLListValue list
                ? (list.Values?.Select(Value) ?? []).Order(StringComparer.Ordinal).ToList()
                : [];
            lines.Add($"link {url} import [{string.Join(", ", imports)}]");
        }
    }

    private static void AddType(List<string> lines, GraphQLTypeDefinition type)
    {
        var name = type.Name.StringValue;
        var kind = type switch
        {
            GraphQLObjectTypeDefinition => "type",
            GraphQLInterfaceTypeDefinition => "interface",
            GraphQLInputObjectTypeDefinition => "input",
            GraphQLScalarTypeDefinition => "scalar",
            GraphQLUnionTypeDefinition => "union",
            GraphQLEnumTypeDefinition => "enum",
            _ => type.Kind.ToString(),
        };
        lines.Add($"{kind} {name}{Directives((type as IHasDirectivesNode)?.Directives)}");

        switch (type)
        {
            case GraphQLObjectTypeDefinition o:
                AddFields(lines, name, o.Fields);
                foreach (var i in o.Interfaces?.Items ?? [])
                {
                    lines.Add($"{name} implements {i.Name.StringValue}");
                }

                break;
            case GraphQLInterfaceTypeDefinition i:
                AddFields(lines, name, i.Fields);
                break;
            case GraphQLInputObjectTypeDefinition input:
                foreach (var f in input.Fields?.Items ?? [])
                {
                    lines.Add($"{name}.{f.Name.StringValue}: {TypeName(f.Type)}{Default(f.DefaultValue)}{Directives(f.Directives)}");
                }

                break;
            case GraphQLUnionTypeDefinition u:
                foreach (var member in u.Types?.Items ?? [])
                {
                    lines.Add($"{name} member {member.Name.StringValue}");
                }

                break;
            case GraphQLEnumTypeDefinition e:
                foreach (var value in e.Values?.Items ?? [])
                {
                    lines.Add($"{name}.{value.Name.StringValue}{Directives(value.Directives)}");
                }

                break;
        }
    }

    private static void AddFields(List<string> lines, string typeName, GraphQLFieldsDefinition? fields)
    {
        foreach (var field in fields?.Items ?? [])
        {
            var fieldName = field.Name.StringValue;
            if (fieldName.StartsWith('_'))
            {
                continue;
            }

            lines.Add($"{typeName}.{fieldName}: {TypeName(field.Type)}{Directives(field.Directives)}");
            foreach (var arg in field.Arguments?.Items ?? [])
            {
                lines.Add($"{typeName}.{fieldName}({arg.Name.StringValue}: {TypeName(arg.Type)}{Default(arg.DefaultValue)}){Directives(arg.Directives)}");
            }
        }
    }

    private static string Default(GraphQLValue? value) => value is null ? "" : " = " + Value(value);

    private static string Directives(GraphQLDirectives? directives)
    {
        if (directives is null || directives.Items.Count == 0)
        {
            return "";
        }

        var sb = new StringBuilder();
        foreach (var d in directives.Items.OrderBy(d => d.Name.StringValue, StringComparer.Ordinal))
        {
            sb.Append(" @").Append(d.Name.StringValue);
            var args = d.Arguments?.Items ?? [];
            if (args.Count > 0)
            {
                sb.Append('(')
                    .Append(string.Join(", ", args.OrderBy(a => a.Name.StringValue, StringComparer.Ordinal).Select(a => $"{a.Name.StringValue}: {Value(a.Value)}")))
                    .Append(')');
            }
        }

        return sb.ToString();
    }

    private static string TypeName(GraphQLType type) => type switch
    {
        GraphQLNonNullType n => TypeName(n.Type) + "!",
        GraphQLListType l => "[" + TypeName(l.Type) + "]",
        GraphQLNamedType n => n.Name.StringValue,
        _ => type.Kind.ToString(),
    };

    private static string Value(GraphQLValue? value) => value switch
    {
        null => "",
        GraphQLStringValue s => "\"" + s.Value.ToString() + "\"",
        GraphQLIntValue i => i.Value.ToString(),
        GraphQLFloatValue f => f.Value.ToString(),
        GraphQLBooleanValue b => b.Value.ToString(),
        GraphQLEnumValue e => e.Name.StringValue,
        GraphQLNullValue => "null",
        GraphQLListValue l => "[" + string.Join(", ", l.Values?.Select(Value) ?? []) + "]",
        GraphQLObjectValue o => "{" + string.Join(", ", o.Fields?.OrderBy(f => f.Name.StringValue, StringComparer.Ordinal).Select(f => $"{f.Name.StringValue}: {Value(f.Value)}") ?? []) + "}",
        _ => value.Kind.ToString(),
    };
}
