using GraphQL.DataLoader;

namespace Chirp.Subgraphs;

/// <summary>
/// A minimal batching loader over <see cref="IDataLoaderResult{T}"/> (GraphQL.NET 8 ships no DataLoader classes).
/// Keys requested while a level of the query is resolved are collected; the first result that is awaited closes
/// the batch and fetches all its keys in one call; later keys start a new batch. Nothing is cached across
/// batches, so a long-lived scope (a WebSocket subscription) never sees stale rows. Register scoped; thread-safe,
/// because GraphQL.NET resolves sibling fields in parallel.
/// </summary>
public abstract class BatchDataLoader<TKey, TValue>
    where TKey : notnull
{
    private readonly Lock _gate = new();
    private Batch? _open;

    private static readonly Known NoValue = new();

    /// <summary>An already known "no value", for keys that need no fetch (e.g. an id that is not a UUID).</summary>
    public IDataLoaderResult<TValue?> None => NoValue;

    /// <summary>Fetches the values of <paramref name="keys"/>; keys without a value may be missing from the result.</summary>
    protected abstract Task<IReadOnlyDictionary<TKey, TValue>> FetchAsync(IReadOnlyCollection<TKey> keys, CancellationToken cancellationToken);

    /// <summary>A deferred value for <paramref name="key"/>; <c>default</c> when the fetch finds none.</summary>
    public IDataLoaderResult<TValue?> Load(TKey key)
    {
        lock (_gate)
        {
            _open ??= new Batch(this);
            _open.Keys.Add(key);
            return new Result(_open, key);
        }
    }

    private sealed class Batch(BatchDataLoader<TKey, TValue> owner)
    {
        private Task<IReadOnlyDictionary<TKey, TValue>>? _fetch;

        public HashSet<TKey> Keys { get; } = [];

        public Task<IReadOnlyDictionary<TKey, TValue>> RunAsync(CancellationToken cancellationToken)
        {
            lock (owner._gate)
            {
                if (_fetch is null)
                {
                    if (ReferenceEquals(owner._open, this))
                    {
                        owner._open = null;
                    }

                    _fetch = owner.FetchAsync(Keys.ToArray(), cancellationToken);
                }

                return _fetch;
            }
        }
    }

    private sealed class Result(Batch batch, TKey key) : IDataLoaderResult<TValue?>
    {
        public async Task<TValue?> GetResultAsync(CancellationToken cancellationToken = default)
        {
            var values = await batch.RunAsync(cancellationToken);
            return values.TryGetValue(key, out var value) ? value : default;
        }

        async Task<object?> IDataLoaderResult.GetResultAsync(CancellationToken cancellationToken) =>
            await GetResultAsync(cancellationToken);
    }

    private sealed class Known : IDataLoaderResult<TValue?>
    {
        public Task<TValue?> GetResultAsync(CancellationToken cancellationToken = default) => Task.FromResult<TValue?>(default);

        Task<object?> IDataLoaderResult.GetResultAsync(CancellationToken cancellationToken) => Task.FromResult<object?>(default(TValue));
    }
}
