using Chirp.Subgraphs;
using Chirp.Tweets.Data;
using Chirp.Tweets.Events;
using GraphQL;
using GraphQL.DataLoader;
using GraphQL.Types;

namespace Chirp.Tweets.Schema;

/// <summary>
/// <c>type Subscription { tweetRetweeted: TweetRetweeted! @authenticated }</c>: the caller's own tweets being
/// retweeted by others, live, from the <c>tweet-retweeted</c> channel that every replica listens on.
/// </summary>
public sealed class TweetsSubscription : ObjectGraphType
{
    public TweetsSubscription(RetweetFeed feed)
    {
        Name = "Subscription";

        Field<NonNullGraphType<TweetRetweetedGraphType>, RetweetNotice>("tweetRetweeted")
            .ApplyDirective(AccessDirectives.Authenticated)
            .ResolveStream(ctx => feed.ForTweetAuthor(ctx.RequireUserId().ToString("D")));
    }
}

/// <summary><c>type TweetRetweeted { eventId, occurredAt, retweet, originalTweet, retweetedBy }</c>.</summary>
public sealed class TweetRetweetedGraphType : ObjectGraphType<RetweetNotice>
{
    public TweetRetweetedGraphType()
    {
        Name = "TweetRetweeted";
        Field<NonNullGraphType<IdGraphType>, string>("eventId").Resolve(ctx => ctx.Source.Event.EventId);
        Field<NonNullGraphType<DateTimeGraphType>, DateTime>("occurredAt").Resolve(ctx => ctx.Source.Event.OccurredAt.UtcDateTime);
        Field<NonNullGraphType<TweetGraphType>, IDataLoaderResult<Tweet?>?>("retweet")
            .Resolve(ctx => ctx.TweetsById().LoadById(ctx.Source.Event.RetweetId));
        Field<NonNullGraphType<TweetGraphType>, IDataLoaderResult<Tweet?>?>("originalTweet")
            .Resolve(ctx => ctx.TweetsById().LoadById(ctx.Source.Event.TweetId));
        Field<NonNullGraphType<UserGraphType>, UserReference>("retweetedBy").Resolve(ctx => new UserReference { Id = ctx.Source.Event.RetweetedById });
    }
}
