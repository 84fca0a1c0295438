using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.Federation;
using Chirp.GraphQL.AspNetCore;

namespace Chirp.Gateway.Federation;

/// <summary>
/// Posts subgraph fetches as GraphQL over HTTP, tagged with the caller's identity assertion (docs/architecture.md
/// section 2). The engine's request body goes out as written (pooled memory, no copy); the response is read into
/// pooled memory and handed to the engine unparsed into objects.
/// </summary>
/// <param name="http">The <see cref="HttpClientName"/> client.</param>
/// <param name="urls">Where each subgraph listens.</param>
/// <param name="assertion">The caller's identity assertion, or null for an anonymous caller.</param>
/// <param name="onCredentialsChanged">
/// Called with the user id of a <see cref="ChirpHeaders.CredentialsChanged"/> response header; a GraphQL error it
/// returns is added to the response. Null to ignore the header.
/// </param>
public sealed class HttpSubgraphTransport(HttpClient http, SubgraphUrls urls, string? assertion, Func<string, Task<JsonObject?>>? onCredentialsChanged)
    : ISubgraphTransport
{
    /// <summary>Name of the <see cref="HttpClient"/> used for subgraph fetches; tests add handlers to it to see every fetch.</summary>
    public const string HttpClientName = SubgraphHttpClient.Name;

    /// <summary>A larger subgraph answer is treated as a failure of that subgraph (it would only exhaust memory).</summary>
    public const int MaxResponseBytes = 32 * 1024 * 1024;

    private static readonly MediaTypeHeaderValue Json = new("application/json") { CharSet = "utf-8" };

    // GraphQL-over-HTTP's response type first, plain JSON for subgraphs that predate it. Written as text: parsed header
    // objects cost several allocations on every fetch.
    private const string Accept = GraphQLHttpEndpoint.GraphQLResponseMediaType + ", application/json;q=0.9";

    /// <inheritdoc />
    public async Task<SubgraphResponse> ExecuteAsync(string subgraphName, SubgraphRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var content = new ReadOnlyMemoryContent(request.Body);
        content.Headers.ContentType = Json;
        // Query fetches (entity fetches of a mutation included) only read: the client's pipeline may retry them.
        using var message = new SubgraphFetchMessage(urls.Get(subgraphName))
        {
            Content = content,
            IsIdempotent = !request.Query.StartsWith("mutation", StringComparison.Ordinal),
        };
        message.Headers.TryAddWithoutValidation("Accept", Accept);
        if (assertion is not null)
        {
            message.Headers.TryAddWithoutValidation(ChirpHeaders.Identity, assertion);
        }

        var startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        using var activity = FederationTelemetry.StartFetch(subgraphName, request);
        Exception? failure = null;
        try
        {
            // Headers first, so the body goes straight from the connection into one pooled buffer of its announced size.
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            // The raw header, not the parsed ContentType: parsing it into an object on every fetch showed in profiles.
            var media = response.Content.Headers.NonValidated.TryGetValues("Content-Type", out var contentType) ? contentType.ToString() : null;
            if (!MediaTypes.HasMediaType(media, GraphQLHttpEndpoint.GraphQLResponseMediaType) && !MediaTypes.HasMediaType(media, "application/json"))
            {
                throw new SubgraphUnavailableException(subgraphName, $"answered {(int)response.StatusCode} without a GraphQL response");
            }

            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var result = await SubgraphResponse.ReadAsync(stream, response.Content.Headers.ContentLength, MaxResponseBytes, cancellationToken);
            if (onCredentialsChanged is not null && response.Headers.TryGetValues(ChirpHeaders.CredentialsChanged, out var changed) &&
                await onCredentialsChanged(changed.First()) is { } error)
            {
                result.AddError(error);
            }

            return result;
        }
        catch (Exception e) when (e is HttpRequestException or System.Net.Sockets.SocketException or JsonException or Polly.Timeout.TimeoutRejectedException
            || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // A reset while connecting can surface as a bare SocketException; a resilience timeout as TimeoutRejectedException.
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
