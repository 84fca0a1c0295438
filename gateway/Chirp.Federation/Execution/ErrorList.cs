using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Contracts;

namespace Chirp.Federation.Execution;

/// <summary>
/// The errors of one operation's response, at client paths (GraphQL spec section 7.1.2): subgraph errors rewritten
/// from merged-response paths, the engine's own, and nulls in non-null positions (one error per failure, section 6.4.4).
/// </summary>
internal sealed class ErrorList(ObjectShape shape)
{
    private static readonly object[] Indexes = [.. Enumerable.Range(0, 1024).Select(i => (object)i)];

    private readonly List<Entry> _entries = [];

    public int Count => _entries.Count;

    /// <summary>A boxed list index, shared for small ones (paths hold them).</summary>
    public static object Index(int i) => i < Indexes.Length ? Indexes[i] : i;

    /// <summary>
    /// Adds a subgraph error at <paramref name="prefix"/> + <paramref name="rest"/>, both in merged-response terms,
    /// rewritten to the client's path: a segment the client did not ask for (an internal key field or alias) ends
    /// the path there. Locations point at the client's field; the subgraph's own locations mean nothing to the client.
    /// </summary>
    public void AddSubgraphError(JsonElement error, IReadOnlyList<object> prefix, List<object> rest)
    {
        var path = new List<object>(prefix.Count + rest.Count);
        OutputField? last = null;
        ObjectShape? current = shape;
        Dictionary<string, ObjectShape>? selection = null;
        foreach (var segment in prefix.Concat(rest))
        {
            if (segment is int i)
            {
                if (last is null)
                {
                    break;
                }

                path.Add(Index(i));
                continue;
            }

            var key = (string)segment;
            if (selection is not null)
            {
                current = selection.Values.FirstOrDefault(s => s.Find(key) is not null);
            }

            var field = current?.Find(key);
            if (field is null)
            {
                break;
            }

            path.Add(key);
            last = field;
            selection = field.Selection;
            current = null;
        }

        var (message, extensions) = SubgraphErrors.ForClient(error);
        _entries.Add(new Entry(path.Count == 0 ? null : [.. path], message, last?.Location, extensions));
    }

    /// <summary>Adds an engine error at a client path; the location is the field's at that path unless given.</summary>
    public void Add(object[] path, string message, string code, (int Line, int Column)? location = null) =>
        _entries.Add(new Entry(path, message, location ?? LocationOf(path), new JsonObject { ["code"] = code }));

    /// <summary>
    /// Reports a null in a non-null position, unless an error at this place, above it or below it explains the
    /// null already (one error per failure, GraphQL spec section 6.4.4).
    /// </summary>
    public void AddNullError(OutputField field, List<object> path)
    {
        foreach (var error in _entries)
        {
            if (error.Path is { } errorPath && Related(errorPath, path))
            {
                return;
            }
        }

        Add([.. path], $"Cannot return null for non-nullable field {field.ParentType}.{field.FieldName}.", ErrorCodes.Internal, field.Location);
    }

    /// <summary>The <c>errors</c> entry, or null when there are none.</summary>
    public JsonArray? ToJson() => _entries.Count == 0 ? null : [.. _entries.Select(e => (JsonNode)e.ToJson())];

    /// <summary>Reads a subgraph error's <c>path</c>: names and indexes, anything else dropped.</summary>
    public static List<object> ReadPath(JsonElement error)
    {
        var path = new List<object>();
        if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("path"u8, out var segments) && segments.ValueKind == JsonValueKind.Array)
        {
            foreach (var segment in segments.EnumerateArray())
            {
                switch (segment.ValueKind)
                {
                    case JsonValueKind.String:
                        path.Add(segment.GetString()!);
                        break;
                    case JsonValueKind.Number when segment.TryGetInt32(out var index):
                        path.Add(Index(index));
                        break;
                }
            }
        }

        return path;
    }

    private (int Line, int Column)? LocationOf(object[] path)
    {
        ObjectShape? current = shape;
        OutputField? last = null;
        foreach (var segment in path)
        {
            if (segment is string key)
            {
                last = current?.Find(key);
                current = last?.Selection?.Values.FirstOrDefault();
            }
        }

        return last?.Location;
    }

    private static bool Related(object[] a, List<object> b)
    {
        var n = Math.Min(a.Length, b.Count);
        for (var i = 0; i < n; i++)
        {
            if (!a[i].Equals(b[i]))
            {
                return false;
            }
        }

        return true;
    }

    private sealed record Entry(object[]? Path, string Message, (int Line, int Column)? Location, JsonObject Extensions)
    {
        public JsonObject ToJson()
        {
            var json = new JsonObject { ["message"] = Message };
            if (Location is { } location)
            {
                json["locations"] = new JsonArray(new JsonObject { ["line"] = location.Line, ["column"] = location.Column });
            }

            if (Path is not null)
            {
                json["path"] = new JsonArray([.. Path.Select(p => p is int i ? JsonValue.Create(i) : (JsonNode)JsonValue.Create((string)p))]);
            }

            json["extensions"] = Extensions;
            return json;
        }
    }
}
