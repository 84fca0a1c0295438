using GraphQL.DataLoader;

namespace Chirp.Users.Data;

/// <summary>
/// Collects the user ids that one GraphQL request asks for (every representation of an <c>_entities</c> call,
/// several <c>user(id:)</c> aliases) and loads them with one query when the executor first awaits a result.
/// Scoped to the request; safe for fields that run in parallel.
/// </summary>
public sealed class UsersByIdDataLoader(UserAccounts accounts)
{
    private readonly Lock _gate = new();
    private Batch? _open;

    /// <summary>An already known "no such user", for ids that need no lookup.</summary>
    public static IDataLoaderResult<User?> NoUser { get; } = new Known(null);

    /// <summary>A deferred lookup of one id; its result is null for an unknown id.</summary>
    public IDataLoaderResult<User?> Load(Guid id)
    {
        lock (_gate)
        {
            _open ??= new Batch(this);
            _open.Ids.Add(id);
            return new Result(_open, id);
        }
    }

    private Task<Dictionary<Guid, User>> Dispatch(Batch batch, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_open, batch))
            {
                // Ids asked for from now on start a new batch.
                _open = null;
            }

            return batch.Loaded ??= accounts.FindByIdsAsync([.. batch.Ids], cancellationToken);
        }
    }

    private sealed class Batch(UsersByIdDataLoader loader)
    {
        public HashSet<Guid> Ids { get; } = [];

        public Task<Dictionary<Guid, User>>? Loaded { get; set; }

        public UsersByIdDataLoader Loader => loader;
    }

    private sealed class Result(Batch batch, Guid id) : IDataLoaderResult<User?>
    {
        public async Task<User?> GetResultAsync(CancellationToken cancellationToken = default) =>
            (await batch.Loader.Dispatch(batch, cancellationToken)).GetValueOrDefault(id);

        async Task<object?> IDataLoaderResult.GetResultAsync(CancellationToken cancellationToken) =>
            await GetResultAsync(cancellationToken);
    }

    private sealed class Known(User? user) : IDataLoaderResult<User?>
    {
        public Task<User?> GetResultAsync(CancellationToken cancellationToken = default) => Task.FromResult(user);

        Task<object?> IDataLoaderResult.GetResultAsync(CancellationToken cancellationToken) => Task.FromResult<object?>(user);
    }
}
