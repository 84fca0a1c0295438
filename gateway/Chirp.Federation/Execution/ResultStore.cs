using System.Text.Json;

namespace Chirp.Federation.Execution;

/// <summary>A value in one subgraph response: the response's index in the store and the element.</summary>
internal readonly record struct Part(int Document, JsonElement Value);

/// <summary>A merged value under construction: a range of parts on the store's stack, or null.</summary>
/// <param name="Start">The first part on <see cref="ResultStore"/>'s stack.</param>
/// <param name="Count">How many parts; 0 means the value is null or absent.</param>
internal readonly record struct Merged(int Start, int Count)
{
    public bool IsNull => Count == 0;
}

/// <summary>
/// The subgraph responses of one operation, merged by position without copying anything: a merged object is the
/// list of objects, one per response that contributed fields to it. The root is every root fetch's <c>data</c>; an
/// entity fetch attaches each <c>_entities</c> result to the object it completes (its identity is its document and
/// offset). Lookups walk these lists; only the client response writer copies bytes, once.
/// Not thread-safe: <see cref="PlanExecution"/> serializes access.
/// </summary>
internal sealed class ResultStore
{
    private const int NullMarker = -1;

    // Rented per request and returned with capacity kept (attachments and targets number in the thousands for a deep
    // query; growing them anew every request was most of the engine's allocation). A store that grew past the cap is
    // dropped instead, so one huge response does not pin its memory forever. The pool holds as many stores as the
    // gateway runs requests at once by default (Limits:ConcurrentRequests, 64): a smaller pool dropped the stores of
    // every request beyond it, grown anew and, having lived through a collection, died in gen2.
    private const int MaxPooled = 64;
    private const int MaxPooledAttachments = 1 << 16;
    private static readonly System.Collections.Concurrent.ConcurrentQueue<ResultStore> Pool = new();
    private static int _pooled;

    private readonly List<RepresentationBatch> _batches = [];
    private int _batchesUsed;

    private readonly List<SubgraphResponse> _documents = [];
    private readonly List<Part> _root = [];
    private readonly Dictionary<long, int> _firstAttachment = [];
    private readonly List<(Part Part, int Next)> _attachments = [];
    private Part[] _stack = new Part[64];
    private int _top;

    /// <summary>Total body bytes of the responses (the client's <c>data</c> is about that size).</summary>
    public int Bytes { get; private set; }

    /// <summary>A store from the pool, or a new one.</summary>
    public static ResultStore Rent()
    {
        if (Pool.TryDequeue(out var store))
        {
            Interlocked.Decrement(ref _pooled);
            return store;
        }

        return new ResultStore();
    }

    /// <summary>Disposes the responses and gives the store back to the pool; it must not be used afterwards.</summary>
    public void Return()
    {
        foreach (var document in _documents)
        {
            document.Dispose();
        }

        _documents.Clear();
        if (_attachments.Count > MaxPooledAttachments)
        {
            return;
        }

        if (Interlocked.Increment(ref _pooled) > MaxPooled)
        {
            Interlocked.Decrement(ref _pooled);
            return;
        }

        _root.Clear();
        _firstAttachment.Clear();
        _attachments.Clear();
        _top = 0;
        Bytes = 0;
        _batchesUsed = 0;
        Pool.Enqueue(this);
    }

    /// <summary>An empty batch for <paramref name="definition"/>, owned by this store until it is returned.</summary>
    public RepresentationBatch RentBatch(EntityBatch definition)
    {
        if (_batchesUsed == _batches.Count)
        {
            _batches.Add(new RepresentationBatch());
        }

        var batch = _batches[_batchesUsed++];
        batch.Reset(definition);
        return batch;
    }

    /// <summary>Takes ownership of <paramref name="response"/>; returns its index.</summary>
    public int Add(SubgraphResponse response, int bytes)
    {
        _documents.Add(response);
        Bytes += bytes;
        return _documents.Count - 1;
    }

    /// <summary>Adds a root fetch's <c>data</c> object to the root.</summary>
    public void AddRoot(Part data) => _root.Add(data);

    /// <summary>Completes the entity object <paramref name="target"/> with <paramref name="result"/>, or nulls it when null.</summary>
    public void Attach(Part target, Part? result)
    {
        var key = Identity(target);
        var link = (result ?? new Part(NullMarker, default), -1);
        if (_firstAttachment.TryGetValue(key, out var first))
        {
            var last = first;
            while (_attachments[last].Next >= 0)
            {
                last = _attachments[last].Next;
            }

            _attachments[last] = (_attachments[last].Part, _attachments.Count);
        }
        else
        {
            _firstAttachment[key] = _attachments.Count;
        }

        _attachments.Add(link);
    }

    /// <summary>The stack height, to give back with <see cref="Pop"/>.</summary>
    public int Mark => _top;

    /// <summary>Drops every merged value pushed since <paramref name="mark"/>.</summary>
    public void Pop(int mark) => _top = mark;

    /// <summary>The part at <paramref name="index"/> of the stack.</summary>
    public Part this[int index] => _stack[index];

    /// <summary>The merged root object.</summary>
    public Merged PushRoot()
    {
        var start = _top;
        foreach (var part in _root)
        {
            if (!PushObject(part))
            {
                _top = start;
                return new Merged(start, 0);
            }
        }

        return new Merged(start, _top - start);
    }

    /// <summary>
    /// The merged value of member <paramref name="key"/> of the merged object <paramref name="parent"/>. Objects merge
    /// with what is attached to them; arrays merge item by item; for a leaf, the first response that has it wins.
    /// </summary>
    /// <returns>The value's kind (<see cref="JsonValueKind.Undefined"/> when no part has the member).</returns>
    public JsonValueKind PushMember(Merged parent, ReadOnlySpan<byte> key, out Merged value)
    {
        var start = _top;
        var kind = JsonValueKind.Undefined;
        for (var i = parent.Start; i < parent.Start + parent.Count; i++)
        {
            var part = _stack[i];
            if (!part.Value.TryGetProperty(key, out var member))
            {
                continue;
            }

            var memberKind = member.ValueKind;
            if (kind == JsonValueKind.Undefined)
            {
                kind = memberKind;
            }

            if (memberKind != kind)
            {
                continue;
            }

            if (kind == JsonValueKind.Object)
            {
                if (!PushObject(new Part(part.Document, member)))
                {
                    _top = start;
                    value = new Merged(start, 0);
                    return JsonValueKind.Null;
                }
            }
            else
            {
                Push(new Part(part.Document, member));
                if (kind != JsonValueKind.Array)
                {
                    break; // a leaf: the first answer is the answer
                }
            }
        }

        value = new Merged(start, _top - start);
        return kind;
    }

    /// <summary>The merged item <paramref name="index"/> of the merged array <paramref name="array"/>.</summary>
    /// <returns>The item's kind; objects merge with what is attached to them.</returns>
    public JsonValueKind PushItem(Merged array, int index, JsonElement first, out Merged value)
    {
        var start = _top;
        var kind = first.ValueKind;
        if (kind == JsonValueKind.Object)
        {
            if (!PushObject(new Part(_stack[array.Start].Document, first)))
            {
                _top = start;
                value = new Merged(start, 0);
                return JsonValueKind.Null;
            }
        }
        else
        {
            Push(new Part(_stack[array.Start].Document, first));
        }

        for (var i = array.Start + 1; i < array.Start + array.Count && kind is JsonValueKind.Object or JsonValueKind.Array; i++)
        {
            var other = _stack[i];
            if (index < other.Value.GetArrayLength() && other.Value[index] is { } item && item.ValueKind == kind)
            {
                if (kind == JsonValueKind.Object)
                {
                    PushObject(new Part(other.Document, item));
                }
                else
                {
                    Push(new Part(other.Document, item));
                }
            }
        }

        value = new Merged(start, _top - start);
        return kind;
    }

    /// <summary>The first part's value of a merged leaf.</summary>
    public JsonElement Leaf(Merged value) => _stack[value.Start].Value;

    /// <summary>Finds a leaf member of a merged object without pushing anything.</summary>
    public bool TryGetLeaf(Merged obj, ReadOnlySpan<byte> key, out JsonElement value)
    {
        for (var i = obj.Start; i < obj.Start + obj.Count; i++)
        {
            if (_stack[i].Value.TryGetProperty(key, out value))
            {
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>Finds a leaf member of a merged object without pushing anything.</summary>
    public bool TryGetLeaf(Merged obj, string key, out JsonElement value)
    {
        for (var i = obj.Start; i < obj.Start + obj.Count; i++)
        {
            if (_stack[i].Value.TryGetProperty(key, out value))
            {
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>A key that tells the objects of all responses apart.</summary>
    public long Identity(Part part) => ((long)part.Document << 32) | (uint)_documents[part.Document].OffsetOf(part.Value);

    /// <summary>Pushes an object and everything attached to it; false when an attachment nulled it.</summary>
    private bool PushObject(Part part)
    {
        Push(part);
        if (_firstAttachment.Count == 0 || !_firstAttachment.TryGetValue(Identity(part), out var link))
        {
            return true;
        }

        for (; link >= 0; link = _attachments[link].Next)
        {
            var attached = _attachments[link].Part;
            if (attached.Document == NullMarker)
            {
                return false;
            }

            if (!PushObject(attached))
            {
                return false;
            }
        }

        return true;
    }

    private void Push(Part part)
    {
        if (_top == _stack.Length)
        {
            Array.Resize(ref _stack, _stack.Length * 2);
        }

        _stack[_top++] = part;
    }
}
