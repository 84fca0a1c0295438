using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;

namespace Chirp.GraphQL.AspNetCore;

/// <summary>
/// Reads a JSON request body safely: at most a given number of bytes (else 413), valid UTF-8 and JSON (else 400),
/// and no string that is not well-formed Unicode (a lone surrogate escape such as <c>"\ud800"</c>; else 400),
/// so that no later step meets text it cannot read or write.
/// </summary>
public static class JsonRequestBody
{
    private static readonly JsonDocumentOptions Options = new() { AllowDuplicateProperties = false, MaxDepth = 64 };

    /// <summary>The parsed body as a tree, or the status (400 or 413) and a message for the client.</summary>
    public static Task<(JsonNode? Body, int Status, string? Error)> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken) =>
        ReadAsync(request, maxBytes, static body => JsonSerializer.SerializeToNode(body), cancellationToken);

    /// <summary>
    /// Reads the body into pooled memory, checks it as <see cref="Parse"/> does and hands its root to
    /// <paramref name="read"/>, which must copy out what it keeps: the element is valid only during the call. Returns
    /// what <paramref name="read"/> returned, or the status (400 or 413) and a message for the client.
    /// </summary>
    public static async Task<(T? Value, int Status, string? Error)> ReadAsync<T>(HttpRequest request, long maxBytes, Func<JsonElement, T> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(read);
        if (request.ContentLength > maxBytes)
        {
            return (default, StatusCodes.Status413PayloadTooLarge, $"The request body is larger than {maxBytes} bytes.");
        }

        // Pooled: a fresh chunk and a growing stream per request were most of what a GraphQL request cost to read.
        var buffer = ArrayPool<byte>.Shared.Rent(request.ContentLength is > 0 and var announced && announced < maxBytes ? (int)announced + 1 : 4096);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(buffer.Length * 2L, maxBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var count = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (count == 0)
                {
                    break;
                }

                length += count;
                if (length > maxBytes)
                {
                    return (default, StatusCodes.Status413PayloadTooLarge, $"The request body is larger than {maxBytes} bytes.");
                }
            }

            // A document, not a tree: its index lives in pooled memory and strings are read only when asked for.
            var (document, error) = ParseDocument(buffer.AsMemory(0, length));
            if (document is null)
            {
                return (default, StatusCodes.Status400BadRequest, "The request body " + error + ".");
            }

            using (document)
            {
                return (read(document.RootElement), 0, null);
            }
        }
        catch (BadHttpRequestException e)
        {
            return (default, e.StatusCode, "The request body could not be read.");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Parses UTF-8 JSON text that came from a client. Returns the value, or null and what is wrong with the text
    /// ("is not valid JSON", "repeats a property name", "holds a string that is not valid Unicode"); never throws.
    /// A repeated property name is refused (RFC 8259 section 4: names SHOULD be unique) rather than guessed at.
    /// </summary>
    public static (JsonNode? Value, string? Error) Parse(ReadOnlySpan<byte> utf8)
    {
        if (Check(utf8) is { } error)
        {
            return (null, error);
        }

        try
        {
            return (JsonNode.Parse(utf8, documentOptions: Options), null);
        }
        catch (JsonException)
        {
            return (null, "is not valid JSON or repeats a property name");
        }
    }

    /// <summary>
    /// <see cref="Parse"/> into a <see cref="JsonDocument"/> over <paramref name="utf8"/> (not copied: keep the memory
    /// until the document is disposed), for readers that need no tree.
    /// </summary>
    public static (JsonDocument? Document, string? Error) ParseDocument(ReadOnlyMemory<byte> utf8)
    {
        if (Check(utf8.Span) is { } error)
        {
            return (null, error);
        }

        try
        {
            return (JsonDocument.Parse(utf8, Options), null);
        }
        catch (JsonException)
        {
            return (null, "is not valid JSON or repeats a property name");
        }
    }

    // Valid UTF-8 bytes cannot encode a lone surrogate; only an escape can (\ud800), so only escaped strings are read.
    // Property names are checked here too: comparing names for duplicates would otherwise meet one it cannot read.
    private static string? Check(ReadOnlySpan<byte> utf8)
    {
        if (!Utf8.IsValid(utf8))
        {
            return "is not valid UTF-8";
        }

        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = Options.MaxDepth });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped &&
                    HasLoneSurrogate(reader.GetString()!))
                {
                    return "holds a string that is not valid Unicode (a lone surrogate)";
                }
            }
        }
        catch (JsonException)
        {
            return "is not valid JSON or repeats a property name";
        }
        catch (InvalidOperationException)
        {
            return "holds a string that is not valid Unicode (a lone surrogate)";
        }

        return null;
    }

    private static bool HasLoneSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                {
                    return true;
                }

                i++;
            }
            else if (char.IsLowSurrogate(text[i]))
            {
                return true;
            }
        }

        return false;
    }
}
