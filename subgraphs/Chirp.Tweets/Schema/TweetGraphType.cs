using Chirp.Tweets.Data;
using GraphQL;
using GraphQL.DataLoader;
using GraphQL.Federation;
using GraphQL.Types;

namespace Chirp.Tweets.Schema;

/// <summary>What the gateway sends to <c>_entities</c> for a tweet: <c>{__typename: "Tweet", id}</c>.</summary>
public sealed class TweetRepresentation
{
    public string Id { get; set; } = "";
}

/// <summary><c>type Tweet @key(fields: "id")</c>: a tweet or a retweet (schema/tweets.graphql).</summary>
public sealed class TweetGraphType : ObjectGraphType<Tweet>
{
    public TweetGraphType()
    {
        Name = "Tweet";
        this.Key("id");

        Field<NonNullGraphType<IdGraphType>, string>("id").Resolve(ctx => ctx.Source.Id.ToString("D"));
        Field<NonNullGraphType<StringGraphType>, string>("text").Resolve(ctx => ctx.Source.Text);
        Field<NonNullGraphType<DateTimeGraphType>, DateTime>("createdAt").Resolve(ctx => ctx.Source.CreatedAt.UtcDateTime);
        Field<NonNullGraphType<UserGraphType>, UserReference>("author").Resolve(ctx => new UserReference(ctx.Source.AuthorId.ToString("D")));
        Field<TweetGraphType, IDataLoaderResult<Tweet?>?>("retweetOf")
            .Resolve(ctx => ctx.Source.RetweetOfId is { } id ? ctx.TweetsById().Load(id) : null);
        Field<NonNullGraphType<IntGraphType>, IDataLoaderResult<int>>("retweetCount")
            .Resolve(ctx => ctx.RetweetCounts().Load(ctx.Source.RetweetOfId ?? ctx.Source.Id));

        // _entities: unknown or malformed ids resolve to null, batched into one query.
        this.ResolveReference<TweetRepresentation, Tweet>((ctx, r) =>
            TweetStore.TryParseId(r.Id, out var id) ? ctx.TweetsById().Load(id) : NullResult.Instance);
    }

    private sealed class NullResult : IDataLoaderResult<Tweet?>
    {
        public static readonly NullResult Instance = new();

        public Task<Tweet?> GetResultAsync(CancellationToken cancellationToken = default) => Task.FromResult<Tweet?>(null);

        Task<object?> IDataLoaderResult.GetResultAsync(CancellationToken cancellationToken) => Task.FromResult<object?>(null);
    }
}

/// <summary>Per-request services of resolvers (graph types are singletons: never capture scoped services in them).</summary>
internal static class ResolverServices
{
    public static TweetsByIdDataLoader TweetsById(this IResolveFieldContext context) =>
        context.RequestServices!.GetRequiredService<TweetsByIdDataLoader>();

    public static RetweetCountsByTweetIdDataLoader RetweetCounts(this IResolveFieldContext context) =>
        context.RequestServices!.GetRequiredService<RetweetCountsByTweetIdDataLoader>();

    public static TweetStore Tweets(this IResolveFieldContext context) =>
        context.RequestServices!.GetRequiredService<TweetStore>();
}
