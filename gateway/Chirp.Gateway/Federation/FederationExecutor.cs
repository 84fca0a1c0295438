using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.Federation;
using Chirp.Gateway.Auth;
using Chirp.GraphQL.AspNetCore;
using Chirp.IdentityAssertions;

namespace Chirp.Gateway;

/// <summary>The gateway's <see cref="IGraphQLExecutor"/>: the federation engine, fetching from subgraphs over HTTP.</summary>
/// <remarks>
/// A subgraph response with <see cref="ChirpHeaders.CredentialsChanged"/> naming the caller (a password change) ends
/// every other session of the caller before the answer goes back; the caller's own session (<c>sid</c>) stays.
/// </remarks>
public sealed class FederationExecutor(
    FederatedExecutor engine, IHttpClientFactory httpClients, SubgraphUrls urls, IdentityAssertionCodec codec, Sessions sessions, ILogger<FederationExecutor> logger)
    : IGraphQLExecutor
{
    /// <summary>Name of the <see cref="HttpClient"/> used for subgraph fetches; tests add handlers to it to see every fetch.</summary>
    public const string SubgraphHttpClient = Gateway.SubgraphHttpClient.Name;

    /// <inheritdoc />
    public async ValueTask<GraphQLResult> ExecuteAsync(GraphQLExecutionRequest request, CancellationToken cancellationToken)
    {
        var user = request.User;
        var authenticated = user.Identity?.IsAuthenticated == true;
        var scopes = (user.FindFirstValue("scope") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        var federated = new FederatedRequest(request.Document, request.Request.Query, request.Request.OperationName, request.Request.Variables,
            new CallerContext(authenticated, scopes));
        var operation = GraphQLDocuments.SelectOperation(request.Document, request.Request.OperationName);
        if (operation?.Operation == GraphQLParser.AST.OperationType.Subscription)
        {
            var (refusal, subscription) = await engine.PrepareSubscriptionAsync(federated, cancellationToken);
            return refusal is not null ? ToResult(refusal) : new GraphQLResult { Stream = StreamAsync(subscription!, user, CancellationToken.None) };
        }

        var transport = new HttpSubgraphTransport(httpClients.CreateClient(SubgraphHttpClient), urls, AssertionFor(user), changedUserId => EndOtherSessionsAsync(user, changedUserId));
        var operationType = operation?.Operation.ToString().ToLowerInvariant() ?? "unknown";
        var startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        using var activity = FederationTelemetry.StartOperation(operationType, operation?.Name?.StringValue);
        var result = await engine.ExecuteAsync(federated, transport, cancellationToken);
        FederationTelemetry.EndOperation(activity, operationType, result, startedAt);
        return ToResult(result);
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
            var transport = new HttpSubgraphTransport(httpClients.CreateClient(SubgraphHttpClient), urls, AssertionFor(user), null);
            yield return ToResult(await subscription.ResolveEventAsync(subgraphEvent, transport, cancellationToken));
        }
    }

    private static GraphQLResult ToResult(FederatedResult result) => new()
    {
        HasData = result.HasData,
        Data = result.Data,
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

    /// <summary>Posts subgraph fetches as GraphQL over HTTP, tagged with the caller's identity assertion.</summary>
    private sealed class HttpSubgraphTransport(HttpClient http, SubgraphUrls urls, string? assertion, Func<string, Task<JsonObject?>>? onCredentialsChanged)
        : ISubgraphTransport
    {
        public async Task<JsonObject> ExecuteAsync(string subgraphName, SubgraphRequest request, CancellationToken cancellationToken)
        {
            // Serialized from the request itself: the variables (entity representations) are written, not copied.
            using var message = new HttpRequestMessage(HttpMethod.Post, urls.Get(subgraphName))
            {
                Content = JsonContent.Create(request, SubgraphRequestJson.Default.SubgraphRequest),
            };
            // Query fetches (entity fetches of a mutation included) only read: the client's pipeline may retry them.
            message.Options.Set(Gateway.SubgraphHttpClient.Idempotent, !request.Query.StartsWith("mutation", StringComparison.Ordinal));
            message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(GraphQLHttpEndpoint.GraphQLResponseMediaType));
            message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json", 0.9));
            if (assertion is not null)
            {
                message.Headers.Add(ChirpHeaders.Identity, assertion);
            }

            var startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
            using var activity = FederationTelemetry.StartFetch(subgraphName, request);
            Exception? failure = null;
            try
            {
                // Headers first: the body is parsed straight from the connection instead of being buffered whole
                // into a growing array first.
                using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                var media = response.Content.Headers.ContentType?.MediaType;
                if (media is not (GraphQLHttpEndpoint.GraphQLResponseMediaType or "application/json"))
                {
                    throw new SubgraphUnavailableException(subgraphName, $"answered {(int)response.StatusCode} without a GraphQL response");
                }

                await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                var result = await JsonNode.ParseAsync(stream, cancellationToken: cancellationToken) as JsonObject
                    ?? throw new SubgraphUnavailableException(subgraphName, "answered a body that is not a JSON object");
                if (onCredentialsChanged is not null && response.Headers.TryGetValues(ChirpHeaders.CredentialsChanged, out var changed) &&
                    await onCredentialsChanged(changed.First()) is { } error)
                {
                    (result["errors"] as JsonArray ?? (JsonArray)(result["errors"] = new JsonArray())).Add(error);
                }

                return result;
            }
            catch (Exception e) when (e is HttpRequestException or System.Net.Sockets.SocketException or JsonException or Polly.Timeout.TimeoutRejectedException
                || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                failure = e;
                throw new SubgraphUnavailableException(subgraphName, "cannot be reached", e);
            }
            catch (SubgraphUnavailableException e)
            {
                failure = e;
                throw;
            }
            finally
            {
                FederationTelemetry.EndFetch(activity, subgraphName, request, startedAt, failure);
            }
        }
    }
}

/// <summary>
/// A subgraph request as a GraphQL-over-HTTP request body: <c>{"query", "variables"?, "operationName"?}</c>, members
/// that are null left out.
/// </summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(
    PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(SubgraphRequest))]
internal sealed partial class SubgraphRequestJson : System.Text.Json.Serialization.JsonSerializerContext;
