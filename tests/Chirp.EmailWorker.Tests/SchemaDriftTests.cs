using Chirp.Testing;
using GraphQLParser;
using GraphQLParser.AST;
using GraphQLParser.Visitors;

namespace Chirp.EmailWorker.Tests;

/// <summary>The served SDL (<c>_service { sdl }</c>) and <c>schema/notifications.graphql</c> describe the same subgraph.</summary>
public sealed class SchemaDriftTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task ServedSdlMatchesTheCheckedInNotificationsSchema()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var (status, body) = await h.GraphQLAsync("{ _service { sdl } }");
        Assert.Equal(200, status);
        var served = body["data"]!["_service"]!["sdl"]!.GetValue<string>();
        var file = await File.ReadAllTextAsync(RepoPaths.Combine("schema", "notifications.graphql"));

        Assert.Equal(Normalise(file), Normalise(served));
        Assert.Contains("""@requiresScopes(scopes: [["email:manage"]])""", served, StringComparison.Ordinal);
    }

    [Fact]
    public void NormalisedSchemaSeesAChangedDirectiveArgument()
    {
        const string a = """type Mutation { x: Int @requiresScopes(scopes: [["email:manage"]]) }""";
        const string b = """type Mutation { x: Int @requiresScopes(scopes: [["tweets:write"]]) }""";

        Assert.NotEqual(Normalise(a), Normalise(b));
        Assert.Equal(Normalise(a), Normalise("type Mutation {\n  x: Int\n    @requiresScopes(scopes: [[\"email:manage\"]])\n}"));
    }

    /// <summary>
    /// One line per type, field, argument, input field and applied directive (with printed argument values) plus
    /// the federation <c>@link</c> imports, sorted; federation plumbing that GraphQL.NET adds to the served SDL
    /// (<c>_service</c>, <c>_entities</c>, <c>_Any</c>, <c>_Entity</c>, <c>_Service</c>, the link/v1.0 link, an
    /// otherwise empty <c>Query</c>) is left out.
    /// </summary>
    private static List<string> Normalise(string sdl)
    {
        var printer = new SDLPrinter();
        string Print(ASTNode node) => printer.Print(node).Trim();
        string Directives(ASTNode node) =>
            string.Join(" ", ((node as IHasDirectivesNode)?.Directives?.Items ?? []).Select(Print).Order(StringComparer.Ordinal));

        var lines = new List<string>();
        var document = Parser.Parse(sdl, new ParserOptions { Ignore = IgnoreOptions.All });
        foreach (var definition in document.Definitions)
        {
            switch (definition)
            {
                case GraphQLSchemaExtension or GraphQLSchemaDefinition:
                    foreach (var link in ((IHasDirectivesNode)definition).Directives?.Items ?? [])
                    {
                        var url = link.Arguments?.Items.FirstOrDefault(a => a.Name.StringValue == "url")?.Value is GraphQLStringValue s ? (string)s.Value : "";
                        if (link.Name.StringValue == "link" && url.Contains("/federation/", StringComparison.Ordinal))
                        {
                            var imports = link.Arguments!.Items.FirstOrDefault(a => a.Name.StringValue == "import")?.Value as GraphQLListValue;
                            lines.Add($"link {url} " + string.Join(",", (imports?.Values ?? []).Select(Print).Order(StringComparer.Ordinal)));
                        }
                    }

                    break;
                case GraphQLTypeDefinition type when type.Name.StringValue.StartsWith('_') || type.Name.StringValue.Contains("__", StringComparison.Ordinal):
                    break;
                case GraphQLTypeDefinition type:
                    var name = type.Name.StringValue;
                    var fields = type switch
                    {
                        GraphQLObjectTypeDefinition o => (o.Fields?.Items ?? []).Where(f => !f.Name.StringValue.StartsWith('_')).Select(f => (Node: (ASTNode)f, f.Name, Type: Print(f.Type), Args: f.Arguments?.Items ?? [], (ASTNode)f)).ToList(),
                        GraphQLInputObjectTypeDefinition i => (i.Fields?.Items ?? []).Select(f => (Node: (ASTNode)f, f.Name, Type: Print(f.Type) + (f.DefaultValue is null ? "" : " = " + Print(f.DefaultValue)), Args: new List<GraphQLInputValueDefinition>(), (ASTNode)f)).ToList(),
                        _ => [],
                    };
                    if (name == "Query" && fields.Count == 0)
                    {
                        break;
                    }

                    lines.Add($"{type.Kind} {name} {Directives(type)}".TrimEnd());
                    foreach (var (_, fieldName, fieldType, args, directives) in fields)
                    {
                        lines.Add($"{name}.{fieldName.StringValue}: {fieldType} {Directives(directives)}".TrimEnd());
                        foreach (var arg in args)
                        {
                            lines.Add($"{name}.{fieldName.StringValue}({arg.Name.StringValue}: {Print(arg.Type)}{(arg.DefaultValue is null ? "" : " = " + Print(arg.DefaultValue))}) {Directives(arg)}".TrimEnd());
                        }
                    }

                    break;
                default:
                    lines.Add(Print(definition));
                    break;
            }
        }

        lines.Sort(StringComparer.Ordinal);
        return lines;
    }
}
