namespace Chirp.Tweets.Schema;

/// <summary>The tweets subgraph (Apollo Federation v2.5; contract: <c>schema/tweets.graphql</c>).</summary>
public sealed class TweetsSchema : global::GraphQL.Types.Schema
{
    public TweetsSchema(IServiceProvider services, TweetsQuery query, TweetsMutation mutation, TweetsSubscription subscription)
        : base(services)
    {
        Query = query;
        Mutation = mutation;
        Subscription = subscription;
    }
}
