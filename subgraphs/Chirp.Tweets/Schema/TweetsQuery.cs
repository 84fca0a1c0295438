using Chirp.Subgraphs;
using Chirp.Tweets.Data;
using GraphQL;
using GraphQL.DataLoader;
using GraphQL.Types;

namespace Chirp.Tweets.Schema;

/// <summary><c>type Query { tweet(id), myTweets(first, after) @authenticated }</c>.</summary>
public sealed class TweetsQuery : ObjectGraphType
{
    public TweetsQuery()
    {
        Name = "Query";

        Field<TweetGraphType, IDataLoaderResult<Tweet?>?>("tweet")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .Resolve(ctx => ctx.TweetsById().LoadById(ctx.GetArgument<string>("id")));

        Field<NonNullGraphType<TweetConnectionGraphType>, TweetPage>("myTweets")
            .Argument<IntGraphType>("first", a => a.DefaultValue = TweetPaging.DefaultPageSize)
            .Argument<StringGraphType>("after")
            .ApplyDirective(AccessDirectives.Authenticated)
            .ResolveAsync(async ctx => await TweetPaging.LoadAsync(ctx, ctx.RequireUserId()));
    }
}
