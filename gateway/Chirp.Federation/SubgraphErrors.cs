using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Contracts;

namespace Chirp.Federation;

/// <summary>
/// What of a subgraph's error reaches the client. A subgraph's message and extensions pass only when its
/// <c>extensions.code</c> is one of the public codes of docs/architecture.md section 3 that a subgraph decides on
/// purpose (<see cref="PassedCodes"/>); any other error (no code, <c>INTERNAL</c>, a library's own code such as a
/// validation failure of the gateway's subgraph document) becomes <c>INTERNAL</c> with a fixed message, because its
/// text may name tables, hosts or internals.
/// </summary>
internal static class SubgraphErrors
{
    /// <summary>The codes whose message and extensions pass to clients.</summary>
    public static IReadOnlySet<string> PassedCodes { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        ErrorCodes.Unauthenticated,
        ErrorCodes.Forbidden,
        ErrorCodes.NotFound,
        ErrorCodes.BadUserInput,
        ErrorCodes.Conflict,
        ErrorCodes.RateLimited,
        ErrorCodes.Unavailable,
    };

    /// <summary>The message shown instead of a subgraph's own for a code outside <see cref="PassedCodes"/>.</summary>
    public const string HiddenMessage = "A service this answer needs failed.";

    /// <summary>The client's message and extensions for one subgraph error object (GraphQL spec section 7.1.2).</summary>
    public static (string Message, JsonObject Extensions) ForClient(JsonElement error)
    {
        var original = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("extensions"u8, out var e) && e.ValueKind == JsonValueKind.Object
            ? e
            : default;
        var code = original.ValueKind == JsonValueKind.Object && original.TryGetProperty("code"u8, out var c) && c.ValueKind == JsonValueKind.String
            ? c.GetString()
            : null;
        if (code is null || !PassedCodes.Contains(code))
        {
            return (HiddenMessage, new JsonObject { ["code"] = ErrorCodes.Internal });
        }

        var message = error.TryGetProperty("message"u8, out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : HiddenMessage;
        var extensions = new JsonObject();
        foreach (var member in original.EnumerateObject())
        {
            if (member.Name is not ("exception" or "stacktrace" or "stackTrace" or "details" or "inner"))
            {
                extensions[member.Name] = JsonNode.Parse(member.Value.GetRawText());
            }
        }

        return (message, extensions);
    }
}
