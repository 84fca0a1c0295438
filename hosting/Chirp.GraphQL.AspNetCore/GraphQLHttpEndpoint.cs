using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using GraphQLParser;
using GraphQLParser.AST;
using GraphQLParser.Exceptions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Chirp.GraphQL.AspNetCore;

/// <summary>Limits of the GraphQL HTTP transport.</summary>
public sealed class GraphQLHttpOptions
{
    /// <summary>Largest request body accepted, in bytes; larger bodies get 413.</summary>
    public long MaxRequestBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// Most field selections one document may make, counting each fragment spread as often as it is used; larger
    /// documents get 422 before anything runs, so a small body cannot ask for unbounded work (aliases, fragments).
    /// </summary>
    public int MaxFieldSelections { get; set; } = 2000;
}

/// <summary>
/// GraphQL over HTTP, following the GraphQL-over-HTTP draft (commit e1e46e7): <c>POST</c> with
/// <c>application/json</c> and <c>GET</c> with query parameters. Status codes: 200 data without errors, 294
/// data with errors, 400 unparsable JSON or document, 405 (+ <c>Allow</c>) mutations over GET, 406 no acceptable
/// media type, 413 body too large, 415 unsupported content type, 422 malformed request, validation or variable
/// coercion failure.
/// </summary>
public static class GraphQLHttpEndpoint
{
    /// <summary>The GraphQL response media type (GraphQL-over-HTTP section "Media Types").</summary>
    public const string GraphQLResponseMediaType = "application/graphql-response+json";

    /// <summary>Status code for a response that carries data and errors ("partial success").</summary>
    public const int StatusPartialSuccess = 294;

    /// <summary>
    /// Maps every GraphQL transport at <paramref name="pattern"/> to the registered <see cref="IGraphQLExecutor"/>:
    /// GraphQL over HTTP (GET and POST), GraphQL over SSE (<c>Accept: text/event-stream</c>, see
    /// <see cref="GraphQLSse"/>) and graphql-transport-ws (a WebSocket upgrade, see <see cref="GraphQLWebSocket"/>).
    /// Also adds ASP.NET's WebSocket middleware, which must run before the endpoint.
    /// </summary>
    public static IEndpointConventionBuilder MapGraphQLHttp(this IEndpointRouteBuilder endpoints, string pattern = "/graphql")
    {
        if (endpoints is IApplicationBuilder app)
        {
            app.UseWebSockets();
        }

        return endpoints.MapMethods(pattern, [HttpMethods.Get, HttpMethods.Post], HandleAsync);
    }

    /// <summary>Handles one GraphQL request on any transport.</summary>
    public static async Task HandleAsync(HttpContext context)
    {
        if (context.WebSockets.IsWebSocketRequest)
        {
            await GraphQLWebSocket.HandleAsync(context);
            return;
        }

        var options = context.RequestServices.GetService<Microsoft.Extensions.Options.IOptions<GraphQLHttpOptions>>()?.Value ?? new GraphQLHttpOptions();
        var eventStream = GraphQLSse.IsRequested(context.Request);

        // Request errors of an SSE request are answered before any stream starts, as plain JSON.
        var mediaType = eventStream ? "application/json" : NegotiateMediaType(context.Request);
        if (mediaType is null)
        {
            await WriteProblemAsync(context, StatusCodes.Status406NotAcceptable, $"Accept must allow {GraphQLResponseMediaType}, application/json or text/event-stream.");
            return;
        }

        var isGet = HttpMethods.IsGet(context.Request.Method);
        var (request, status, message) = isGet ? ReadGet(context.Request) : await ReadPostAsync(context.Request, options.MaxRequestBytes, context.RequestAborted);
        if (request is null)
        {
            if (status is StatusCodes.Status415UnsupportedMediaType or StatusCodes.Status413PayloadTooLarge)
            {
                await WriteProblemAsync(context, status, message!);
            }
            else
            {
                await WriteResultAsync(context, mediaType, status, GraphQLResult.RequestError(GraphQLRequestFailure.None, message!, ErrorCodes.BadUserInput));
            }

            return;
        }

        var refusal = GraphQLDocuments.TryParse(request.Query, options.MaxFieldSelections, out var document, out var refusalStatus);
        if (refusal is not null)
        {
            await WriteResultAsync(context, mediaType, refusalStatus, refusal);
            return;
        }

        var operation = GraphQLOperations.Select(document!, request.OperationName);
        if (isGet && operation?.Operation == OperationType.Mutation)
        {
            context.Response.Headers.Allow = "POST";
            await WriteResultAsync(context, mediaType, StatusCodes.Status405MethodNotAllowed,
                GraphQLResult.RequestError(GraphQLRequestFailure.None, "A mutation cannot be sent with GET; use POST.", ErrorCodes.BadUserInput));
            return;
        }

        if (operation?.Operation == OperationType.Subscription && !eventStream)
        {
            // A subscription's response is a stream, which neither JSON media type can carry.
            await WriteResultAsync(context, mediaType, StatusCodes.Status406NotAcceptable,
                GraphQLResult.RequestError(GraphQLRequestFailure.None,
                    "A subscription needs a WebSocket (graphql-transport-ws) or Accept: text/event-stream.", ErrorCodes.BadUserInput));
            return;
        }

        var executor = context.RequestServices.GetRequiredService<IGraphQLExecutor>();
        var result = await executor.ExecuteAsync(
            new GraphQLExecutionRequest { Request = request, Document = document!, Operation = operation, User = context.User, HttpContext = context },
            context.RequestAborted);

        if (eventStream && (result.Stream is not null || result.HasData))
        {
            await GraphQLSse.WriteStreamAsync(context, result);
            return;
        }

        if (result.Stream is not null)
        {
            // Only reachable when the operation type could not be told before execution; nothing was subscribed yet.
            await WriteResultAsync(context, mediaType, StatusCodes.Status406NotAcceptable,
                GraphQLResult.RequestError(GraphQLRequestFailure.None,
                    "A subscription needs a WebSocket (graphql-transport-ws) or Accept: text/event-stream.", ErrorCodes.BadUserInput));
            return;
        }

        await WriteResultAsync(context, mediaType, StatusFor(result), result);
    }

    /// <summary>The HTTP status for a result (GraphQL-over-HTTP draft, section "application/graphql-response+json").</summary>
    public static int StatusFor(GraphQLResult result) => result switch
    {
        { Failure: not GraphQLRequestFailure.None } => StatusCodes.Status422UnprocessableEntity,
        { HasData: false } => StatusCodes.Status422UnprocessableEntity,
        { HasErrors: true } => StatusPartialSuccess,
        _ => StatusCodes.Status200OK,
    };

    /// <summary>Writes a GraphQL response body with the given status and media type.</summary>
    public static async Task WriteResultAsync(HttpContext context, string mediaType, int status, GraphQLResult result)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = mediaType + "; charset=utf-8";

        // Straight from the result's trees into the response pipe's pooled segments: no copy of the trees, and no
        // growing array (a large response would land on the large object heap on every request).
        var body = context.Response.BodyWriter;
        using (var writer = new Utf8JsonWriter(body))
        {
            result.WriteTo(writer);
        }

        result.Lease?.Dispose();
        await body.FlushAsync(context.RequestAborted);
    }

    private static Task WriteProblemAsync(HttpContext context, int status, string detail) =>
        Results.Problem(statusCode: status, detail: detail).ExecuteAsync(context);

    /// <summary>
    /// Picks the response media type from <c>Accept</c>: <c>application/graphql-response+json</c> when allowed
    /// (also by a wildcard or a missing header), else <c>application/json</c>, else null (406).
    /// </summary>
    public static string? NegotiateMediaType(HttpRequest request)
    {
        // The first range of the highest quality wins, as a stable sort by quality would pick it.
        string? best = null;
        double bestQuality = 0;
        var any = false;
        var ranges = MediaTypes.Accepted(request.Headers.Accept);
        while (ranges.MoveNext())
        {
            any = true;
            var range = ranges.Current;
            var candidate =
                range.Equals(GraphQLResponseMediaType, StringComparison.OrdinalIgnoreCase) || range is "*/*" ||
                range.Equals("application/*", StringComparison.OrdinalIgnoreCase) ? GraphQLResponseMediaType
                : range.Equals("application/json", StringComparison.OrdinalIgnoreCase) ? "application/json"
                : null;
            if (candidate is not null && ranges.Quality > bestQuality)
            {
                best = candidate;
                bestQuality = ranges.Quality;
            }
        }

        return any ? best : GraphQLResponseMediaType;
    }

    private static (GraphQLRequest? Request, int Status, string? Message) ReadGet(HttpRequest http)
    {
        var q = http.Query;
        if (q["query"].Count != 1 || string.IsNullOrEmpty(q["query"][0]))
        {
            return (null, StatusCodes.Status400BadRequest, "The query parameter 'query' is required.");
        }

        var variables = ParseObjectParameter(q["variables"].FirstOrDefault(), "variables", out var status, out var error);
        if (error is not null)
        {
            return (null, status, error);
        }

        var extensions = ParseObjectParameter(q["extensions"].FirstOrDefault(), "extensions", out status, out error);
        if (error is not null)
        {
            return (null, status, error);
        }

        var operationName = q["operationName"].FirstOrDefault();
        return (new GraphQLRequest(q["query"][0]!, string.IsNullOrEmpty(operationName) ? null : operationName, variables, extensions), 0, null);
    }

    /// <summary>
    /// A JSON object from a query parameter: 400 when the text is not JSON the shared reader accepts (the same rules as
    /// a body), 422 when it is JSON but not an object (GraphQL-over-HTTP: a malformed request).
    /// </summary>
    private static JsonObject? ParseObjectParameter(string? text, string name, out int status, out string? error)
    {
        (status, error) = (StatusCodes.Status200OK, null);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var (node, unreadable) = JsonRequestBody.Parse(System.Text.Encoding.UTF8.GetBytes(text));
        if (unreadable is not null)
        {
            (status, error) = (StatusCodes.Status400BadRequest, $"'{name}' {unreadable}.");
            return null;
        }

        if (node is JsonObject o)
        {
            return o;
        }

        (status, error) = (StatusCodes.Status422UnprocessableEntity, $"'{name}' must be a JSON object.");
        return null;
    }

    private static async Task<(GraphQLRequest? Request, int Status, string? Message)> ReadPostAsync(HttpRequest http, long maxBytes, CancellationToken ct)
    {
        if (!MediaTypes.HasMediaType(http.ContentType, "application/json"))
        {
            return (null, StatusCodes.Status415UnsupportedMediaType, "Content-Type must be application/json.");
        }

        var (read, status, error) = await JsonRequestBody.ReadAsync(http, maxBytes, ReadRequestObject, ct);
        return error is not null ? (null, status, error) : read;
    }

    /// <summary>
    /// Reads <c>{query, operationName?, variables?, extensions?}</c> from a JSON value; anything else is a
    /// malformed request (422) with a message naming the bad member.
    /// </summary>
    public static (GraphQLRequest? Request, int Status, string? Message) ReadRequestObject(JsonNode? body) =>
        ReadRequestObject(JsonSerializer.SerializeToElement(body));

    /// <summary>
    /// <see cref="ReadRequestObject(JsonNode?)"/> from an element, without a tree of the whole request; the request
    /// keeps copies, not the element.
    /// </summary>
    public static (GraphQLRequest? Request, int Status, string? Message) ReadRequestObject(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, StatusCodes.Status422UnprocessableEntity, "The request body must be a JSON object.");
        }

        if (!body.TryGetProperty("query", out var q) || q.ValueKind != JsonValueKind.String || q.GetString() is not { Length: > 0 } query)
        {
            return (null, StatusCodes.Status422UnprocessableEntity, "'query' must be a non-empty string.");
        }

        string? operationName = null;
        if (body.TryGetProperty("operationName", out var on) && on.ValueKind != JsonValueKind.Null)
        {
            if (on.ValueKind != JsonValueKind.String)
            {
                return (null, StatusCodes.Status422UnprocessableEntity, "'operationName' must be a string or null.");
            }

            operationName = on.GetString();
        }

        if (!TryReadObject(body, "variables", out var variables))
        {
            return (null, StatusCodes.Status422UnprocessableEntity, "'variables' must be a JSON object or null.");
        }

        if (!TryReadObject(body, "extensions", out var extensions))
        {
            return (null, StatusCodes.Status422UnprocessableEntity, "'extensions' must be a JSON object or null.");
        }

        return (new GraphQLRequest(query, string.IsNullOrEmpty(operationName) ? null : operationName, variables, extensions), 0, null);
    }

    // Absent or null: no object. Copied out of the element, which lives only as long as the request body's memory.
    private static bool TryReadObject(JsonElement body, string name, out JsonObject? value)
    {
        value = null;
        if (!body.TryGetProperty(name, out var member) || member.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (member.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        value = JsonObject.Create(member.Clone());
        Materialize(value);
        return true;
    }

    // A tree made from an element fills itself in on first read, and that is not thread-safe; the executors read
    // variables from concurrent fetches, so the tree is filled in here, once.
    private static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, item) in o)
                {
                    Materialize(item);
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    Materialize(item);
                }

                break;
        }
    }
}

/// <summary>
/// Parsing of request documents and the size limit every transport applies; which operation runs is
/// <see cref="GraphQLOperations.Select"/>.
/// </summary>
public static class GraphQLDocuments
{
    // Parsed documents are immutable and shared, so clients that repeat an operation (nearly all of them) are not
    // parsed again; the executors key their own plans on the same text. Bounded in count and document size.
    private const int MaxCachedDocuments = 1000;
    private const int MaxCachedDocumentLength = 16 * 1024;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Query, int Limit), GraphQLDocument> Parsed = new();

    /// <summary>
    /// Parses a request's document and applies the size limit shared by every transport. Returns null with the
    /// document, or a request error with its HTTP status: 400 when the text does not parse (GraphQL spec section 2),
    /// 422 when it selects more than <paramref name="maxFieldSelections"/> fields.
    /// </summary>
    public static GraphQLResult? TryParse(string query, int maxFieldSelections, out GraphQLDocument? document, out int status)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (Parsed.TryGetValue((query, maxFieldSelections), out document))
        {
            status = StatusCodes.Status200OK;
            return null;
        }

        try
        {
            document = Parser.Parse(query, new ParserOptions { Ignore = IgnoreOptions.Comments, MaxDepth = 64 });
        }
        catch (GraphQLParserException e)
        {
            status = StatusCodes.Status400BadRequest;
            return GraphQLResult.RequestError(GraphQLRequestFailure.None, "The document does not parse: " + e.Description, "GRAPHQL_PARSE_FAILED");
        }

        if (ExceedsFieldSelections(document, maxFieldSelections))
        {
            document = null;
            status = StatusCodes.Status422UnprocessableEntity;
            return GraphQLResult.RequestError(GraphQLRequestFailure.ValidationFailed,
                $"The document selects more than {maxFieldSelections} fields (fragments counted each time they are spread); split it into smaller operations.",
                "GRAPHQL_VALIDATION_FAILED");
        }

        if (query.Length <= MaxCachedDocumentLength)
        {
            if (Parsed.Count >= MaxCachedDocuments)
            {
                // A crude bound: clients that send ever-new documents must not grow the cache without limit.
                Parsed.Clear();
            }

            Parsed.TryAdd((query, maxFieldSelections), document);
        }

        status = StatusCodes.Status200OK;
        return null;
    }

    /// <summary>
    /// True when the document makes more than <paramref name="limit"/> field selections, with every fragment spread
    /// expanded where it is used (so fragment fan-out counts in full). Stops counting at the limit.
    /// </summary>
    public static bool ExceedsFieldSelections(GraphQLDocument document, int limit)
    {
        var fragments = new Dictionary<string, GraphQLFragmentDefinition>(StringComparer.Ordinal);
        foreach (var fragment in document.Definitions.OfType<GraphQLFragmentDefinition>())
        {
            fragments.TryAdd(fragment.FragmentName.Name.StringValue, fragment);
        }

        var budget = limit;
        var expanding = new HashSet<string>(StringComparer.Ordinal);
        return document.Definitions.OfType<GraphQLOperationDefinition>().Any(operation => !Within(operation.SelectionSet));

        bool Within(GraphQLSelectionSet? set)
        {
            if (set is null)
            {
                return true;
            }

            foreach (var selection in set.Selections)
            {
                switch (selection)
                {
                    case GraphQLField field:
                        if (--budget < 0 || !Within(field.SelectionSet))
                        {
                            return false;
                        }

                        break;
                    case GraphQLInlineFragment inline:
                        if (!Within(inline.SelectionSet))
                        {
                            return false;
                        }

                        break;
                    case GraphQLFragmentSpread spread:
                        var name = spread.FragmentName.Name.StringValue;

                        // A cycle is a validation error reported later; here it only must not loop.
                        if (fragments.TryGetValue(name, out var definition) && expanding.Add(name))
                        {
                            var ok = Within(definition.SelectionSet);
                            expanding.Remove(name);
                            if (!ok)
                            {
                                return false;
                            }
                        }

                        break;
                }
            }

            return true;
        }
    }
}
