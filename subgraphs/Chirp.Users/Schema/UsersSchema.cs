namespace Chirp.Users.Schema;

/// <summary>The users subgraph schema (checked-in contract: <c>schema/users.graphql</c>).</summary>
public sealed class UsersSchema : global::GraphQL.Types.Schema
{
    public UsersSchema(IServiceProvider services, UsersQuery query, UsersMutation mutation)
        : base(services)
    {
        Query = query;
        Mutation = mutation;
    }
}
