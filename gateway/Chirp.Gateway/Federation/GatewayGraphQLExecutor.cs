using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.Federation;
using Chirp.Gateway.Auth;
using Chirp.GraphQL;
using Chirp.GraphQL.AspNetCore;
using Chirp.IdentityAssertions;
using GraphQLParser.AST;

namespace Chirp.Gateway.Federation;

/// <summary>
/// The gateway's <see cref="IGraphQLExecutor"/>: runs the operation the transport selected on the federation engine
/// (<see cref="FederatedExecutor"/>) as the caller, fetching from subgraphs over HTTP (<see cref="HttpSubgraphTransport"/>)
/// and subscribing over WebSocket (<see cref="SubgraphSubscription"/>). The engine's result goes back as it is.
/// </summary>
/// <remarks>
/// A subgraph response with <see cref="ChirpHeaders.CredentialsChanged"/> naming the caller (a password change) ends
/// every other session of the caller before the answer goes back; the caller's own session (<c>sid</c>) stays.
/// </remarks>
public sealed class GatewayGraphQLExecutor(
    FederatedExecutor engine, IHttpClientFactory httpClients, SubgraphUrls urls, IdentityAssertionCodec codec, Sessions sessions, ILogger<GatewayGraphQLExecutor> logger)
    : IGraphQLExecutor
{
    /// <inheritdoc />
    public async ValueTask<GraphQLResult> ExecuteAsync(GraphQLExecutionRequest request, CancellationToken cancellationToken)
    {
        var user = request.User;
        var authenticated = user.Identity?.IsAuthenticated == true;
        var scopes = (user.FindFirstValue("scope") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        var federated = new FederatedRequest(request.Request, request.Document, request.Operation, new CallerContext(authenticated, scopes));
        var transport = new HttpSubgraphTransport(httpClients.CreateClient(HttpSubgraphTransport.HttpClientName), urls, AssertionFor(user), changedUserId => EndOtherSessionsAsync(user, changedUserId));
        // The transport's selection names the span and is what the engine runs.
        var operation = request.Operation;
        // Constant names, so the hot path allocates no strings for telemetry.
        var operationType = operation?.Operation switch
        {
            OperationType.Query => "query",
            OperationType.Mutation => "mutation",
            OperationType.Subscription => "subscription",
            _ => "unknown",
        };
        var startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        using var activity = FederationTelemetry.StartOperation(operationType, operation?.Name?.StringValue);
        var result = await engine.ExecuteAsync(federated, transport, new Subscriber(this, user), cancellationToken);
        FederationTelemetry.EndOperation(activity, operationType, result, startedAt);
        return result;
    }

    /// <summary>
    /// Ends the caller's other sessions after the users subgraph changed the password of <paramref name="changedUserId"/>;
    /// a header naming anyone but the caller is ignored. Returns a GraphQL error when Redis cannot be reached, or null.
    /// </summary>
    private async Task<JsonObject?> EndOtherSessionsAsync(ClaimsPrincipal user, string changedUserId)
    {
        if (user.FindFirstValue("sub") is not { } userId || !string.Equals(userId, changedUserId, StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            await sessions.EndOthersAsync(userId, user.FindFirstValue("sid"));
            return null;
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or StackExchange.Redis.RedisTimeoutException)
        {
            logger.LogWarning(e, "Could not end the other sessions of user {UserId} after a password change", userId);
            return GraphQLErrors.Create("The password was changed, but other sessions could not be ended; log out everywhere.", ErrorCodes.Internal);
        }
    }

    /// <summary>The identity assertion for a validated caller, or null for an anonymous one.</summary>
    private string? AssertionFor(ClaimsPrincipal user) =>
        TokenIssuer.SubjectOf(user) is { } s ? codec.Sign(s.UserId, s.Handle, s.DisplayName, s.Scope) : null;

    /// <summary>A subgraph transport for the fetches that complete one subscription event, as <paramref name="user"/>.</summary>
    private HttpSubgraphTransport EventTransport(ClaimsPrincipal user) =>
        new(httpClients.CreateClient(HttpSubgraphTransport.HttpClientName), urls, AssertionFor(user), null);

    /// <summary>Opens <paramref name="request"/> on <paramref name="subgraphName"/> as <paramref name="user"/>.</summary>
    private Task<SubgraphSubscription> OpenUpstreamAsync(string subgraphName, SubgraphRequest request, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        SubgraphSubscription.OpenAsync(subgraphName, urls.Get(subgraphName), AssertionFor(user), request, cancellationToken);

    /// <summary>
    /// Opens a subscription on the owning subgraph as the subscriber (graphql-transport-ws, <see cref="SubgraphSubscription"/>);
    /// each event's fetches go out with a fresh assertion (an assertion lives a minute; a subscription lives longer).
    /// </summary>
    private sealed class Subscriber(GatewayGraphQLExecutor gateway, ClaimsPrincipal user) : ISubgraphSubscriber
    {
        public async IAsyncEnumerable<JsonObject> SubscribeAsync(
            string subgraphName, SubgraphRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await using var upstream = await gateway.OpenUpstreamAsync(subgraphName, request, user, cancellationToken);
            await foreach (var subgraphEvent in upstream.ReadEventsAsync(cancellationToken))
            {
                yield return subgraphEvent;
            }
        }

        public ISubgraphTransport TransportForEvent() => gateway.EventTransport(user);
    }
}
