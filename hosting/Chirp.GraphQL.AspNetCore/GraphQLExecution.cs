using System.Security.Claims;
using GraphQLParser.AST;
using Microsoft.AspNetCore.Http;

namespace Chirp.GraphQL.AspNetCore;

/// <summary>What an executor gets: the request, its parsed document, the selected operation and the caller.</summary>
public sealed class GraphQLExecutionRequest
{
    /// <summary>The request as sent.</summary>
    public required GraphQLRequest Request { get; init; }

    /// <summary>The parsed <see cref="GraphQLRequest.Query"/>; the transport parses once.</summary>
    public required GraphQLDocument Document { get; init; }

    /// <summary>
    /// The operation of <see cref="Document"/> to run, as <see cref="GraphQLOperations.Select"/> chose it for
    /// <see cref="GraphQLRequest.OperationName"/>; null when no single operation matches (the executor answers with a
    /// request error). The transport selects once and the executor runs what it selected.
    /// </summary>
    public required GraphQLOperationDefinition? Operation { get; init; }

    /// <summary>The authenticated caller, or an anonymous principal.</summary>
    public required ClaimsPrincipal User { get; init; }

    /// <summary>The HTTP request that carries this operation (for a WebSocket, the upgrade request).</summary>
    public required HttpContext HttpContext { get; init; }
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
