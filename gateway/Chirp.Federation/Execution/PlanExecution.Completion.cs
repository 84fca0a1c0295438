using System.Text.Json.Nodes;
using Chirp.Contracts;
using GraphQLParser.AST;

namespace Chirp.Federation.Execution;

/// <summary>
/// The second half of a plan's run: the client's response built from the merged subgraph data, in the client's
/// shape and order, with null propagation and errors at client paths.
/// </summary>
internal sealed partial class PlanExecution
{
    /// <summary>
    /// Adds a subgraph error at <paramref name="prefix"/> + <paramref name="rest"/>, both in merged-response terms,
    /// rewritten to the client's path: a segment the client did not ask for (an internal key field or alias) ends
    /// the path there. Locations point at the client's field; the subgraph's own locations mean nothing to the client.
    /// </summary>
    private void AddSubgraphError(JsonObject error, IReadOnlyList<object> prefix, List<object> rest)
    {
        var path = new List<object>(prefix.Count + rest.Count);
        OutputField? last = null;
        ObjectShape? shape = plan.Shape;
        Dictionary<string, ObjectShape>? selection = null;
        foreach (var segment in prefix.Concat(rest))
        {
            if (segment is int i)
            {
                if (last is null)
                {
                    break;
                }

                path.Add(i);
                continue;
            }

            var key = (string)segment;
            if (selection is not null)
            {
                shape = selection.Values.FirstOrDefault(s => s.Find(key) is not null);
            }

            var field = shape?.Find(key);
            if (field is null)
            {
                break;
            }

            path.Add(key);
            last = field;
            selection = field.Selection;
            shape = null;
        }

        var (message, extensions) = SubgraphErrors.ForClient(error);
        _errors.Add(new ErrorEntry(path.Count == 0 ? null : [.. path], message, last?.Location, extensions));
    }

    private void AddError(object[] path, string message, string code, (int Line, int Column)? location = null) =>
        _errors.Add(new ErrorEntry(path, message, location ?? LocationOf(path), new JsonObject { ["code"] = code }));

    private (int Line, int Column)? LocationOf(object[] path)
    {
        ObjectShape? shape = plan.Shape;
        OutputField? last = null;
        foreach (var segment in path)
        {
            if (segment is string key)
            {
                last = shape?.Find(key);
                shape = last?.Selection?.Values.FirstOrDefault();
            }
        }

        return last?.Location;
    }

    private FederatedResult Complete()
    {
        var path = new List<object>();
        JsonObject? data = [];
        foreach (var field in plan.Shape.Fields)
        {
            if (!CompleteField(field, plan.Shape, _data, path, out var value))
            {
                data = null;
                break;
            }

            data.Add(field.ResponseKey, value);
        }

        JsonArray? errors = null;
        if (_errors.Count > 0)
        {
            errors = [.. _errors.Select(e => (JsonNode)e.ToJson())];
        }

        return new FederatedResult { HasData = true, Data = data, Errors = errors };
    }

    /// <returns>False when the field is null in a non-null position, so the parent must become null.</returns>
    private bool CompleteField(OutputField field, ObjectShape shape, JsonObject raw, List<object> path, out JsonNode? value)
    {
        path.Add(field.ResponseKey);
        try
        {
            if (field.IsTypename)
            {
                value = JsonValue.Create(shape.TypeName);
                return true;
            }

            if (field.Denied is { } denied)
            {
                value = null;
                AddError([.. path], denied.Message, denied.Code, field.Location);
                return field.Type is not GraphQLNonNullType;
            }

            raw.TryGetPropertyValue(field.ResponseKey, out var rawValue);
            if (field.IsOpaque)
            {
                value = rawValue?.DeepClone();
                return value is not null || field.Type is not GraphQLNonNullType;
            }

            return CompleteValue(field, field.Type!, rawValue, path, out value);
        }
        finally
        {
            path.RemoveAt(path.Count - 1);
        }
    }

    private bool CompleteValue(OutputField field, GraphQLType type, JsonNode? raw, List<object> path, out JsonNode? value)
    {
        if (type is GraphQLNonNullType nonNull)
        {
            if (!CompleteValue(field, nonNull.Type, raw, path, out value))
            {
                return false;
            }

            if (value is null)
            {
                AddNullError(field, path);
                return false;
            }

            return true;
        }

        value = null;
        if (raw is null)
        {
            return true;
        }

        if (type is GraphQLListType list)
        {
            if (raw is not JsonArray items)
            {
                return true;
            }

            var completedItems = JsonTrees.RentItems(items.Count);
            for (var i = 0; i < items.Count; i++)
            {
                path.Add(i);
                var ok = CompleteValue(field, list.Type, items[i], path, out var item);
                path.RemoveAt(path.Count - 1);
                if (!ok)
                {
                    // An item that must not be null is: the list is null.
                    JsonTrees.ReturnItems(completedItems);
                    return true;
                }

                completedItems[i] = item;
            }

            value = JsonTrees.ArrayOf(completedItems, items.Count);
            return true;
        }

        if (field.Selection is null)
        {
            value = JsonTrees.Copy(raw);
            return true;
        }

        if (raw is not JsonObject obj)
        {
            return true;
        }

        ObjectShape? shape;
        if (field.IsAbstract)
        {
            var typeName = (obj["__typename"] as JsonValue)?.GetValue<string>();
            shape = typeName is null ? null : field.Selection.GetValueOrDefault(typeName);
        }
        else
        {
            shape = null;
            foreach (var only in field.Selection.Values)
            {
                shape = only;
                break;
            }
        }

        if (shape is null)
        {
            return true;
        }

        var members = JsonTrees.RentMembers(shape.Fields.Count);
        for (var i = 0; i < shape.Fields.Count; i++)
        {
            var child = shape.Fields[i];
            if (!CompleteField(child, shape, obj, path, out var childValue))
            {
                // A non-null child is null: this object is null.
                JsonTrees.ReturnMembers(members);
                return true;
            }

            members[i] = new(child.ResponseKey, childValue);
        }

        value = JsonTrees.ObjectOf(members, shape.Fields.Count);
        return true;
    }

    /// <summary>
    /// Reports a null in a non-null position, unless an error at this place, above it or below it explains the
    /// null already (one error per failure, GraphQL spec section 6.4.4).
    /// </summary>
    private void AddNullError(OutputField field, List<object> path)
    {
        foreach (var error in _errors)
        {
            if (error.Path is { } errorPath && Related(errorPath, path))
            {
                return;
            }
        }

        AddError([.. path], $"Cannot return null for non-nullable field {field.ParentType}.{field.FieldName}.", ErrorCodes.Internal, field.Location);
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

    private sealed record ErrorEntry(object[]? Path, string Message, (int Line, int Column)? Location, JsonObject Extensions)
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
