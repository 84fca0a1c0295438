using Chirp.Subgraphs;
using Chirp.Tweets.Data;
using GraphQL;
using GraphQL.DataLoader;
using GraphQL.Types;

namespace Chirp.Tweets.Schema;

/// <summary><c>type Tweet @key(fields: "id")</c>: a tweet or a retweet (schema/tweets.graphql).</summary>
public sealed class TweetGraphType : ObjectGraphType<Tweet>
{
    public TweetGraphType()
    {
        this.KeyedById("Tweet", tweet => tweet.Id.ToString("D"));

        // _entities: unknown or malformed ids resolve to null, batched into one query.
        this.ResolveOwnedById<Tweet, TweetsByIdDataLoader>();

        Field<NonNullGraphType<StringGraphType>, string>("text").Resolve(ctx => ctx.Source.Text);
        Field<NonNullGraphType<DateTimeGraphType>, DateTime>("createdAt").Resolve(ctx => ctx.Source.CreatedAt.UtcDateTime);
        Field<NonNullGraphType<UserGraphType>, UserReference>("author").Resolve(ctx => new UserReference { Id = ctx.Source.AuthorId.ToString("D") });
        Field<TweetGraphType, IDataLoaderResult<Tweet?>?>("retweetOf")
            .Resolve(ctx => ctx.Source.RetweetOfId is { } id ? ctx.TweetsById().Load(id) : null);
        Field<NonNullGraphType<IntGraphType>, IDataLoaderResult<int>>("retweetCount")
            .Resolve(ctx => ctx.RetweetCounts().Load(ctx.Source.RetweetOfId ?? ctx.Source.Id));
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
