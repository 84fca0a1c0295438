using Chirp.IdentityAssertions;
using Chirp.Subgraphs;
using Chirp.Users.Data;
using GraphQL;
using GraphQL.Types;

namespace Chirp.Users.Schema;

/// <summary>
/// <c>type Query { me: User @authenticated  user(id: ID!): User  userByHandle(handle: String!): User }</c>.
/// <c>me</c> is the caller's own account (UNAUTHENTICATED without an identity); <c>user</c> and <c>userByHandle</c>
/// answer null, without an error, for an unknown user and for text that cannot be an id or a handle. Handles match
/// in any letter case. Descriptions stay out of the SDL so that it equals <c>schema/users.graphql</c>.
/// </summary>
public sealed class UsersQuery : ObjectGraphType
{
    public UsersQuery()
    {
        Name = "Query";

        Field<UserGraphType>("me")
            .ApplyDirective(AccessDirectives.Authenticated)
            .Resolve(context => context.RequestServices!.GetRequiredService<UsersByIdDataLoader>().LoadById(context.User?.GetUserId()));

        Field<UserGraphType>("user")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .Resolve(context => context.RequestServices!.GetRequiredService<UsersByIdDataLoader>().LoadById(context.GetArgument<string>("id")));

        Field<UserGraphType>("userByHandle")
            .Argument<NonNullGraphType<StringGraphType>>("handle")
            .ResolveAsync(async context => await context.RequestServices!.GetRequiredService<UserAccounts>()
                .FindByHandleAsync(context.GetArgument<string>("handle"), context.CancellationToken));
    }
}
