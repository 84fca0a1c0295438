using GraphQL.Types;

namespace Chirp.EmailWorker.Schema;

/// <summary>
/// The <c>notifications</c> subgraph (<c>schema/notifications.graphql</c>). Its <c>Query</c> has no fields of its own:
/// federation adds <c>_service</c> and <c>_entities</c>, through which the gateway reaches <c>User.emailSettings</c>.
/// </summary>
public sealed class NotificationsSchema : global::GraphQL.Types.Schema
{
    public NotificationsSchema(IServiceProvider services, NotificationsMutation mutation, UserGraphType user) : base(services)
    {
        Query = new ObjectGraphType { Name = "Query" };
        Mutation = mutation;
        RegisterType(user);
    }
}
