using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;

namespace Chirp.GraphQL.AspNetCore;

/// <summary>What <see cref="TransportWsFrames.ReceiveAsync"/> read.</summary>
public enum TransportWsFrame
{
    /// <summary>A whole text message, in the rented buffer.</summary>
    Text,

    /// <summary>A binary message (graphql-transport-ws sends text only); nothing is kept.</summary>
    Binary,

    /// <summary>A message longer than the limit; the rest was not read.</summary>
    TooBig,

    /// <summary>The peer's close frame.</summary>
    Close,
}

/// <summary>
/// Reading and writing graphql-transport-ws messages on a <see cref="WebSocket"/>, shared by the server side
/// (<see cref="GraphQLWebSocket"/>) and the gateway's subscriptions to subgraphs, so both treat frames alike.
/// </summary>
public static class TransportWsFrames
{
    /// <summary>
    /// Waits for the next message with no buffer held (an idle socket pins no memory), then reads it whole into a
    /// buffer rented from <see cref="ArrayPool{T}.Shared"/>, at most <paramref name="maxBytes"/> bytes. For
    /// <see cref="TransportWsFrame.Text"/> the caller returns <c>Buffer</c> to the pool; otherwise it is null.
    /// Throws <see cref="WebSocketException"/> when the connection fails.
    /// </summary>
    public static async Task<(TransportWsFrame Frame, byte[]? Buffer, int Length)> ReceiveAsync(WebSocket socket, int maxBytes, CancellationToken cancellationToken)
    {
        var peek = await socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken);
        if (peek.MessageType == WebSocketMessageType.Close)
        {
            return (TransportWsFrame.Close, null, 0);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(4096, maxBytes + 1));
        var length = 0;
        try
        {
            ValueWebSocketReceiveResult result;
            do
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                result = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
                length += result.Count;
                if (length > maxBytes)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return (TransportWsFrame.TooBig, null, 0);
                }
            }
            while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

            var frame = result.MessageType switch
            {
                WebSocketMessageType.Close => TransportWsFrame.Close,
                WebSocketMessageType.Binary => TransportWsFrame.Binary,
                _ => TransportWsFrame.Text,
            };
            if (frame != TransportWsFrame.Text)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                return (frame, null, 0);
            }

            return (frame, buffer, length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>One message as UTF-8 JSON: <c>{</c>, the members <paramref name="writeMembers"/> writes, <c>}</c>.</summary>
    public static ReadOnlyMemory<byte> Serialize(Action<Utf8JsonWriter> writeMembers)
    {
        ArgumentNullException.ThrowIfNull(writeMembers);
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writeMembers(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }
}
