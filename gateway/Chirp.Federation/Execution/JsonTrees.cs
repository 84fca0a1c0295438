using System.Text.Json;
using System.Text.Json.Nodes;

namespace Chirp.Federation.Execution;

/// <summary>Copies of JSON trees that the engine moves between places of a response.</summary>
internal static class JsonTrees
{
    /// <summary>
    /// A copy of <paramref name="node"/> with new objects and arrays but the same leaf values: a leaf parsed from a
    /// subgraph response is a view on that response's parsed bytes, which are never disposed or reused, so two views
    /// can share them. <see cref="JsonNode.DeepClone"/> would copy the bytes of every leaf into a document of its own.
    /// </summary>
    public static JsonNode? Copy(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject obj:
                var objectCopy = new JsonObject();
                foreach (var (key, value) in obj)
                {
                    objectCopy.Add(key, Copy(value));
                }

                return objectCopy;
            case JsonArray array:
                var arrayCopy = new JsonArray();
                foreach (var item in array)
                {
                    arrayCopy.Add(Copy(item));
                }

                return arrayCopy;
            default:
                var leaf = (JsonValue)node;
                return leaf.TryGetValue<JsonElement>(out var element) ? JsonValue.Create(element) : leaf.DeepClone();
        }
    }
}
