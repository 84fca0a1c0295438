using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Federation.Execution;

namespace Chirp.Federation;

/// <summary>
/// A subgraph's GraphQL response object <c>{data?, errors?}</c> (GraphQL spec section 7.1), kept as its UTF-8 bytes
/// in pooled memory with a <see cref="JsonDocument"/> index over them: the engine reads values where they lie and
/// copies their bytes into the client's response, so nothing is parsed into objects. The engine disposes it once
/// the client's response is written.
/// </summary>
public sealed class SubgraphResponse : IDisposable
{
    private readonly PooledBuffer _body;
    private readonly JsonDocument _document;
    private List<JsonObject>? _extraErrors;

    private SubgraphResponse(PooledBuffer body)
    {
        _body = body;
        try
        {
            _document = JsonDocument.Parse(body.WrittenMemory);
        }
        catch
        {
            body.Dispose();
            throw;
        }

        if (_document.RootElement.ValueKind != JsonValueKind.Object)
        {
            Dispose();
            throw new JsonException("A GraphQL response must be a JSON object.");
        }
    }

    /// <summary>The response object.</summary>
    public JsonElement Root => _document.RootElement;

    /// <summary>The body's length in bytes.</summary>
    internal int Length => _body.Length;

    /// <summary>Errors the transport adds to the subgraph's own (for example a follow-up action that failed).</summary>
    internal IReadOnlyList<JsonObject> ExtraErrors => _extraErrors ?? (IReadOnlyList<JsonObject>)[];

    /// <summary>Reads a response body of at most <paramref name="maxBytes"/> bytes.</summary>
    /// <param name="body">The body stream; read to its end.</param>
    /// <param name="contentLength">The announced length, if any: the buffer is rented at that size at once.</param>
    /// <param name="maxBytes">Larger bodies are refused.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="JsonException">The body is not a JSON object, or is larger than <paramref name="maxBytes"/>.</exception>
    public static async Task<SubgraphResponse> ReadAsync(Stream body, long? contentLength, int maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        var buffer = new PooledBuffer(contentLength is > 0 and < int.MaxValue ? (int)Math.Min(contentLength.Value + 1, maxBytes + 1L) : 16 * 1024);
        try
        {
            while (true)
            {
                var read = await body.ReadAsync(buffer.GetMemory(4096), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                buffer.Advance(read);
                if (buffer.Length > maxBytes)
                {
                    throw new JsonException($"The response is larger than {maxBytes} bytes.");
                }
            }
        }
        catch
        {
            buffer.Dispose();
            throw;
        }

        return new SubgraphResponse(buffer);
    }

    /// <summary>A response from a JSON object (subscription events, introspection, tests).</summary>
    public static SubgraphResponse FromJson(JsonObject response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var buffer = new PooledBuffer();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            response.WriteTo(writer);
        }

        return new SubgraphResponse(buffer);
    }

    /// <summary>Adds an error to those of the response, after them.</summary>
    public void AddError(JsonObject error) => (_extraErrors ??= []).Add(error ?? throw new ArgumentNullException(nameof(error)));

    /// <summary>Where <paramref name="element"/> (an element of this response) starts in the body: its identity.</summary>
    internal int OffsetOf(JsonElement element)
    {
        var raw = JsonMarshal.GetRawUtf8Value(element);
        return (int)Unsafe.ByteOffset(ref MemoryMarshal.GetArrayDataReference(_body.Array), ref MemoryMarshal.GetReference(raw));
    }

    public void Dispose()
    {
        _document.Dispose();
        _body.Dispose();
    }
}
