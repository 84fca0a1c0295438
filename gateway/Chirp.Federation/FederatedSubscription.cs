using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Chirp.GraphQL;

namespace Chirp.Federation;

/// <summary>
/// A planned subscription: its root field runs on one subgraph; every event is then completed with the fields that
/// other subgraphs own, as the subscriber, and shaped for the client. It is the <see cref="GraphQLResult.Stream"/>
/// of the result <see cref="FederatedExecutor.ExecuteAsync"/> returns for a subscription.
/// </summary>
/// <param name="subgraph">The subgraph that serves the subscription field.</param>
/// <param name="request">The subscription to open on <paramref name="subgraph"/>.</param>
/// <param name="resolve">Completes one event (consumed) with the fetches of the given transport.</param>
internal sealed class FederatedSubscription(
    string subgraph,
    SubgraphRequest request,
    Func<JsonObject, ISubgraphTransport, CancellationToken, Task<GraphQLResult>> resolve)
{
    /// <summary>
    /// Opens the subscription through <paramref name="subscriber"/> when enumerated, and yields each event completed for
    /// the client. Nothing is opened before the first <c>MoveNextAsync</c>.
    /// </summary>
    public async IAsyncEnumerable<GraphQLResult> EventsAsync(ISubgraphSubscriber subscriber, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var subgraphEvent in subscriber.SubscribeAsync(subgraph, request, cancellationToken))
        {
            yield return await resolve(subgraphEvent, subscriber.TransportForEvent(), cancellationToken);
        }
    }
}
