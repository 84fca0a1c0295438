using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.GraphQL;
using GraphQLParser.AST;

namespace Chirp.Federation;

/// <summary>
/// One GraphQL request sent to a subgraph (GraphQL-over-HTTP request parameters). The engine writes its JSON body
/// once into pooled memory (<see cref="Body"/>); <see cref="Variables"/> is read from that body only when asked for.
/// </summary>
public sealed class SubgraphRequest
{
    private ReadOnlyMemory<byte> _body;
    private JsonObject? _variables;
    private bool _variablesRead;

    /// <summary>A request from its parts; its body is written when first asked for.</summary>
    /// <param name="query">The subgraph document, holding exactly one operation.</param>
    /// <param name="variables">The values of exactly the variables that <paramref name="query"/> declares, or null when it declares none.</param>
    /// <param name="operationName">The operation's name, or null.</param>
    public SubgraphRequest(string query, JsonObject? variables, string? operationName)
    {
        Query = query ?? throw new ArgumentNullException(nameof(query));
        OperationName = operationName;
        _variables = variables;
        _variablesRead = true;
        IsEntityFetch = variables?.ContainsKey("representations") == true;
    }

    /// <summary>A request whose body the engine wrote: <c>{"query", "operationName"?, "variables"?}</c>.</summary>
    internal SubgraphRequest(string query, string? operationName, ReadOnlyMemory<byte> body, bool isEntityFetch)
    {
        Query = query;
        OperationName = operationName;
        _body = body;
        IsEntityFetch = isEntityFetch;
    }

    /// <summary>
    /// True for an <c>_entities</c> fetch (Apollo Federation's entity resolution), false for a fetch of root fields.
    /// Known from the plan, so telemetry never parses <see cref="Body"/> to tell.
    /// </summary>
    public bool IsEntityFetch { get; }

    /// <summary>The subgraph document, holding exactly one operation.</summary>
    public string Query { get; }

    /// <summary>The operation's name, or null.</summary>
    public string? OperationName { get; }

    /// <summary>
    /// The request body as UTF-8 JSON. A body the engine wrote lives in pooled memory that is reused once the
    /// transport's <see cref="ISubgraphTransport.ExecuteAsync"/> completes: send it, do not keep it.
    /// </summary>
    public ReadOnlyMemory<byte> Body
    {
        get
        {
            if (_body.IsEmpty)
            {
                var body = new JsonObject { ["query"] = Query };
                if (OperationName is not null)
                {
                    body["operationName"] = OperationName;
                }

                if (_variables is not null)
                {
                    body["variables"] = _variables.DeepClone();
                }

                _body = JsonSerializer.SerializeToUtf8Bytes(body);
            }

            return _body;
        }
    }

    /// <summary>The variable values, or null when the document declares none (parsed from <see cref="Body"/> on first use).</summary>
    public JsonObject? Variables
    {
        get
        {
            if (!_variablesRead)
            {
                _variables = JsonNode.Parse(_body.Span)?["variables"] is JsonObject v ? (JsonObject)v.DeepClone() : null;
                _variablesRead = true;
            }

            return _variables;
        }
    }
}

/// <summary>
/// Sends subgraph requests. One instance serves one client request, because it carries the caller's identity.
/// </summary>
public interface ISubgraphTransport
{
    /// <summary>Runs <paramref name="request"/> on <paramref name="subgraphName"/>.</summary>
    /// <returns>The subgraph's GraphQL response object <c>{data?, errors?}</c> (GraphQL spec section 7.1); the engine disposes it.</returns>
    /// <exception cref="SubgraphUnavailableException">The subgraph cannot be reached, or answered something that is not a GraphQL JSON response.</exception>
    Task<SubgraphResponse> ExecuteAsync(string subgraphName, SubgraphRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// A subgraph could not be reached or did not answer with a GraphQL JSON response. The message may name hosts:
/// the engine never shows it to clients.
/// </summary>
public sealed class SubgraphUnavailableException : Exception
{
    public SubgraphUnavailableException(string subgraphName, string message, Exception? innerException = null)
        : base(message, innerException) => SubgraphName = subgraphName;

    /// <summary>The subgraph that failed.</summary>
    public string SubgraphName { get; }
}

/// <summary>The supergraph file is not a usable Apollo supergraph (join v0.3).</summary>
public sealed class SupergraphException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>Who asks: drives <c>@authenticated</c> and <c>@requiresScopes</c>.</summary>
/// <param name="IsAuthenticated">True for a caller with a valid token.</param>
/// <param name="Scopes">The token's scopes; empty for an anonymous caller.</param>
public sealed record CallerContext(bool IsAuthenticated, IReadOnlySet<string> Scopes)
{
    /// <summary>An anonymous caller.</summary>
    public static CallerContext Anonymous { get; } = new(false, new HashSet<string>());
}

/// <summary>
/// Opens subscriptions on subgraphs for one subscriber, and sends the fetches that complete each event. The gateway's
/// opens graphql-transport-ws sockets that carry the subscriber's identity.
/// </summary>
public interface ISubgraphSubscriber
{
    /// <summary>
    /// Subscribes to <paramref name="request"/> on <paramref name="subgraphName"/>. The subscription is opened when the
    /// enumeration starts and closed when it ends; each item is one event, a GraphQL response object
    /// <c>{data?, errors?}</c> (GraphQL spec section 7.1), that the engine consumes.
    /// </summary>
    /// <exception cref="SubscriptionSourceException">The subgraph cannot be reached, refused the subscription, or went away.</exception>
    IAsyncEnumerable<JsonObject> SubscribeAsync(string subgraphName, SubgraphRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// The transport for the fetches that complete one event. Asked for once per event, because a subscription lives
    /// longer than the credentials a transport carries.
    /// </summary>
    ISubgraphTransport TransportForEvent();
}

/// <summary>A client operation to run.</summary>
/// <param name="Request">
/// The request as the client sent it: its <see cref="GraphQLRequest.Query"/> and
/// <see cref="GraphQLRequest.OperationName"/> key the plan cache; its <see cref="GraphQLRequest.Variables"/> are the raw values.
/// </param>
/// <param name="Document">The parsed query (locations kept, so errors can point into it).</param>
/// <param name="Operation">
/// The operation of <paramref name="Document"/> that <see cref="GraphQLOperations.Select"/> chose for the request's
/// operation name, or null when none matches (the result is then a request error). Selected once, by the caller, so
/// that what the caller names in its telemetry is what runs.
/// </param>
/// <param name="Caller">Who asks.</param>
public sealed record FederatedRequest(GraphQLRequest Request, GraphQLDocument Document, GraphQLOperationDefinition? Operation, CallerContext Caller);
