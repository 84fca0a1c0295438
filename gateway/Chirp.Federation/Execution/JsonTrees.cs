using System.Buffers;
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
                var members = RentMembers(obj.Count);
                for (var i = 0; i < obj.Count; i++)
                {
                    var (key, value) = obj.GetAt(i);
                    members[i] = new(key, Copy(value));
                }

                return ObjectOf(members, obj.Count);
            case JsonArray array:
                var items = RentItems(array.Count);
                for (var i = 0; i < array.Count; i++)
                {
                    items[i] = Copy(array[i]);
                }

                return ArrayOf(items, array.Count);
            default:
                var leaf = (JsonValue)node;
                return leaf.TryGetValue<JsonElement>(out var element) ? JsonValue.Create(element) : leaf.DeepClone();
        }
    }

    /// <summary>A scratch array for <see cref="ObjectOf"/> of at least <paramref name="count"/> members.</summary>
    public static KeyValuePair<string, JsonNode?>[] RentMembers(int count) => ArrayPool<KeyValuePair<string, JsonNode?>>.Shared.Rent(count);

    /// <summary>A scratch array for <see cref="ArrayOf"/> of at least <paramref name="count"/> items.</summary>
    public static JsonNode?[] RentItems(int count) => ArrayPool<JsonNode?>.Shared.Rent(count);

    /// <summary>
    /// An object of the first <paramref name="count"/> members of <paramref name="members"/>, in that order, whose member
    /// table is allocated once at its final size (adding members one by one grows it several times); returns the
    /// scratch array to the pool.
    /// </summary>
    public static JsonObject ObjectOf(KeyValuePair<string, JsonNode?>[] members, int count)
    {
        var result = new JsonObject(new ArraySegment<KeyValuePair<string, JsonNode?>>(members, 0, count));
        ReturnMembers(members);
        return result;
    }

    /// <summary>An array of the first <paramref name="count"/> items, sized once; returns the scratch array to the pool.</summary>
    public static JsonArray ArrayOf(JsonNode?[] items, int count)
    {
        var result = new JsonArray(items.AsSpan(0, count));
        ReturnItems(items);
        return result;
    }

    /// <summary>Gives back a scratch array of <see cref="RentMembers"/> that was not turned into an object.</summary>
    public static void ReturnMembers(KeyValuePair<string, JsonNode?>[] members) =>
        ArrayPool<KeyValuePair<string, JsonNode?>>.Shared.Return(members, clearArray: true);

    /// <summary>Gives back a scratch array of <see cref="RentItems"/> that was not turned into an array.</summary>
    public static void ReturnItems(JsonNode?[] items) => ArrayPool<JsonNode?>.Shared.Return(items, clearArray: true);
}
