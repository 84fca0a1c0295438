using GraphQL.Federation;
using GraphQL.Types;

namespace Chirp.Tweets.Schema;

/// <summary>
/// A user as the tweets subgraph knows one: only the key. The users subgraph owns every other field, so a stub is
/// all that <c>Tweet.author</c> returns (<c>{__typename: "User", id}</c>) and the gateway fetches the rest.
/// </summary>
/// <param name="Id">The user id.</param>
public sealed record UserReference(string Id);

/// <summary>What the gateway sends to <c>_entities</c> for a user: <c>{__typename: "User", id}</c>.</summary>
public sealed class UserRepresentation
{
    public string Id { get; set; } = "";
}

/// <summary><c>type User @key(fields: "id") { id, tweets }</c>: contributes a user's tweets to the shared User entity.</summary>
public sealed class UserGraphType : ObjectGraphType<UserReference>
{
    public UserGraphType()
    {
        Name = "User";
        this.Key("id");

        Field<NonNullGraphType<IdGraphType>, string>("id").Resolve(ctx => ctx.Source.Id);
        Field<NonNullGraphType<TweetConnectionGraphType>, TweetPage>("tweets")
            .Argument<IntGraphType>("first", a => a.DefaultValue = TweetPaging.DefaultPageSize)
            .Argument<StringGraphType>("after")
            .ResolveAsync(async ctx => await TweetPaging.LoadAsync(ctx, Guid.TryParseExact(ctx.Source.Id, "D", out var userId) ? userId : null));

        // Any id is a valid reference: this subgraph cannot tell whether the user exists (the users subgraph owns that).
        this.ResolveReference<UserRepresentation, UserReference>((_, r) => new UserReference(r.Id));
    }
}
