using System.Security.Claims;
using System.Text.Json.Nodes;
using GraphQLParser.AST;
using Microsoft.AspNetCore.Http;

namespace Chirp.GraphQL.AspNetCore;

/// <summary>A GraphQL request as a client sent it (GraphQL-over-HTTP draft, section "Request Parameters").</summary>
/// <param name="Query">The document text.</param>
/// <param name="OperationName">Which operation of the document to run; null when it has only one.</param>
/// <param name="Variables">Variable values, a JSON object, or null.</param>
/// <param name="Extensions">Protocol extensions, a JSON object, or null.</param>
public sealed record GraphQLRequest(string Query, string? OperationName, JsonObject? Variables, JsonObject? Extensions);

/// <summary>What an executor gets: the request, its parsed document and the caller.</summary>
public sealed class GraphQLExecutionRequest
{
    /// <summary>The request as sent.</summary>
    public required GraphQLRequest Request { get; init; }

    /// <summary>The parsed <see cref="GraphQLRequest.Query"/>; the transport parses once.</summary>
    public required GraphQLDocument Document { get; init; }

    /// <summary>The authenticated caller, or an anonymous principal.</summary>
    public required ClaimsPrincipal User { get; init; }

    /// <summary>The HTTP request that carries this operation (for a WebSocket, the upgrade request).</summary>
    public required HttpContext HttpContext { get; init; }
}

/// <summary>Why a request was refused before execution (GraphQL-over-HTTP: a "request error").</summary>
public enum GraphQLRequestFailure
{
    /// <summary>Executed; the result may still carry field errors.</summary>
    None,

    /// <summary>The document failed validation (GraphQL spec section 5); 422.</summary>
    ValidationFailed,

    /// <summary>Variable values could not be coerced (GraphQL spec section 6.1.2); 422.</summary>
    VariablesInvalid,

    /// <summary>No operation matches <c>operationName</c>, or several do and none is named; 422.</summary>
    OperationNotFound,
}

/// <summary>
/// One GraphQL response (GraphQL spec section 7.1): <c>data</c> (present when execution started, possibly null),
/// <c>errors</c> and <c>extensions</c>. For a subscription, <see cref="Stream"/> yields one response per event instead.
/// </summary>
public sealed class GraphQLResult
{
    /// <summary>True when the response has a <c>data</c> entry (execution started), even if it is null.</summary>
    public bool HasData { get; init; }

    private JsonNode? _data;
    private bool _dataRead;

    /// <summary>
    /// The <c>data</c> entry; null with <see cref="HasData"/> true means <c>"data": null</c>. For a result made from
    /// <see cref="DataJson"/> it is parsed from those bytes on first use.
    /// </summary>
    public JsonNode? Data
    {
        get
        {
            if (!_dataRead)
            {
                _data = DataJson.IsEmpty ? null : JsonNode.Parse(DataJson.Span);
                _dataRead = true;
            }

            return _data;
        }

        init
        {
            _data = value;
            _dataRead = true;
        }
    }

    /// <summary>
    /// The <c>data</c> entry as UTF-8 JSON that an executor wrote itself (the federation engine writes it straight
    /// from the subgraphs' bytes), or empty. When set, it is what gets written, byte for byte.
    /// </summary>
    public ReadOnlyMemory<byte> DataJson
    {
        get;
        init
        {
            field = value;
            _dataRead = value.IsEmpty;
        }
    }

    /// <summary>
    /// Pooled memory behind <see cref="DataJson"/>, or null. The transport disposes it once the response is written;
    /// the result must not be read afterwards.
    /// </summary>
    public IDisposable? Lease { get; init; }

    /// <summary>The <c>errors</c> entry, or null when there are none.</summary>
    public JsonArray? Errors { get; init; }

    /// <summary>The <c>extensions</c> entry, or null.</summary>
    public JsonObject? Extensions { get; init; }

    /// <summary>Why the request was refused before execution, if it was.</summary>
    public GraphQLRequestFailure Failure { get; init; }

    /// <summary>For a subscription: the event stream; each item is a full response.</summary>
    public IAsyncEnumerable<GraphQLResult>? Stream { get; init; }

    /// <summary>True when there is at least one error.</summary>
    public bool HasErrors => Errors is { Count: > 0 };

    /// <summary>A request error with one error carrying <paramref name="code"/> in <c>extensions.code</c>.</summary>
    public static GraphQLResult RequestError(GraphQLRequestFailure failure, string message, string code) =>
        new() { Failure = failure, Errors = [GraphQLErrors.Create(message, code)] };

    /// <summary>Writes the response object (<c>errors</c>, <c>data</c>, <c>extensions</c>) without copying the trees.</summary>
    public void WriteTo(System.Text.Json.Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        if (HasErrors)
        {
            writer.WritePropertyName("errors");
            Errors!.WriteTo(writer);
        }

        if (HasData)
        {
            writer.WritePropertyName("data");
            if (!DataJson.IsEmpty)
            {
                // Written by the executor from validated JSON: copied, not parsed again.
                writer.WriteRawValue(DataJson.Span, skipInputValidation: true);
            }
            else if (Data is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                Data.WriteTo(writer);
            }
        }

        if (Extensions is not null)
        {
            writer.WritePropertyName("extensions");
            Extensions.WriteTo(writer);
        }

        writer.WriteEndObject();
    }

    /// <summary>The response as a JSON object: <c>errors</c>, then <c>data</c>, then <c>extensions</c>.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject();
        if (HasErrors)
        {
            o["errors"] = Errors!.DeepClone();
        }

        if (HasData)
        {
            o["data"] = Data?.DeepClone();
        }

        if (Extensions is not null)
        {
            o["extensions"] = Extensions.DeepClone();
        }

        return o;
    }
}

/// <summary>Builds GraphQL error objects (GraphQL spec section 7.1.2).</summary>
public static class GraphQLErrors
{
    /// <summary><c>{message, path?, extensions: {code}}</c>.</summary>
    public static JsonObject Create(string message, string code, JsonArray? path = null)
    {
        var error = new JsonObject { ["message"] = message };
        if (path is not null)
        {
            error["path"] = path;
        }

        error["extensions"] = new JsonObject { ["code"] = code };
        return error;
    }
}

/// <summary>
/// Runs GraphQL operations. The gateway's executor is the federation engine; each subgraph's wraps GraphQL.NET.
/// Implementations never throw for bad client input: they return a result with errors.
/// </summary>
public interface IGraphQLExecutor
{
    /// <summary>Executes one operation of <see cref="GraphQLExecutionRequest.Document"/>.</summary>
    ValueTask<GraphQLResult> ExecuteAsync(GraphQLExecutionRequest request, CancellationToken cancellationToken);
}
