using System.Text.Json.Nodes;
using GraphQL;
using GraphQL.Resolvers;
using GraphQL.SystemTextJson;
using GraphQL.Types;
using GraphQL.Validation;
using GraphQLParser;
using GraphQLParser.AST;
using GraphQLParser.Visitors;

namespace Chirp.Federation.Schema;

/// <summary>
/// The client-facing schema, built with GraphQL.NET from the API SDL. It validates client documents
/// (GraphQL spec section 5, GraphQL.NET's core rules) and answers introspection (section 4.2).
/// Its field resolvers are never used for data.
/// </summary>
internal sealed class ApiSchema
{
    // Directives that only the composition and the gateway read.
    private static readonly HashSet<string> MetadataDirectives = new(StringComparer.Ordinal)
    {
        "link", "authenticated", "requiresScopes", "policy", "inaccessible", "tag", "cost", "listSize", "context", "fromContext",
    };

    private readonly ISchema _schema;
    private readonly DocumentValidator _validator = new();
    private readonly DocumentExecuter _executer = new();
    private readonly GraphQLSerializer _serializer = new();

    public ApiSchema(string apiSdl)
    {
        // GraphQL.NET refuses a union or interface it cannot resolve at run time; this schema never resolves data (its
        // introspection types are concrete), so abstract types get a resolver that is never called.
        var abstractTypes = Parser.Parse(apiSdl, new ParserOptions { Ignore = IgnoreOptions.All }).Definitions
            .Where(d => d is GraphQLUnionTypeDefinition or GraphQLInterfaceTypeDefinition)
            .Select(d => ((GraphQLTypeDefinition)d).Name.StringValue)
            .ToList();
        var schema = global::GraphQL.Types.Schema.For(apiSdl, builder =>
        {
            foreach (var name in abstractTypes)
            {
                builder.Types.For(name).ResolveType = static _ => throw new NotSupportedException("The API schema resolves no data.");
            }
        });
        // Subscriptions are validated and introspected here but run through the planner, never through GraphQL.NET.
        foreach (var field in schema.Subscription?.Fields ?? [])
        {
            field.StreamResolver = new SourceStreamResolver<object>(static IObservable<object?> (_) => throw new NotSupportedException());
        }

        schema.Initialize();
        _schema = schema;
    }

    /// <summary>
    /// Validates <paramref name="document"/> against the API schema. Variable values are not looked at
    /// (they are coerced per request), so the answer depends on the document only and can be cached.
    /// </summary>
    /// <returns>The errors as GraphQL error objects; empty when the document is valid.</returns>
    public async Task<List<JsonObject>> ValidateAsync(GraphQLDocument document, GraphQLOperationDefinition operation)
    {
        var result = await _validator.ValidateAsync(new ValidationOptions
        {
            Schema = _schema,
            Document = document,
            Operation = operation,
            Variables = Inputs.Empty,
            Extensions = Inputs.Empty,
            UserContext = new Dictionary<string, object?>(),
            RequestServices = null,
            User = null,
            CancellationToken = CancellationToken.None,
        });
        var errors = new List<JsonObject>();
        if (result.IsValid)
        {
            return errors;
        }

        foreach (var error in result.Errors)
        {
            if (error is InvalidVariableError)
            {
                continue;
            }

            var json = new JsonObject { ["message"] = error.Message };
            if (error.Locations is { Count: > 0 } locations)
            {
                json["locations"] = new JsonArray([.. locations.Select(l => (JsonNode)new JsonObject { ["line"] = l.Line, ["column"] = l.Column })]);
            }

            json["extensions"] = new JsonObject { ["code"] = RequestErrorCodes.ValidationFailed };
            errors.Add(json);
        }

        return errors;
    }

    /// <summary>
    /// Runs an operation whose root fields are all introspection fields (<c>__schema</c>, <c>__type</c>,
    /// <c>__typename</c>).
    /// </summary>
    /// <returns>The response object, which has a <c>data</c> object; null when there is no data.</returns>
    public async Task<JsonObject?> ExecuteIntrospectionAsync(string query, JsonObject? variables, CancellationToken cancellationToken)
    {
        var result = await _executer.ExecuteAsync(new ExecutionOptions
        {
            Schema = _schema,
            Query = query,
            Variables = variables is null ? Inputs.Empty : _serializer.Deserialize<Inputs>(variables.ToJsonString()),
            CancellationToken = cancellationToken,
            ThrowOnUnhandledException = false,
        });
        var json = JsonNode.Parse(_serializer.Serialize(result))?.AsObject();
        return json?["data"] is JsonObject ? json : null;
    }

    /// <summary>
    /// The API schema of a supergraph: no join, link or security types and directives, no
    /// <c>@inaccessible</c> elements, no metadata directives on what remains.
    /// </summary>
    public static string PrintApiSdl(string supergraphSdl)
    {
        var document = Parser.Parse(supergraphSdl, new ParserOptions { Ignore = IgnoreOptions.All });
        var kept = new List<ASTNode>();
        foreach (var definition in document.Definitions)
        {
            switch (definition)
            {
                case GraphQLDirectiveDefinition directive when IsMetadataDirective(directive.Name.StringValue):
                    continue;
                case GraphQLTypeDefinition type when Supergraph.IsFederationName(type.Name.StringValue) || IsInaccessible((type as IHasDirectivesNode)?.Directives):
                    continue;
                case GraphQLSchemaDefinition schema:
                    schema.Directives = null;
                    schema.OperationTypes.RemoveAll(o => !document.Definitions.OfType<GraphQLTypeDefinition>().Any(t => t.Name.StringValue == o.Type?.Name.StringValue));
                    break;
                case GraphQLObjectTypeDefinition o:
                    o.Directives = Strip(o.Directives);
                    o.Fields = StripFields(o.Fields);
                    break;
                case GraphQLInterfaceTypeDefinition i:
                    i.Directives = Strip(i.Directives);
                    i.Fields = StripFields(i.Fields);
                    break;
                case GraphQLUnionTypeDefinition u:
                    u.Directives = Strip(u.Directives);
                    break;
                case GraphQLEnumTypeDefinition e:
                    e.Directives = Strip(e.Directives);
                    e.Values?.Items.RemoveAll(v => IsInaccessible(v.Directives));
                    foreach (var value in e.Values?.Items ?? [])
                    {
                        value.Directives = Strip(value.Directives);
                    }

                    break;
                case GraphQLInputObjectTypeDefinition input:
                    input.Directives = Strip(input.Directives);
                    input.Fields?.Items.RemoveAll(f => IsInaccessible(f.Directives));
                    foreach (var field in input.Fields?.Items ?? [])
                    {
                        field.Directives = Strip(field.Directives);
                    }

                    break;
                case GraphQLScalarTypeDefinition scalar:
                    scalar.Directives = Strip(scalar.Directives);
                    break;
            }

            kept.Add(definition);
        }

        return new SDLPrinter().Print(new GraphQLDocument(kept));
    }

    private static bool IsMetadataDirective(string name) => MetadataDirectives.Contains(name) || Supergraph.IsFederationName(name);

    private static bool IsInaccessible(GraphQLDirectives? directives) => Supergraph.Directives(directives, "inaccessible").Any();

    private static GraphQLDirectives? Strip(GraphQLDirectives? directives)
    {
        if (directives is null)
        {
            return null;
        }

        directives.Items.RemoveAll(d => IsMetadataDirective(d.Name.StringValue));
        return directives.Items.Count == 0 ? null : directives;
    }

    private static GraphQLFieldsDefinition? StripFields(GraphQLFieldsDefinition? fields)
    {
        if (fields is null)
        {
            return null;
        }

        fields.Items.RemoveAll(f => IsInaccessible(f.Directives));
        foreach (var field in fields.Items)
        {
            field.Directives = Strip(field.Directives);
            field.Arguments?.Items.RemoveAll(a => IsInaccessible(a.Directives));
            foreach (var argument in field.Arguments?.Items ?? [])
            {
                argument.Directives = Strip(argument.Directives);
            }
        }

        return fields;
    }
}
