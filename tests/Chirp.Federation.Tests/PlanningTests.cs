namespace Chirp.Federation.Tests;

public sealed class PlanningTests
{
    [Fact]
    public void RootFieldsOfOneSubgraphShareOneFetch()
    {
        var plan = Run.Plan("""{ tweet(id: "t1") { id } me { handle } user(id: "u1") { handle } }""");

        Assert.Equal(2, plan.Fetches.Count);
        Assert.All(plan.Fetches, f => Assert.True(f.IsRoot));
        Assert.Equal("""query{tweet(id:"t1"){id}}""", plan.Fetches.Single(f => f.Subgraph == "tweets").Document);
        Assert.Equal("""query{me{handle} user(id:"u1"){handle}}""", plan.Fetches.Single(f => f.Subgraph == "users").Document);
    }

    [Fact]
    public void AFieldOfAnotherSubgraphBecomesOneEntityFetchPerLevel()
    {
        var plan = Run.Plan("{ myTweets { nodes { id author { handle displayName } } } }");

        Assert.Equal(2, plan.Fetches.Count);
        Assert.Equal("query{myTweets{nodes{id author{id}}}}", plan.Fetches[0].Document);
        var users = plan.Fetches[1];
        Assert.Equal("users", users.Subgraph);
        Assert.Equal([plan.Fetches[0]], users.DependsOn);
        Assert.Equal(["myTweets", "nodes", "author"], users.Path!.Select(p => p.Key));
        Assert.Equal(
            "query($representations:[_Any!]!){_entities(representations:$representations){...on User{handle displayName}}}",
            users.Document);
    }

    [Fact]
    public void EntityFetchesOfOneSubgraphAfterTheSameFetchAreOneCall()
    {
        var plan = Run.Plan("""{ tweet(id: "t1") { author { handle } retweetOf { author { handle displayName } } } }""");

        var users = Assert.Single(plan.Fetches, f => f.Subgraph == "users");
        Assert.Equal(
            "query($representations0:[_Any!]!,$representations1:[_Any!]!){"
            + "_0:_entities(representations:$representations0){...on User{handle}} "
            + "_1:_entities(representations:$representations1){...on User{handle displayName}}}",
            users.Document);
    }

    [Fact]
    public void MutationRootFieldsRunInOrderAndOnlyNeighboursShareAFetch()
    {
        var plan = Run.Plan("""
            mutation {
              a: createTweet(input: {text: "x"}) { tweet { id } }
              b: retweet(input: {tweetId: "t1"}) { created }
              c: signUp(input: {handle: "eve", displayName: "Eve", password: "pw"}) { user { id } }
              d: createTweet(input: {text: "y"}) { tweet { id } }
            }
            """);

        Assert.Equal(["tweets", "users", "tweets"], plan.RootFetches.Select(f => f.Subgraph));
        Assert.StartsWith("mutation{a:createTweet", plan.Fetches[0].Document, StringComparison.Ordinal);
        Assert.Contains("b:retweet", plan.Fetches[0].Document, StringComparison.Ordinal);
        Assert.Equal([plan.Fetches[0]], plan.Fetches[1].DependsOn);
        Assert.Equal([plan.Fetches[1]], plan.Fetches[2].DependsOn);
    }

    [Fact]
    public void EachSubgraphDocumentDeclaresExactlyTheVariablesItUses()
    {
        var plan = Run.Plan("query Feed($n: Int!) { me { handle tweets(first: $n) { nodes { id } } } }", "Feed");

        var users = plan.Fetches.Single(f => f.Subgraph == "users");
        var tweets = plan.Fetches.Single(f => f.Subgraph == "tweets");
        Assert.Empty(users.Variables);
        Assert.Equal("query Feed__users__0{me{handle id}}", users.Document);
        Assert.Equal(["n"], tweets.Variables);
        Assert.Contains("($representations:[_Any!]!,$n:Int!)", tweets.Document, StringComparison.Ordinal);
        Assert.Contains("tweets(first:$n)", tweets.Document, StringComparison.Ordinal);
    }

    [Fact]
    public void AVariableUsedOnlyInANamedFragmentIsDeclaredWhereTheFragmentLands()
    {
        var plan = Run.Plan("""
            query($n: Int = 2, $unused: String) { me { ...Mine } user(id: "u1") { handle } }
            fragment Mine on User { handle tweets(first: $n) { nodes { id } } }
            """);

        Assert.Empty(plan.Fetches.Single(f => f.Subgraph == "users" && f.IsRoot).Variables);
        var tweets = plan.Fetches.Single(f => f.Subgraph == "tweets");
        Assert.Equal(["n"], tweets.Variables);
        Assert.Contains("$n:Int=2", tweets.Document, StringComparison.Ordinal);
        Assert.DoesNotContain("unused", tweets.Document, StringComparison.Ordinal);
    }

    [Fact]
    public void AKeyFieldThatClashesWithAClientAliasTravelsUnderAnInternalAlias()
    {
        var plan = Run.Plan("""{ tweet(id: "t1") { id: text author { id: handle } } }""");

        Assert.Equal("""query{tweet(id:"t1"){id:text author{__key_id:id}}}""", plan.Fetches[0].Document);
        Assert.Contains("...on User{id:handle}", plan.Fetches[1].Document, StringComparison.Ordinal);
    }

    [Fact]
    public void SkipAndIncludeAreDecidedBeforePlanning()
    {
        var plan = Run.Plan("""
            query($withAuthor: Boolean = false) {
              tweet(id: "t1") { id author @include(if: $withAuthor) { handle } text @skip(if: true) }
            }
            """);

        var fetch = Assert.Single(plan.Fetches);
        Assert.Equal("""query{tweet(id:"t1"){id}}""", fetch.Document);
    }
}

public sealed class SubscriptionPlanningTests
{
    [Fact]
    public void ASubscriptionPlansItsRootOnItsSubgraphAndEntityFetchesPerEvent()
    {
        var plan = Run.Plan("subscription { tweetRetweeted { eventId retweetedBy { handle } } }");

        Assert.Equal(GraphQLParser.AST.OperationType.Subscription, plan.Operation);
        var root = Assert.Single(plan.RootFetches);
        Assert.Equal("tweets", root.Subgraph);
        Assert.Equal("subscription{tweetRetweeted{eventId retweetedBy{id}}}", root.Document);
        var users = plan.Fetches.Single(f => !f.IsRoot);
        Assert.Equal([root], users.DependsOn);
        Assert.Equal(["tweetRetweeted", "retweetedBy"], users.Path!.Select(p => p.Key));
    }
}

public sealed class PrintingTests
{
    [Fact]
    public void ArgumentValuesAreReprintedSoTheSubgraphReadsTheSameValue()
    {
        var plan = Run.Plan("query { tweet(id: \"a\\\"b\\\\c\\nd\u00e9\") { id } user(id: \"\"\"block \"quoted\" text\"\"\") { id } }");

        var tweets = GraphQLParser.Parser.Parse(plan.Fetches.Single(f => f.Subgraph == "tweets").Document);
        var users = GraphQLParser.Parser.Parse(plan.Fetches.Single(f => f.Subgraph == "users").Document);
        Assert.Equal("a\"b\\c\nd\u00e9", ArgumentOf(tweets));
        Assert.Equal("block \"quoted\" text", ArgumentOf(users));
    }

    private static string ArgumentOf(GraphQLParser.AST.GraphQLDocument document)
    {
        var operation = (GraphQLParser.AST.GraphQLOperationDefinition)document.Definitions[0];
        var field = (GraphQLParser.AST.GraphQLField)operation.SelectionSet.Selections[0];
        return (string)((GraphQLParser.AST.GraphQLStringValue)field.Arguments!.Items[0].Value).Value;
    }
}

public sealed class SubscriptionTests
{
    private const string Query = "subscription { tweetRetweeted { eventId retweetedBy { handle } } }";

    [Fact]
    public async Task EachEventIsCompletedWithTheFieldsOfOtherSubgraphs()
    {
        var transport = new ScriptedTransport()
            .OnEntities("users", new Dictionary<string, string> { ["u-bob"] = """{"handle":"bob"}""", ["u-carol"] = """{"handle":"carol"}""" })
            .OnSubscription("tweets",
                """{"data":{"tweetRetweeted":{"eventId":"e1","retweetedBy":{"id":"u-bob"}}}}""",
                """{"data":{"tweetRetweeted":{"eventId":"e2","retweetedBy":{"id":"u-carol"}}}}""");

        var planned = await Run.Async(transport, Query);
        var openedBeforeReading = transport.Subscriptions.Count;
        var events = new List<string>();
        await foreach (var item in planned.Stream!)
        {
            events.Add(item.Data!.ToJsonString());
            item.Lease?.Dispose();
        }

        Assert.False(planned.HasData);
        Assert.Null(planned.Errors);
        Assert.Equal(0, openedBeforeReading);
        var (subgraph, request) = Assert.Single(transport.Subscriptions);
        Assert.Equal("tweets", subgraph);
        Assert.Equal("subscription{tweetRetweeted{eventId retweetedBy{id}}}", request.Query);
        Assert.Equal(
            [
                """{"tweetRetweeted":{"eventId":"e1","retweetedBy":{"handle":"bob"}}}""",
                """{"tweetRetweeted":{"eventId":"e2","retweetedBy":{"handle":"carol"}}}""",
            ],
            events);
        // A fresh transport (fresh credentials) for each event's fetches.
        Assert.Equal(2, transport.EventTransports);
    }

    [Fact]
    public async Task AnAnonymousSubscriberIsRefusedBeforeAnythingIsOpened()
    {
        var transport = new ScriptedTransport();

        var refusal = await Run.Async(transport, Query, caller: CallerContext.Anonymous);

        Assert.Null(refusal.Stream);
        Assert.Empty(transport.Requests);
        Assert.Empty(transport.Subscriptions);
        Assert.Equal("UNAUTHENTICATED", refusal.Errors![0]!["extensions"]!["code"]!.GetValue<string>());
    }
}
