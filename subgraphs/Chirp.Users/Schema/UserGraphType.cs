using Chirp.Subgraphs;
using Chirp.Users.Data;
using GraphQL.Types;

namespace Chirp.Users.Schema;

/// <summary>
/// <c>type User @key(fields: "id")</c>: the users subgraph owns the entity. Other subgraphs hand over
/// <c>{__typename: "User", id}</c> representations, which are loaded in one query per request.
/// </summary>
public sealed class UserGraphType : ObjectGraphType<User>
{
    public UserGraphType()
    {
        this.KeyedById("User", user => user.Id.ToString("D"));
        this.ResolveOwnedById<User, UsersByIdDataLoader>();

        Field<NonNullGraphType<StringGraphType>, string>("handle").Resolve(c => c.Source.Handle);
        Field<NonNullGraphType<StringGraphType>, string>("displayName").Resolve(c => c.Source.DisplayName);
        Field<NonNullGraphType<DateTimeGraphType>, DateTime>("createdAt").Resolve(c => c.Source.CreatedAt.UtcDateTime);
    }
}
