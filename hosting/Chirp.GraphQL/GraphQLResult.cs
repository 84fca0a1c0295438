using System.Text.Json;
using System.Text.Json.Nodes;

namespace Chirp.GraphQL;

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

    /// <summary>
    /// For a subscription: the event stream, opened when it is enumerated; each item is a full response whose
    /// <see cref="Lease"/> the reader disposes once it is written. Reading it throws
    /// <see cref="SubscriptionSourceException"/> when the source ends abnormally.
    /// </summary>
    public IAsyncEnumerable<GraphQLResult>? Stream { get; init; }

    /// <summary>True when there is at least one error.</summary>
    public bool HasErrors => Errors is { Count: > 0 };

    /// <summary>A request error with one error carrying <paramref name="code"/> in <c>extensions.code</c>.</summary>
    public static GraphQLResult RequestError(GraphQLRequestFailure failure, string message, string code) =>
        new() { Failure = failure, Errors = [GraphQLErrors.Create(message, code)] };

    /// <summary>Writes the response object (<c>errors</c>, <c>data</c>, <c>extensions</c>) without copying the trees.</summary>
    public void WriteTo(Utf8JsonWriter writer)
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
