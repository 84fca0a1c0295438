using Chirp.Subgraphs;
using Chirp.Users.Data;

namespace Chirp.Users.Schema;

/// <summary>
/// Users by id, one query per batch: every representation of an <c>_entities</c> call and several <c>user(id:)</c>
/// aliases of one request.
/// </summary>
public sealed class UsersByIdDataLoader(UserAccounts accounts) : BatchDataLoader<Guid, User>
{
    /// <inheritdoc />
    protected override async Task<IReadOnlyDictionary<Guid, User>> FetchAsync(IReadOnlyCollection<Guid> keys, CancellationToken cancellationToken) =>
        await accounts.FindByIdsAsync(keys, cancellationToken);
}
