using Chirp.Subgraphs;
using Chirp.Tweets.Data;

namespace Chirp.Tweets.Schema;

/// <summary>Tweets by id, one query per batch (<c>_entities</c>, <c>retweetOf</c>, subscription events).</summary>
public sealed class TweetsByIdDataLoader(TweetStore store) : BatchDataLoader<Guid, Tweet>
{
    /// <inheritdoc />
    protected override Task<IReadOnlyDictionary<Guid, Tweet>> FetchAsync(IReadOnlyCollection<Guid> keys, CancellationToken cancellationToken) =>
        store.GetByIdsAsync(keys, cancellationToken);
}

/// <summary>Retweet counts by original tweet id, one grouped query per batch.</summary>
public sealed class RetweetCountsByTweetIdDataLoader(TweetStore store) : BatchDataLoader<Guid, int>
{
    /// <inheritdoc />
    protected override Task<IReadOnlyDictionary<Guid, int>> FetchAsync(IReadOnlyCollection<Guid> keys, CancellationToken cancellationToken) =>
        store.CountRetweetsAsync(keys, cancellationToken);
}
