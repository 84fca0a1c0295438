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

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    return (null, StatusCodes.Status413PayloadTooLarge, $"The request body is larger than {maxBytes} bytes.");
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException e)
        {
            return (null, e.StatusCode, "The request body could not be read.");
        }

        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        var (body, error) = Parse(bytes);
        return error is null ? (body, 0, null) : (null, StatusCodes.Status400BadRequest, "The request body " + error + ".");
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
