using System.Buffers;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.Federation;
using Chirp.GraphQL;
using Chirp.GraphQL.AspNetCore;

namespace Chirp.Gateway.Federation;

/// <summary>
/// One subscription opened on a subgraph over graphql-transport-ws, on behalf of one client subscription. The
/// subscriber's identity assertion travels in <c>connection_init</c> (the subgraph checks it once, when the socket
/// opens). The socket carries this one operation and closes with it.
/// </summary>
public sealed class SubgraphSubscription : IAsyncDisposable
{
    private const string OperationId = "1";
    private static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(10);

    // Events carry a few entity fields; far larger means a broken subgraph, not a bigger event.
    private const int MaxMessageBytes = 4 * 1024 * 1024;

    // One handler for every upstream socket: without it each ClientWebSocket builds its own, a cost per subscription.
    private static readonly HttpMessageInvoker Connector = new(new SocketsHttpHandler { ConnectTimeout = AckTimeout });

    private readonly ClientWebSocket _socket;
    private readonly string _subgraph;
    private bool _completed;

    private SubgraphSubscription(ClientWebSocket socket, string subgraph)
    {
        _socket = socket;
        _subgraph = subgraph;
    }

    /// <summary>Connects to <paramref name="url"/> (http(s) becomes ws(s)), authenticates and subscribes.</summary>
    /// <exception cref="SubscriptionSourceException">The subgraph cannot be reached or refused the connection.</exception>
    public static async Task<SubgraphSubscription> OpenAsync(
        string subgraph, Uri url, string? assertion, SubgraphRequest request, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol(GraphQLWebSocket.SubProtocol);
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(30);
        var subscription = new SubgraphSubscription(socket, subgraph);
        try
        {
            var builder = new UriBuilder(url) { Scheme = url.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(AckTimeout);
            await socket.ConnectAsync(builder.Uri, Connector, timeout.Token);
            await subscription.SendAsync(w =>
            {
                w.WriteString("type", "connection_init");
                if (assertion is not null)
                {
                    w.WriteStartObject("payload");
                    w.WriteString(ChirpHeaders.Identity, assertion);
                    w.WriteEndObject();
                }
            }, timeout.Token);

            while (true)
            {
                var message = await subscription.ReceiveAsync(timeout.Token)
                    ?? throw subscription.Ended("closed the socket before acknowledging it");
                var type = message["type"]?.GetValue<string>();
                if (type == "connection_ack")
                {
                    break;
                }

                if (type == "ping")
                {
                    await subscription.SendAsync(w => w.WriteString("type", "pong"), timeout.Token);
                }
            }

            await subscription.SendAsync(w =>
            {
                w.WriteString("id", OperationId);
                w.WriteString("type", "subscribe");
                w.WriteStartObject("payload");
                w.WriteString("query", request.Query);
                if (request.OperationName is not null)
                {
                    w.WriteString("operationName", request.OperationName);
                }

                if (request.Variables is not null)
                {
                    w.WritePropertyName("variables");
                    request.Variables.WriteTo(w);
                }

                w.WriteEndObject();
            }, cancellationToken);
            return subscription;
        }
        catch (Exception e) when (e is WebSocketException or IOException or JsonException or InvalidOperationException ||
                                  (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            await subscription.DisposeAsync();
            throw subscription.Ended("cannot be reached", e);
        }
        catch
        {
            await subscription.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The subgraph's events: each a GraphQL response object <c>{data?, errors?}</c>. Ends when the subgraph completes
    /// the operation; throws <see cref="SubscriptionSourceException"/> when it refuses it or the socket ends first.
    /// </summary>
    public async IAsyncEnumerable<JsonObject> ReadEventsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            JsonObject? message;
            try
            {
                message = await ReceiveAsync(cancellationToken);
            }
            catch (Exception e) when (e is WebSocketException or IOException or JsonException)
            {
                throw Ended("dropped the connection", e);
            }

            if (message is null)
            {
                throw Ended($"closed the socket ({(int?)_socket.CloseStatus} {_socket.CloseStatusDescription})");
            }

            switch (message["type"]?.GetValue<string>())
            {
                case "next" when message["payload"] is JsonObject payload:
                    yield return payload;
                    break;
                case "error":
                    _completed = true;
                    throw new SubscriptionSourceException(
                        message["payload"] as JsonArray ?? [GraphQLErrors.Create("The subscription was refused.", ErrorCodes.Internal)],
                        $"The {_subgraph} subgraph refused the subscription.");
                case "complete":
                    _completed = true;
                    yield break;
                case "ping":
                    await SendAsync(w => w.WriteString("type", "pong"), cancellationToken);
                    break;
            }
        }
    }

    /// <summary>Completes the operation if it still runs, then closes the socket (1000).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                if (!_completed)
                {
                    await SendAsync(w =>
                    {
                        w.WriteString("id", OperationId);
                        w.WriteString("type", "complete");
                    }, timeout.Token);
                }

                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // Already gone; nothing leaks, the socket is disposed below.
        }
        finally
        {
            _socket.Dispose();
        }
    }

    private SubscriptionSourceException Ended(string what, Exception? inner = null) => new(
        [GraphQLErrors.Create($"The {_subgraph} service ended the subscription; subscribe again.", ErrorCodes.Unavailable)],
        $"The {_subgraph} subgraph {what}.",
        inner);

    private async Task SendAsync(Action<Utf8JsonWriter> writeMembers, CancellationToken cancellationToken) =>
        await _socket.SendAsync(TransportWsFrames.Serialize(writeMembers), WebSocketMessageType.Text, true, cancellationToken);

    /// <summary>The next message as a JSON object, or null when the socket closed.</summary>
    /// <exception cref="JsonException">The subgraph sent something that is not a JSON object.</exception>
    private async Task<JsonObject?> ReceiveAsync(CancellationToken cancellationToken)
    {
        var (frame, buffer, length) = await TransportWsFrames.ReceiveAsync(_socket, MaxMessageBytes, cancellationToken);
        switch (frame)
        {
            case TransportWsFrame.Close:
                return null;
            case TransportWsFrame.Text:
                try
                {
                    return JsonNode.Parse(buffer.AsSpan(0, length)) as JsonObject ?? throw new JsonException("A message is not a JSON object.");
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer!);
                }

            default:
                throw new JsonException($"The subgraph sent a {frame} message.");
        }
    }
}
