using System.Buffers;

namespace Chirp.Federation.Execution;

/// <summary>
/// A growable byte buffer over the engine's own <see cref="Pool"/>: subgraph request bodies, subgraph response bodies
/// and the client's <c>data</c> are written here instead of into arrays of their own (a response of more than
/// 85,000 bytes would otherwise land on the large object heap on every request). It can be cut back to an earlier
/// length, which is how null propagation undoes an object already written (docs/architecture.md section 7).
/// </summary>
internal sealed class PooledBuffer(int initialCapacity = 4096) : IBufferWriter<byte>, IDisposable
{
    /// <summary>
    /// Arrays of up to 1 MiB, up to 1,024 of each size. A request holds every subgraph answer until its response is
    /// written, so 50 requests in flight hold hundreds of arrays of one size: the shared pool keeps 32 per size and
    /// core, and the rest were allocated, promoted while their request waited, and dropped into gen2 (the gen2
    /// collections under load). Only what was once in use at the same time is kept.
    /// </summary>
    private static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(1024 * 1024, 1024);

    private byte[] _array = Pool.Rent(Math.Max(initialCapacity, 256));

    /// <summary>Bytes written so far.</summary>
    public int Length { get; private set; }

    /// <summary>The bytes written so far; valid until the next write or <see cref="Dispose"/>.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _array.AsMemory(0, Length);

    /// <summary>The bytes written so far as a span; valid until the next write or <see cref="Dispose"/>.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _array.AsSpan(0, Length);

    /// <summary>The array behind <see cref="WrittenMemory"/> (for offsets into it).</summary>
    public byte[] Array => _array;

    /// <summary>Forgets everything written after the first <paramref name="length"/> bytes.</summary>
    public void Truncate(int length) => Length = length;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        Length += bytes.Length;
    }

    public void Write(byte value)
    {
        if (Length == _array.Length)
        {
            Grow(1);
        }

        _array[Length++] = value;
    }

    public void Advance(int count) => Length += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsMemory(Length);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsSpan(Length);
    }

    public void Dispose()
    {
        var array = _array;
        _array = [];
        Length = 0;
        if (array.Length > 0)
        {
            Pool.Return(array);
        }
    }

    private void Ensure(int sizeHint)
    {
        if (_array.Length - Length < Math.Max(sizeHint, 1))
        {
            Grow(Math.Max(sizeHint, 1));
        }
    }

    private void Grow(int needed)
    {
        ObjectDisposedException.ThrowIf(_array.Length == 0, this);
        var bigger = Pool.Rent(Math.Max(_array.Length * 2, Length + needed));
        _array.AsSpan(0, Length).CopyTo(bigger);
        Pool.Return(_array);
        _array = bigger;
    }
}
