using System.Runtime.InteropServices;

namespace Chirp.Federation.Execution;

/// <summary>
/// The representations of one <see cref="EntityBatch"/> for one request, written into the request body as they are
/// found, and for each target object the representation that completes it. An entity seen before (same bytes) is
/// not sent again. Reused across requests through <see cref="ResultStore"/>, so its lists keep their capacity.
/// </summary>
internal sealed class RepresentationBatch
{
    private readonly Dictionary<int, int> _seen = [];

    public EntityBatch Definition { get; private set; } = null!;

    /// <summary>Where each representation sits in the body: start and length.</summary>
    public List<(int Start, int Length)> Representations { get; } = [];

    /// <summary>Each target object and the index of its representation.</summary>
    public List<(Part Target, int Representation)> Targets { get; } = [];

    /// <summary>Starts over for <paramref name="definition"/>.</summary>
    public void Reset(EntityBatch definition)
    {
        Definition = definition;
        _seen.Clear();
        Representations.Clear();
        Targets.Clear();
    }

    /// <summary>Adds the object <paramref name="target"/> (merged: <paramref name="value"/>) found at <paramref name="location"/>.</summary>
    public void Add(ResultStore store, EntityLocation location, Part target, Merged value, PooledBuffer body)
    {
        var start = body.Length;
        if (Representations.Count > 0)
        {
            body.Write((byte)',');
        }

        var content = body.Length;
        body.Write(location.RepresentationStart);
        for (var i = 0; i < location.RawKeys.Length; i++)
        {
            if (!store.TryGetLeaf(value, location.RawKeys[i], out var field))
            {
                // The fetch that should have given this field failed (its error says so): nothing to complete.
                body.Truncate(start);
                return;
            }

            body.Write(location.FieldProperties[i]);
            body.Write(JsonMarshal.GetRawUtf8Value(field));
        }

        body.Write((byte)'}');
        var bytes = body.WrittenSpan[content..];
        var hash = new HashCode();
        hash.AddBytes(bytes);
        var key = hash.ToHashCode();
        if (_seen.TryGetValue(key, out var index)
            && bytes.SequenceEqual(body.WrittenSpan.Slice(Representations[index].Start, Representations[index].Length)))
        {
            // Most places repeat an entity seen before: only a new entity gets a representation.
            body.Truncate(start);
            Targets.Add((target, index));
            return;
        }

        _seen[key] = Representations.Count;
        Targets.Add((target, Representations.Count));
        Representations.Add((content, bytes.Length));
    }
}
