using System.Text.Json.Nodes;

namespace Chirp.Federation;

/// <summary>
/// A planned subscription: its root field runs on one subgraph; every event is then completed with the fields that
/// other subgraphs own, as the subscriber, and shaped for the client.
/// </summary>
public sealed class FederatedSubscription
{
    private readonly Func<JsonObject, ISubgraphTransport, CancellationToken, Task<FederatedResult>> _resolve;

    internal FederatedSubscription(
        string subgraph,
        SubgraphRequest request,
        Func<JsonObject, ISubgraphTransport, CancellationToken, Task<FederatedResult>> resolve)
    {
        Subgraph = subgraph;
        Request = request;
        _resolve = resolve;
    }

    /// <summary>The subgraph that serves the subscription field.</summary>
    public string Subgraph { get; }

    /// <summary>The subscription to open on <see cref="Subgraph"/>.</summary>
    public SubgraphRequest Request { get; }

    /// <summary>Completes one event of the subgraph's subscription for the client.</summary>
    /// <param name="eventResponse">The subgraph's event: a GraphQL response object <c>{data?, errors?}</c>; it is consumed.</param>
    /// <param name="transport">Sends the entity fetches, carrying the subscriber's identity.</param>
    /// <param name="cancellationToken">Cancels the fetches.</param>
    public Task<FederatedResult> ResolveEventAsync(JsonObject eventResponse, ISubgraphTransport transport, CancellationToken cancellationToken) =>
        _resolve(eventResponse ?? throw new ArgumentNullException(nameof(eventResponse)), transport, cancellationToken);
}
