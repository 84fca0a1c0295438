using Chirp.Contracts;
using Chirp.Subgraphs;
using Chirp.Tweets.Data;
using GraphQL;
using GraphQL.Types;

namespace Chirp.Tweets.Schema;

/// <summary><c>input CreateTweetInput { text }</c>.</summary>
public sealed record CreateTweetInput(string Text);

/// <summary><c>input RetweetInput { tweetId }</c>.</summary>
public sealed record RetweetInput(string TweetId);

/// <summary><c>type CreateTweetPayload { tweet }</c>.</summary>
public sealed record CreateTweetPayload(Tweet Tweet);

/// <summary><c>type RetweetPayload { tweet, created }</c>.</summary>
public sealed record RetweetPayload(Tweet Tweet, bool Created);

/// <summary>
/// <c>type Mutation { createTweet, retweet }</c>, both <c>@requiresScopes(scopes: [["tweets:write"]])</c>:
/// anonymous callers get UNAUTHENTICATED, callers without the scope FORBIDDEN, and nothing is written.
/// </summary>
public sealed class TweetsMutation : ObjectGraphType
{
    private static readonly string[][] TweetsWriteScopes = [[ChirpScopes.TweetsWrite]];

    public TweetsMutation()
    {
        Name = "Mutation";

        Field<NonNullGraphType<CreateTweetPayloadGraphType>, CreateTweetPayload>("createTweet")
            .Argument<NonNullGraphType<CreateTweetInputGraphType>>("input")
            .ApplyDirective(AccessDirectives.RequiresScopes, "scopes", TweetsWriteScopes)
            .ResolveAsync(async ctx =>
            {
                var userId = ctx.RequireUserId();
                var input = ctx.GetArgument<CreateTweetInput>("input");
                if (!TweetText.TryNormalize(input.Text, out var text, out var error))
                {
                    throw CodedErrors.BadUserInput(error);
                }

                var tweet = await ctx.Tweets().CreateAsync(userId, text, ctx.CancellationToken);
                return new CreateTweetPayload(tweet);
            });

        Field<NonNullGraphType<RetweetPayloadGraphType>, RetweetPayload>("retweet")
            .Argument<NonNullGraphType<RetweetInputGraphType>>("input")
            .ApplyDirective(AccessDirectives.RequiresScopes, "scopes", TweetsWriteScopes)
            .ResolveAsync(async ctx =>
            {
                var userId = ctx.RequireUserId();
                var input = ctx.GetArgument<RetweetInput>("input");
                var (handle, displayName) = ctx.User.Names();
                var outcome = await ctx.Tweets().RetweetAsync(new Caller(userId, handle, displayName), input.TweetId, ctx.CancellationToken)
                    ?? throw CodedErrors.NotFound("No tweet has this id.");
                return new RetweetPayload(outcome.Retweet, outcome.Created);
            });
    }
}

/// <summary><c>input CreateTweetInput { text: String! }</c>.</summary>
public sealed class CreateTweetInputGraphType : InputObjectGraphType<CreateTweetInput>
{
    public CreateTweetInputGraphType()
    {
        Name = "CreateTweetInput";
        Field<NonNullGraphType<StringGraphType>>("text");
    }
}

/// <summary><c>input RetweetInput { tweetId: ID! }</c>.</summary>
public sealed class RetweetInputGraphType : InputObjectGraphType<RetweetInput>
{
    public RetweetInputGraphType()
    {
        Name = "RetweetInput";
        Field<NonNullGraphType<IdGraphType>>("tweetId");
    }
}

/// <summary><c>type CreateTweetPayload { tweet: Tweet! }</c>.</summary>
public sealed class CreateTweetPayloadGraphType : ObjectGraphType<CreateTweetPayload>
{
    public CreateTweetPayloadGraphType()
    {
        Name = "CreateTweetPayload";
        Field<NonNullGraphType<TweetGraphType>, Tweet>("tweet").Resolve(ctx => ctx.Source.Tweet);
    }
}

/// <summary><c>type RetweetPayload { tweet: Tweet!, created: Boolean! }</c>.</summary>
public sealed class RetweetPayloadGraphType : ObjectGraphType<RetweetPayload>
{
    public RetweetPayloadGraphType()
    {
        Name = "RetweetPayload";
        Field<NonNullGraphType<TweetGraphType>, Tweet>("tweet").Resolve(ctx => ctx.Source.Tweet);
        Field<NonNullGraphType<BooleanGraphType>, bool>("created")
            .Description("True when this call created the retweet; false when the caller had already retweeted the original.")
            .Resolve(ctx => ctx.Source.Created);
    }
}
