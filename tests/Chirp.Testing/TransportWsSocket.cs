using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Chirp.Testing;

/// <summary>
/// A bare WebSocket speaking graphql-transport-ws frame by frame, for tests of the protocol's edges (bad frames,
/// close codes) that a well-behaved client library never sends. Everyday subscriptions in tests use the real
/// <c>graphql-ws</c> client instead.
/// </summary>
public sealed class TransportWsSocket : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;

    private TransportWsSocket(ClientWebSocket socket) => _socket = socket;

    /// <summary>The subprotocol the server chose, or null.</summary>
    public string? SubProtocol => _socket.SubProtocol;

    /// <summary>The close code the server sent, once the socket closed.</summary>
    public int? CloseCode => (int?)_socket.CloseStatus;

    /// <summary>The close reason the server sent.</summary>
    public string? CloseReason => _socket.CloseStatusDescription;

    /// <summary>Connects to <paramref name="baseAddress"/>'s <c>/graphql</c> offering <paramref name="subProtocols"/> (default: graphql-transport-ws).</summary>
    public static async Task<TransportWsSocket> ConnectAsync(Uri baseAddress, params string[] subProtocols)
    {
        var socket = new ClientWebSocket();
        foreach (var protocol in subProtocols.Length == 0 ? ["graphql-transport-ws"] : subProtocols)
        {
            socket.Options.AddSubProtocol(protocol);
        }

        var uri = new UriBuilder(new Uri(baseAddress, "/graphql")) { Scheme = "ws" }.Uri;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(uri, timeout.Token);
        return new TransportWsSocket(socket);
    }

    /// <summary>Connects, sends <c>connection_init</c> with the bearer token (if any) and waits for the ack.</summary>
    public static async Task<TransportWsSocket> OpenAsync(Uri baseAddress, string? accessToken)
    {
        var socket = await ConnectAsync(baseAddress);
        await socket.SendAsync(accessToken is null
            ? new JsonObject { ["type"] = "connection_init" }
            : new JsonObject { ["type"] = "connection_init", ["payload"] = new JsonObject { ["Authorization"] = "Bearer " + accessToken } });
        var ack = await socket.ReceiveAsync(TimeSpan.FromSeconds(10));
        if (ack?["type"]?.GetValue<string>() != "connection_ack")
        {
            throw new InvalidOperationException($"No connection_ack: {ack?.ToJsonString() ?? $"closed {socket.CloseCode} {socket.CloseReason}"}");
        }

        return socket;
    }

    /// <summary>Sends a <c>subscribe</c> message.</summary>
    public Task SubscribeAsync(string id, string query, JsonObject? variables = null) => SendAsync(new JsonObject
    {
        ["id"] = id,
        ["type"] = "subscribe",
        ["payload"] = new JsonObject { ["query"] = query, ["variables"] = variables },
    });

    /// <summary>Sends one JSON message as a text frame.</summary>
    public Task SendAsync(JsonNode message) => SendTextAsync(message.ToJsonString());

    /// <summary>Sends raw text as one text frame.</summary>
    public async Task SendTextAsync(string text)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, timeout.Token);
    }

    /// <summary>Sends raw bytes as one binary frame.</summary>
    public async Task SendBinaryAsync(byte[] bytes)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _socket.SendAsync(bytes, WebSocketMessageType.Binary, true, timeout.Token);
    }

    /// <summary>
    /// The next message, or null when the socket closed (then <see cref="CloseCode"/> says how).
    /// Throws <see cref="TimeoutException"/> when nothing arrives within <paramref name="timeout"/>.
    /// </summary>
    public async Task<JsonObject?> ReceiveAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, cts.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }

                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    return JsonNode.Parse(message.ToArray())!.AsObject();
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Nothing arrived within {timeout}.");
        }
        catch (WebSocketException) when (_socket.State is WebSocketState.Aborted or WebSocketState.Closed)
        {
            return null;
        }
    }

    /// <summary>Reads until the socket closes and returns the close code; throws <see cref="TimeoutException"/> when it stays open.</summary>
    public async Task<int?> WaitForCloseAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"The socket stayed open for {timeout}.");
            }

            if (await ReceiveAsync(left) is null)
            {
                return CloseCode;
            }
        }
    }

    /// <summary>Messages that arrive within <paramref name="window"/> (none expected, in most tests).</summary>
    public async Task<List<JsonObject>> DrainAsync(TimeSpan window)
    {
        var received = new List<JsonObject>();
        try
        {
            while (await ReceiveAsync(window) is { } message)
            {
                received.Add(message);
            }
        }
        catch (TimeoutException)
        {
        }

        return received;
    }

    /// <summary>Closes normally if still open.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or JsonException)
        {
        }

        _socket.Dispose();
    }
}
