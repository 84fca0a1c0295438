using Chirp.Subgraphs;
using GraphQL.Types;

namespace Chirp.Tweets.Schema;

/// <summary>
/// <c>type User @key(fields: "id") { id, tweets }</c>: contributes a user's tweets to the shared User entity. The users
/// subgraph owns every other field, so <c>Tweet.author</c> returns the stub (<see cref="UserReference"/>) and the
/// gateway fetches the rest.
/// </summary>
public sealed class UserGraphType : ObjectGraphType<UserReference>
{
    public UserGraphType()
    {
        this.KeyedById("User", user => user.Id);
        this.ResolveAsUserReference();

        Field<NonNullGraphType<TweetConnectionGraphType>, TweetPage>("tweets")
            .Argument<IntGraphType>("first", a => a.DefaultValue = TweetPaging.DefaultPageSize)
            .Argument<StringGraphType>("after")
            .ResolveAsync(async ctx => await TweetPaging.LoadAsync(ctx, ctx.Source.TryGetId(out var userId) ? userId : null));
    }
}
