using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.Federation;
using Chirp.Gateway.Auth;
using Chirp.GraphQL.AspNetCore;
using Chirp.IdentityAssertions;

namespace Chirp.Gateway.Federation;

/// <summary>
/// The gateway's <see cref="IGraphQLExecutor"/>: runs operations on the federation engine (<see cref="FederatedExecutor"/>)
/// as the caller, fetching from subgraphs over HTTP (<see cref="HttpSubgraphTransport"/>) and subscribing over WebSocket
/// (<see cref="SubgraphSubscription"/>).
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
        var federated = new FederatedRequest(request.Document, request.Request.Query, request.Request.OperationName, request.Request.Variables,
            new CallerContext(authenticated, scopes));
        var transport = new HttpSubgraphTransport(httpClients.CreateClient(HttpSubgraphTransport.HttpClientName), urls, AssertionFor(user), changedUserId => EndOtherSessionsAsync(user, changedUserId));
        // For the operation's span and metrics only; the engine selects the operation it runs itself.
        var operation = GraphQLDocuments.SelectOperation(request.Document, request.Request.OperationName);
        var operationType = operation?.Operation.ToString().ToLowerInvariant() ?? "unknown";
        var startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        FederatedResult result;
        using (var activity = FederationTelemetry.StartOperation(operationType, operation?.Name?.StringValue))
        {
            result = await engine.ExecuteAsync(federated, transport, cancellationToken);
            FederationTelemetry.EndOperation(activity, operationType, result, startedAt);
        }

        return result.Subscription is { } subscription
            ? new GraphQLResult { Stream = StreamAsync(subscription, user, CancellationToken.None) }
            : ToResult(result);
    }

    /// <summary>
    /// Runs a planned subscription: opens it on the owning subgraph as the subscriber, then completes every event with
    /// the fields other subgraphs own, fetched as the subscriber with a fresh assertion each time (an assertion lives
    /// a minute; a subscription lives longer). Nothing is opened until the stream is enumerated.
    /// </summary>
    private async IAsyncEnumerable<GraphQLResult> StreamAsync(
        FederatedSubscription subscription, ClaimsPrincipal user, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var upstream = await SubgraphSubscription.OpenAsync(
            subscription.Subgraph, urls.Get(subscription.Subgraph), AssertionFor(user), subscription.Request, cancellationToken);
        await foreach (var subgraphEvent in upstream.ReadEventsAsync(cancellationToken))
        {
            var transport = new HttpSubgraphTransport(httpClients.CreateClient(HttpSubgraphTransport.HttpClientName), urls, AssertionFor(user), null);
            yield return ToResult(await subscription.ResolveEventAsync(subgraphEvent, transport, cancellationToken));
        }
    }

    private static GraphQLResult ToResult(FederatedResult result) => new()
    {
        HasData = result.HasData,
        DataJson = result.DataJson,
        Lease = result.Lease,
        Errors = result.Errors,
        Failure = result.Failure switch
        {
            FederatedFailure.ValidationFailed => GraphQLRequestFailure.ValidationFailed,
            FederatedFailure.VariablesInvalid => GraphQLRequestFailure.VariablesInvalid,
            FederatedFailure.OperationNotFound => GraphQLRequestFailure.OperationNotFound,
            _ => GraphQLRequestFailure.None,
        },
    };

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
}
