using Chirp.Users.Data;
using GraphQL.Federation;
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
        Name = "User";
        this.Key("id");

        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => c.Source.Id.ToString());
        Field<NonNullGraphType<StringGraphType>>("handle").Resolve(c => c.Source.Handle);
        Field<NonNullGraphType<StringGraphType>>("displayName").Resolve(c => c.Source.DisplayName);
        Field<NonNullGraphType<DateTimeGraphType>>("createdAt").Resolve(c => c.Source.CreatedAt.UtcDateTime);

        this.ResolveReference<UserRepresentation, User>((context, representation) => UsersQuery.LoadById(context, representation.Id)!);
    }
}

/// <summary>What another subgraph sends to name a user: its key.</summary>
public sealed class UserRepresentation
{
    public string? Id { get; set; }
}
