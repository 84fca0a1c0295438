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
    /// <summary>The parsed body, or the status (400 or 413) and a message for the client.</summary>
    public static async Task<(JsonNode? Body, int Status, string? Error)> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return (null, StatusCodes.Status413PayloadTooLarge, $"The request body is larger than {maxBytes} bytes.");
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

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > maxBytes)
                {
                    return (null, StatusCodes.Status413PayloadTooLarge, $"The request body is larger than {maxBytes} bytes.");
                }
            }

            var (body, error) = Parse(buffer.AsSpan(0, length));
            return error is null ? (body, 0, null) : (null, StatusCodes.Status400BadRequest, "The request body " + error + ".");
        }
        catch (BadHttpRequestException e)
        {
            return (null, e.StatusCode, "The request body could not be read.");
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
        if (!Utf8.IsValid(utf8))
        {
            return (null, "is not valid UTF-8");
        }

        JsonNode? value;
        try
        {
            value = JsonNode.Parse(utf8, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false, MaxDepth = 64 });
        }
        catch (JsonException)
        {
            return (null, "is not valid JSON or repeats a property name");
        }
        catch (InvalidOperationException)
        {
            // Comparing property names for duplicates reads them as text, which a lone surrogate escape cannot be.
            return (null, "holds a string that is not valid Unicode (a lone surrogate)");
        }

        return IsWellFormed(value) ? (value, null) : (null, "holds a string that is not valid Unicode (a lone surrogate)");
    }

    /// <summary>True when every string and property name in <paramref name="node"/> is well-formed UTF-16.</summary>
    public static bool IsWellFormed(JsonNode? node)
    {
        try
        {
            Walk(node);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }

        static void Walk(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (name, value) in o)
                    {
                        if (!IsWellFormed(name))
                        {
                            throw new InvalidOperationException();
                        }

                        Walk(value);
                    }

                    break;
                case JsonArray a:
                    foreach (var item in a)
                    {
                        Walk(item);
                    }

                    break;
                case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                    if (!IsWellFormed(v.GetValue<string>()))
                    {
                        throw new InvalidOperationException();
                    }

                    break;
            }
        }
    }

    private static bool IsWellFormed(string text) => !HasLoneSurrogate(text);

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
