using System.Text.Json;
using System.Runtime.InteropServices;
using GraphQLParser.AST;

namespace Chirp.Federation.Execution;

/// <summary>
/// Writes the client's <c>data</c> (GraphQL spec section 6.4, "Value Completion") from merged subgraph responses, in
/// the client's shape and field order, as UTF-8 JSON: leaves are copied as the subgraphs wrote them, objects and lists
/// follow the shape. A null in a non-null position nulls the nearest nullable parent (section 6.4.4, "Handling Field
/// Errors") by cutting the output back to where that parent began. Pure: it reads the store and writes the output and
/// the errors, nothing else.
/// </summary>
internal sealed class ResponseCompletion
{
    private static readonly byte[] Null = "null"u8.ToArray();

    private readonly ResultStore _store;
    private readonly ErrorList _errors;
    private readonly PooledBuffer _output;
    private readonly List<object> _path = [];

    private ResponseCompletion(ResultStore store, ErrorList errors, PooledBuffer output)
    {
        _store = store;
        _errors = errors;
        _output = output;
    }

    private enum Outcome
    {
        /// <summary>A value was written.</summary>
        Value,

        /// <summary><c>null</c> was written in a nullable position.</summary>
        Null,

        /// <summary>A null in a non-null position: the parent must become null (what was written is to be cut).</summary>
        Invalid,
    }

    /// <summary>Writes the <c>data</c> object of <paramref name="shape"/> (the operation's root selection).</summary>
    /// <returns>False when <c>data</c> itself is null (a non-null root field is null); nothing is left in <paramref name="output"/> then.</returns>
    public static bool Write(ObjectShape shape, ResultStore store, ErrorList errors, PooledBuffer output)
    {
        var completion = new ResponseCompletion(store, errors, output);
        var start = output.Length;
        var mark = store.Mark;
        var root = store.PushRoot();
        var written = completion.WriteObject(shape, root);
        store.Pop(mark);
        if (!written)
        {
            output.Truncate(start);
        }

        return written;
    }

    /// <returns>False when a non-null field of the object is null, so the object is null.</returns>
    private bool WriteObject(ObjectShape shape, Merged obj)
    {
        _output.Write((byte)'{');
        for (var i = 0; i < shape.Fields.Count; i++)
        {
            if (i > 0)
            {
                _output.Write((byte)',');
            }

            var field = shape.Fields[i];
            _output.Write(field.PropertyJson);
            if (CompleteField(field, shape, obj) == Outcome.Invalid)
            {
                return false;
            }
        }

        _output.Write((byte)'}');
        return true;
    }

    private Outcome CompleteField(OutputField field, ObjectShape shape, Merged obj)
    {
        _path.Add(field.ResponseKey);
        try
        {
            if (field.IsTypename)
            {
                _output.Write(shape.TypeNameJson);
                return Outcome.Value;
            }

            if (field.Denied is { } denied)
            {
                _output.Write(Null);
                _errors.Add([.. _path], denied.Message, denied.Code, field.Location);
                return field.Type is GraphQLNonNullType ? Outcome.Invalid : Outcome.Null;
            }

            if (field.IsOpaque)
            {
                if (_store.TryGetLeaf(obj, field.ResponseKeyUtf8, out var opaque) && opaque.ValueKind != JsonValueKind.Null)
                {
                    _output.Write(JsonMarshal.GetRawUtf8Value(opaque));
                    return Outcome.Value;
                }

                _output.Write(Null);
                return field.Type is GraphQLNonNullType ? Outcome.Invalid : Outcome.Null;
            }

            var mark = _store.Mark;
            var kind = _store.PushMember(obj, field.ResponseKeyUtf8, out var value);
            var outcome = CompleteValue(field, field.Type!, kind, value);
            _store.Pop(mark);
            return outcome;
        }
        finally
        {
            _path.RemoveAt(_path.Count - 1);
        }
    }

    private Outcome CompleteValue(OutputField field, GraphQLType type, JsonValueKind kind, Merged value)
    {
        if (type is GraphQLNonNullType nonNull)
        {
            var inner = CompleteValue(field, nonNull.Type, kind, value);
            if (inner == Outcome.Null)
            {
                _errors.AddNullError(field, _path);
                return Outcome.Invalid;
            }

            return inner;
        }

        if (kind is JsonValueKind.Undefined or JsonValueKind.Null || value.IsNull)
        {
            _output.Write(Null);
            return Outcome.Null;
        }

        if (type is GraphQLListType list)
        {
            return kind == JsonValueKind.Array ? CompleteList(field, list, value) : WriteNull();
        }

        if (field.Selection is null)
        {
            _output.Write(JsonMarshal.GetRawUtf8Value(_store.Leaf(value)));
            return Outcome.Value;
        }

        if (kind != JsonValueKind.Object || ShapeOf(field, value) is not { } shape)
        {
            return WriteNull();
        }

        var start = _output.Length;
        if (!WriteObject(shape, value))
        {
            // A non-null child is null: this object is null.
            _output.Truncate(start);
            return WriteNull();
        }

        return Outcome.Value;
    }

    private Outcome CompleteList(OutputField field, GraphQLListType list, Merged value)
    {
        var start = _output.Length;
        _output.Write((byte)'[');
        var index = 0;
        foreach (var item in _store.Leaf(value).EnumerateArray())
        {
            if (index > 0)
            {
                _output.Write((byte)',');
            }

            var mark = _store.Mark;
            var kind = _store.PushItem(value, index, item, out var merged);
            _path.Add(ErrorList.Index(index));
            var outcome = CompleteValue(field, list.Type, kind, merged);
            _path.RemoveAt(_path.Count - 1);
            _store.Pop(mark);
            if (outcome == Outcome.Invalid)
            {
                // An item that must not be null is: the list is null.
                _output.Truncate(start);
                return WriteNull();
            }

            index++;
        }

        _output.Write((byte)']');
        return Outcome.Value;
    }

    private ObjectShape? ShapeOf(OutputField field, Merged value)
    {
        if (!field.IsAbstract)
        {
            foreach (var only in field.Selection!.Values)
            {
                return only;
            }

            return null;
        }

        if (!_store.TryGetLeaf(value, "__typename"u8, out var typeName) || typeName.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        foreach (var candidate in field.Selection!.Values)
        {
            if (typeName.ValueEquals(candidate.TypeNameUtf8))
            {
                return candidate;
            }
        }

        return null;
    }

    private Outcome WriteNull()
    {
        _output.Write(Null);
        return Outcome.Null;
    }
}
