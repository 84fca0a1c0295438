using System.Text.Json.Nodes;
using GraphQLParser.AST;

namespace Chirp.Federation;

/// <summary>One GraphQL request sent to a subgraph (GraphQL-over-HTTP request parameters).</summary>
/// <param name="Query">The subgraph document, holding exactly one operation.</param>
/// <param name="Variables">The values of exactly the variables that <paramref name="Query"/> declares, or null when it declares none.</param>
/// <param name="OperationName">The operation's name, or null.</param>
public sealed record SubgraphRequest(string Query, JsonObject? Variables, string? OperationName);

/// <summary>
/// Sends subgraph requests. One instance serves one client request, because it carries the caller's identity.
/// </summary>
public interface ISubgraphTransport
{
    /// <summary>Runs <paramref name="request"/> on <paramref name="subgraphName"/>.</summary>
    /// <returns>The subgraph's GraphQL response object <c>{data?, errors?}</c> (GraphQL spec section 7.1).</returns>
    /// <exception cref="SubgraphUnavailableException">The subgraph cannot be reached, or answered something that is not a GraphQL JSON response.</exception>
    Task<JsonObject> ExecuteAsync(string subgraphName, SubgraphRequest request, CancellationToken cancellationToken);
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

/// <summary>The response to one client operation (GraphQL spec section 7.1).</summary>
public sealed class FederatedResult
{
    /// <summary>True when execution started, so the response has a <c>data</c> entry (possibly null).</summary>
    public bool HasData { get; init; }

    /// <summary>The <c>data</c> entry, in the client's shape and field order.</summary>
    public JsonNode? Data { get; init; }

    /// <summary>The <c>errors</c> entry with client paths, or null when there are none.</summary>
    public JsonArray? Errors { get; init; }

    /// <summary>Why the operation was refused before execution, if it was.</summary>
    public FederatedFailure Failure { get; init; }
}

/// <summary>A client operation to run.</summary>
/// <param name="Document">The parsed <paramref name="Query"/> (locations kept, so errors can point into it).</param>
/// <param name="Query">The document text; with <paramref name="OperationName"/> it keys the plan cache.</param>
/// <param name="OperationName">The operation to run, or null when the document has one.</param>
/// <param name="Variables">The raw variable values, or null.</param>
/// <param name="Caller">Who asks.</param>
public sealed record FederatedRequest(GraphQLDocument Document, string Query, string? OperationName, JsonObject? Variables, CallerContext Caller);
