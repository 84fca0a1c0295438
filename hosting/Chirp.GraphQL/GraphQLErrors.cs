using System.Text.Json.Nodes;

namespace Chirp.GraphQL;

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
/// A subscription's source ended abnormally (for the gateway: the owning subgraph went away). Thrown while a
/// <see cref="GraphQLResult.Stream"/> is read; the transport tells the client with a graphql-transport-ws
/// <c>error</c> message (SSE: a <c>next</c> with the errors), not a silent <c>complete</c>, so it knows to subscribe again.
/// </summary>
public sealed class SubscriptionSourceException(JsonArray errors, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    /// <summary>GraphQL errors for the client (GraphQL spec section 7.1.2); they must not name hosts or internals.</summary>
    public JsonArray Errors { get; } = errors;
}
