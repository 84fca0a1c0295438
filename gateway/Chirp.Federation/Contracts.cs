using System.Text.Json;
using System.Text.Json.Nodes;
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

/// <summary>Why an operation was refused before execution.</summary>
public enum FederatedFailure
{
    /// <summary>Executed; <see cref="FederatedResult.Errors"/> may still hold field errors.</summary>
    None,

    /// <summary>The document is not valid against the API schema (GraphQL spec section 5).</summary>
    ValidationFailed,

    /// <summary>The variable values cannot be coerced (GraphQL spec section 6.1.2).</summary>
    VariablesInvalid,

    /// <summary>No operation matches the operation name (GraphQL spec section 6.1, GetOperation).</summary>
    OperationNotFound,
}

/// <summary>
/// The response to one client operation (GraphQL spec section 7.1). Its <c>data</c> is UTF-8 JSON in pooled memory
/// (<see cref="DataJson"/>), written straight from the subgraphs' bytes; dispose the result once it is written.
/// </summary>
public sealed class FederatedResult : IDisposable
{
    private readonly IDisposable? _owner;
    private JsonNode? _data;
    private bool _parsed;

    /// <summary>A result without data, or with <c>"data": null</c> when <paramref name="hasData"/> is true.</summary>
    public FederatedResult(bool hasData, JsonArray? errors, FederatedFailure failure = FederatedFailure.None)
    {
        HasData = hasData;
        Errors = errors;
        Failure = failure;
    }

    /// <summary>A planned subscription: nothing has run yet.</summary>
    internal FederatedResult(FederatedSubscription subscription) => Subscription = subscription;

    /// <summary>A result whose <c>data</c> is the JSON object <paramref name="dataJson"/>, held by <paramref name="owner"/>.</summary>
    internal FederatedResult(ReadOnlyMemory<byte> dataJson, IDisposable? owner, JsonArray? errors)
    {
        HasData = true;
        DataJson = dataJson;
        Errors = errors;
        _owner = owner;
    }

    /// <summary>True when execution started, so the response has a <c>data</c> entry (possibly null).</summary>
    public bool HasData { get; }

    /// <summary>The <c>data</c> entry as UTF-8 JSON, in the client's shape and field order; empty when it is null or absent.</summary>
    public ReadOnlyMemory<byte> DataJson { get; }

    /// <summary>The <c>data</c> entry as a tree, parsed from <see cref="DataJson"/> on first use (for callers that inspect it).</summary>
    public JsonNode? Data
    {
        get
        {
            if (!_parsed)
            {
                _data = DataJson.IsEmpty ? null : JsonNode.Parse(DataJson.Span);
                _parsed = true;
            }

            return _data;
        }
    }

    /// <summary>The <c>errors</c> entry with client paths, or null when there are none.</summary>
    public JsonArray? Errors { get; }

    /// <summary>Why the operation was refused before execution, if it was.</summary>
    public FederatedFailure Failure { get; }

    /// <summary>For a subscription the caller may open: the plan of its events; there is no data then.</summary>
    public FederatedSubscription? Subscription { get; }

    /// <summary>The pooled memory behind <see cref="DataJson"/>: give it back once the response is written.</summary>
    public IDisposable? Lease => _owner;

    /// <summary>Gives the memory behind <see cref="DataJson"/> back to its pool; the result must not be read afterwards.</summary>
    public void Dispose() => _owner?.Dispose();
}

/// <summary>A client operation to run.</summary>
/// <param name="Document">The parsed <paramref name="Query"/> (locations kept, so errors can point into it).</param>
/// <param name="Query">The document text; with <paramref name="OperationName"/> it keys the plan cache.</param>
/// <param name="OperationName">The operation to run, or null when the document has one.</param>
/// <param name="Variables">The raw variable values, or null.</param>
/// <param name="Caller">Who asks.</param>
public sealed record FederatedRequest(GraphQLDocument Document, string Query, string? OperationName, JsonObject? Variables, CallerContext Caller);
