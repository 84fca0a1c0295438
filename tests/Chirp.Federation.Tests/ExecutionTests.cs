using System.Text.Json.Nodes;
using Chirp.Federation.Schema;
using Chirp.GraphQL;

namespace Chirp.Federation.Tests;

public sealed class ExecutionTests
{
    private static readonly Dictionary<string, string> Users = new()
    {
        ["u-alice"] = """{"handle":"alice","displayName":"Alice"}""",
        ["u-bob"] = """{"handle":"bob","displayName":"Bob"}""",
    };

    [Fact]
    public async Task AnEntityHopSendsOneUsersFetchWithDedupedRepresentations()
    {
        var transport = new ScriptedTransport()
            .On("tweets", """
                {"data":{"myTweets":{"nodes":[
                  {"id":"t3","author":{"id":"u-alice"}},
                  {"id":"t2","author":{"id":"u-bob"}},
                  {"id":"t1","author":{"id":"u-alice"}}]}}}
                """)
            .OnEntities("users", Users);

        var result = await Run.Async(transport, "{ myTweets { nodes { id author { handle displayName } } } }");

        Run.AssertNoErrors(result);
        Assert.Equal(Run.Json("""
            {"myTweets":{"nodes":[
              {"id":"t3","author":{"handle":"alice","displayName":"Alice"}},
              {"id":"t2","author":{"handle":"bob","displayName":"Bob"}},
              {"id":"t1","author":{"handle":"alice","displayName":"Alice"}}]}}
            """), result.Data!.ToJsonString());
        var users = Assert.Single(transport.RequestsTo("users"));
        Assert.Equal(
            """[{"__typename":"User","id":"u-alice"},{"__typename":"User","id":"u-bob"}]""",
            users.Variables!["representations"]!.ToJsonString());
    }

    [Fact]
    public async Task RootFieldsOfSeveralSubgraphsMergeInTheClientOrder()
    {
        var transport = new ScriptedTransport()
            .On("tweets", """{"data":{"tweet":{"id":"t1"}}}""")
            .On("users", """{"data":{"me":{"handle":"alice"},"user":null}}""");

        var result = await Run.Async(transport, """{ me { handle } tweet(id: "t1") { id } user(id: "u9") { handle } }""");

        Assert.Equal("""{"me":{"handle":"alice"},"tweet":{"id":"t1"},"user":null}""", result.Data!.ToJsonString());
        Assert.Single(transport.RequestsTo("users"));
        Assert.Single(transport.RequestsTo("tweets"));
    }

    [Fact]
    public async Task AMissingAuthorNullsTheTweetWithAnErrorAtTheAuthor()
    {
        var transport = new ScriptedTransport()
            .On("tweets", """{"data":{"tweet":{"id":"t9","text":"hi","author":{"id":"u-ghost"}}}}""")
            .OnEntities("users", Users);

        var result = await Run.Async(transport, """{ tweet(id: "t9") { id text author { handle } } }""");

        Assert.True(result.HasData);
        Assert.Equal("""{"tweet":null}""", result.Data!.ToJsonString());
        var error = Assert.Single(result.Errors!);
        Assert.Equal("""["tweet","author"]""", error!["path"]!.ToJsonString());
    }

    [Fact]
    public async Task AMissingAuthorInAListNullsOnlyThatItemsNearestNullableParent()
    {
        var transport = new ScriptedTransport()
            .On("tweets", """
                {"data":{"myTweets":{"nodes":[
                  {"id":"r1","retweetOf":{"author":{"id":"u-ghost"}}},
                  {"id":"t3","retweetOf":null},
                  {"id":"r2","retweetOf":{"author":{"id":"u-bob"}}}]}}}
                """)
            .OnEntities("users", Users);

        var result = await Run.Async(transport, "{ myTweets { nodes { id retweetOf { author { handle } } } } }");

        Assert.Equal(Run.Json("""
            {"myTweets":{"nodes":[
              {"id":"r1","retweetOf":null},
              {"id":"t3","retweetOf":null},
              {"id":"r2","retweetOf":{"author":{"handle":"bob"}}}]}}
            """), result.Data!.ToJsonString());
        var error = Assert.Single(result.Errors!);
        Assert.Equal("""["myTweets","nodes",0,"retweetOf","author"]""", error!["path"]!.ToJsonString());
    }

    [Fact]
    public async Task ANullTweetNeedsNoUsersCall()
    {
        var transport = new ScriptedTransport().On("tweets", """{"data":{"tweet":null}}""");

        var result = await Run.Async(transport, """{ tweet(id: "nope") { id author { handle } } }""");

        Assert.Equal("""{"tweet":null}""", result.Data!.ToJsonString());
        Run.AssertNoErrors(result);
        Assert.Empty(transport.RequestsTo("users"));
    }

    [Fact]
    public async Task AVariableUsedOnlyInANestedFetchOfAnotherSubgraphReachesOnlyThatFetch()
    {
        var transport = new ScriptedTransport()
            .On("users", """{"data":{"me":{"handle":"alice","id":"u-alice"}}}""")
            .On("tweets", """{"data":{"_entities":[{"tweets":{"nodes":[{"id":"t3"},{"id":"t1"}]}}]}}""");

        var result = await Run.Async(
            transport,
            "query Feed($n: Int!) { me { handle tweets(first: $n) { nodes { id } } } }",
            """{"n":2}""",
            operationName: "Feed");

        Run.AssertNoErrors(result);
        Assert.Equal("""{"me":{"handle":"alice","tweets":{"nodes":[{"id":"t3"},{"id":"t1"}]}}}""", result.Data!.ToJsonString());
        var users = Assert.Single(transport.RequestsTo("users"));
        Assert.Null(users.Variables);
        Assert.DoesNotContain("$n", users.Query, StringComparison.Ordinal);
        var tweets = Assert.Single(transport.RequestsTo("tweets"));
        Assert.Equal(2, tweets.Variables!["n"]!.GetValue<int>());
        Assert.Contains("$n:Int!", tweets.Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AVariableDefaultUsedAtTwoDepthsReachesBothSubgraphs()
    {
        var transport = new ScriptedTransport()
            .On("tweets", request => JsonNode.Parse(request.Query.Contains("_entities", StringComparison.Ordinal)
                ? """{"data":{"_entities":[{"tweets":{"nodes":[{"id":"t1"}]}}]}}"""
                : """{"data":{"myTweets":{"nodes":[{"id":"t3"}]}}}""")!.AsObject())
            .On("users", """{"data":{"me":{"id":"u-alice"}}}""");

        var result = await Run.Async(transport, """
            query($n: Int = 1) {
              myTweets(first: $n) { nodes { id } }
              me { tweets(first: $n) { nodes { id } } }
            }
            """);

        Run.AssertNoErrors(result);
        Assert.Equal("""{"myTweets":{"nodes":[{"id":"t3"}]},"me":{"tweets":{"nodes":[{"id":"t1"}]}}}""", result.Data!.ToJsonString());
        var tweets = transport.RequestsTo("tweets").ToList();
        Assert.Equal(2, tweets.Count);
        Assert.All(tweets, r =>
        {
            Assert.Contains("$n:Int=1", r.Query, StringComparison.Ordinal);
            Assert.Equal(1, r.Variables!["n"]!.GetValue<int>());
        });
        Assert.Null(Assert.Single(transport.RequestsTo("users")).Variables);
    }

    [Fact]
    public async Task ASubgraphErrorInsideAnEntityCarriesTheClientPathAndLocation()
    {
        var query = "{ me { tweets { nodes { id author { displayName } } } } }";
        var transport = new ScriptedTransport()
            .On("users", request => JsonNode.Parse(request.Query.Contains("_entities", StringComparison.Ordinal)
                ? """
                  {"data":{"_entities":[{"displayName":"Alice"},null]},
                   "errors":[{"message":"Display name unavailable.","locations":[{"line":1,"column":97}],
                              "path":["_entities",1,"displayName"],"extensions":{"code":"INTERNAL","stacktrace":"at Users.Resolve()"}}]}
                  """
                : """{"data":{"me":{"id":"u-alice"}}}""")!.AsObject())
            .On("tweets", """
                {"data":{"_entities":[{"tweets":{"nodes":[
                  {"id":"t3","author":{"id":"u-alice"}},
                  {"id":"t1","author":{"id":"u-alice"}},
                  {"id":"x","author":{"id":"u-bob"}}]}}]}}
                """);

        var result = await Run.Async(transport, query);

        Assert.Equal("""{"me":null}""", result.Data!.ToJsonString());
        var error = Assert.Single(result.Errors!)!.AsObject();
        Assert.Equal("""["me","tweets","nodes",2,"author","displayName"]""", error["path"]!.ToJsonString());
        Assert.Equal("INTERNAL", error["extensions"]!["code"]!.GetValue<string>());
        Assert.Null(error["extensions"]!["stacktrace"]);
        var location = error["locations"]![0]!;
        Assert.Equal(1, location["line"]!.GetValue<int>());
        Assert.Equal(query.IndexOf("displayName", StringComparison.Ordinal) + 1, location["column"]!.GetValue<int>());
    }

    [Fact]
    public async Task ClientAliasesAndInternalKeysNeverLeak()
    {
        var transport = new ScriptedTransport()
            .On("tweets", """{"data":{"tweet":{"id":"hello","author":{"__key_id":"u-alice"}}}}""")
            .OnEntities("users", new Dictionary<string, string> { ["u-alice"] = """{"id":"alice"}""" });

        var result = await Run.Async(transport, """{ tweet(id: "t1") { id: text author { id: handle } } }""");

        Run.AssertNoErrors(result);
        Assert.Equal("""{"tweet":{"id":"hello","author":{"id":"alice"}}}""", result.Data!.ToJsonString());
    }

    [Fact]
    public async Task AnUnavailableSubgraphNullsItsFieldsWithoutRevealingHosts()
    {
        var transport = new ScriptedTransport()
            .On("tweets", """{"data":{"tweet":{"id":"t1","text":"hi","author":{"id":"u-alice"}}}}""")
            .Down("users");

        var result = await Run.Async(transport, """{ tweet(id: "t1") { id text author { handle } } }""");

        Assert.Equal("""{"tweet":null}""", result.Data!.ToJsonString());
        var error = Assert.Single(result.Errors!)!;
        Assert.Equal("""["tweet","author"]""", error["path"]!.ToJsonString());
        var text = error.ToJsonString();
        Assert.DoesNotContain("10.1.2.3", text, StringComparison.Ordinal);
        Assert.DoesNotContain("http", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Chirp.Gateway", text, StringComparison.Ordinal);
        Assert.Equal("UNAVAILABLE", error["extensions"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnUnavailableRootSubgraphNullsOnlyItsRootFields()
    {
        var transport = new ScriptedTransport()
            .Down("tweets")
            .On("users", """{"data":{"me":{"handle":"alice"}}}""");

        var result = await Run.Async(transport, """{ tweet(id: "t1") { id } me { handle } }""");

        Assert.Equal("""{"tweet":null,"me":{"handle":"alice"}}""", result.Data!.ToJsonString());
        Assert.Equal("""["tweet"]""", Assert.Single(result.Errors!)!["path"]!.ToJsonString());
    }

    [Fact]
    public async Task AnAnonymousCallerGetsUnauthenticatedOnProtectedFieldsAndTheRestRuns()
    {
        var transport = new ScriptedTransport().On("tweets", """{"data":{"tweet":{"id":"t1"}}}""");

        var result = await Run.Async(transport, """{ me { handle } tweet(id: "t1") { id } }""", caller: CallerContext.Anonymous);

        Assert.Equal("""{"me":null,"tweet":{"id":"t1"}}""", result.Data!.ToJsonString());
        var error = Assert.Single(result.Errors!)!;
        Assert.Equal("""["me"]""", error["path"]!.ToJsonString());
        Assert.Equal("UNAUTHENTICATED", error["extensions"]!["code"]!.GetValue<string>());
        Assert.Empty(transport.RequestsTo("users"));
    }

    [Fact]
    public async Task AProtectedNonNullRootFieldNullsTheWholeData()
    {
        var transport = new ScriptedTransport();

        var result = await Run.Async(transport, "{ myTweets { nodes { id } } }", caller: CallerContext.Anonymous);

        Assert.True(result.HasData);
        Assert.Null(result.Data);
        Assert.Equal("UNAUTHENTICATED", Assert.Single(result.Errors!)!["extensions"]!["code"]!.GetValue<string>());
        Assert.Empty(transport.Requests);
    }

    [Fact]
    public async Task ACallerWithoutTheScopeGetsForbiddenAndNothingIsSent()
    {
        var transport = new ScriptedTransport();

        var result = await Run.Async(transport, """mutation { createTweet(input: {text: "hi"}) { tweet { id } } }""", caller: Run.NoScopes);

        Assert.Null(result.Data);
        var error = Assert.Single(result.Errors!)!;
        Assert.Equal("FORBIDDEN", error["extensions"]!["code"]!.GetValue<string>());
        Assert.Equal("""["createTweet"]""", error["path"]!.ToJsonString());
        Assert.Empty(transport.Requests);
    }

    [Fact]
    public async Task AForbiddenNestedNonNullFieldNullsItsNearestNullableParent()
    {
        var sdl = File.ReadAllText(Path.Combine(TestSupergraph.RepositoryRoot(), "schema", "supergraph.graphql")).Replace(
            "emailSettings: EmailSettings @join__field(graph: NOTIFICATIONS)",
            """emailSettings: EmailSettings! @join__field(graph: NOTIFICATIONS) @requiresScopes(scopes: [["email:manage"]])""",
            StringComparison.Ordinal);
        var executor = new FederatedExecutor(Supergraph.Parse(sdl));
        var transport = new ScriptedTransport()
            .On("users", """{"data":{"user":{"handle":"alice","id":"u-alice"}},"extensions":{}}""")
            .OnEntities("notifications", new Dictionary<string, string> { ["u-alice"] = """{"emailSettings":{"address":"a@example.test"}}""" });
        const string query = """{ user(id: "u-alice") { handle emailSettings { address } } }""";

        var forbidden = await Run.Async(transport, query, caller: Run.NoScopes, executor: executor);
        var allowed = await Run.Async(transport, query, caller: Run.Alice, executor: executor);

        Assert.Equal("""{"user":null}""", forbidden.Data!.ToJsonString());
        var error = Assert.Single(forbidden.Errors!)!;
        Assert.Equal("FORBIDDEN", error["extensions"]!["code"]!.GetValue<string>());
        Assert.Equal("""["user","emailSettings"]""", error["path"]!.ToJsonString());
        Assert.Equal("""{"user":{"handle":"alice","emailSettings":{"address":"a@example.test"}}}""", allowed.Data!.ToJsonString());
        Assert.Single(transport.RequestsTo("notifications"));
    }

    [Fact]
    public async Task AnInvalidDocumentIsRefusedWithoutData()
    {
        var transport = new ScriptedTransport();

        var result = await Run.Async(transport, """{ tweet(id: "t1") { nope } }""");

        Assert.Equal(GraphQLRequestFailure.ValidationFailed, result.Failure);
        Assert.False(result.HasData);
        Assert.Contains("nope", Assert.Single(result.Errors!)!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(transport.Requests);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"id":null}""")]
    [InlineData("""{"id":{"a":1}}""")]
    [InlineData("""{"id":true}""")]
    public async Task VariablesThatDoNotCoerceAreRefused(string variables)
    {
        var transport = new ScriptedTransport();

        var result = await Run.Async(transport, "query($id: ID!) { tweet(id: $id) { id } }", variables);

        Assert.Equal(GraphQLRequestFailure.VariablesInvalid, result.Failure);
        Assert.False(result.HasData);
        Assert.Equal("BAD_USER_INPUT", Assert.Single(result.Errors!)!["extensions"]!["code"]!.GetValue<string>());
        Assert.Empty(transport.Requests);
    }

    [Fact]
    public async Task AnInputObjectWithAnUnknownFieldIsRefused()
    {
        var result = await Run.Async(
            new ScriptedTransport(),
            "mutation($input: CreateTweetInput!) { createTweet(input: $input) { tweet { id } } }",
            """{"input":{"text":"hi","extra":1}}""");

        Assert.Equal(GraphQLRequestFailure.VariablesInvalid, result.Failure);
    }

    [Fact]
    public async Task AnUnknownOperationNameIsRefused()
    {
        var result = await Run.Async(new ScriptedTransport(), "query A { __typename } query B { __typename }", operationName: "C");

        Assert.Equal(GraphQLRequestFailure.OperationNotFound, result.Failure);
        Assert.False(result.HasData);
    }

    [Fact]
    public async Task AliasesAndFragmentsMergeIntoTheClientsShape()
    {
        var transport = new ScriptedTransport()
            .On("tweets", """
                {"data":{
                  "first":{"id":"t1","text":"one","author":{"id":"u-alice"}},
                  "second":{"id":"t2","text":"two","author":{"id":"u-bob"}}}}
                """)
            .OnEntities("users", new Dictionary<string, string>
            {
                ["u-alice"] = """{"handle":"alice","name":"Alice"}""",
                ["u-bob"] = """{"handle":"bob","name":"Bob"}""",
            });

        var result = await Run.Async(transport, """
            query {
              first: tweet(id: "t1") { ...T }
              second: tweet(id: "t2") { ...T author { name: displayName } }
            }
            fragment T on Tweet { id text author { handle } }
            """);

        Run.AssertNoErrors(result);
        Assert.Equal(Run.Json("""
            {"first":{"id":"t1","text":"one","author":{"handle":"alice"}},
             "second":{"id":"t2","text":"two","author":{"handle":"bob","name":"Bob"}}}
            """), result.Data!.ToJsonString());
        Assert.Single(transport.RequestsTo("users"));
    }

    [Fact]
    public async Task TypenameIsAnsweredAtEveryLevel()
    {
        var transport = new ScriptedTransport()
            .On("tweets", """{"data":{"tweet":{"id":"t1","author":{"id":"u-alice"}}}}""")
            .OnEntities("users", Users);

        var result = await Run.Async(transport, """{ __typename tweet(id: "t1") { __typename id author { kind: __typename handle } } }""");

        Assert.Equal(
            """{"__typename":"Query","tweet":{"__typename":"Tweet","id":"t1","author":{"kind":"User","handle":"alice"}}}""",
            result.Data!.ToJsonString());
    }

    [Fact]
    public async Task IntrospectionIsAnsweredFromTheApiSchema()
    {
        var transport = new ScriptedTransport();

        var result = await Run.Async(transport, """{ __schema { queryType { name } } tweetType: __type(name: "Tweet") { fields { name } } }""");

        Run.AssertNoErrors(result);
        Assert.Equal("Query", result.Data!["__schema"]!["queryType"]!["name"]!.GetValue<string>());
        var fields = result.Data!["tweetType"]!["fields"]!.AsArray().Select(f => f!["name"]!.GetValue<string>());
        Assert.Equal(["id", "text", "createdAt", "author", "retweetOf", "retweetCount"], fields);
        Assert.Empty(transport.Requests);
    }

    [Fact]
    public async Task IntrospectionAndDataMixInOneOperation()
    {
        var transport = new ScriptedTransport().On("tweets", """{"data":{"tweet":{"id":"t1"}}}""");

        var result = await Run.Async(transport, """{ tweet(id: "t1") { id } __schema { mutationType { name } } }""");

        Assert.Equal("""{"tweet":{"id":"t1"},"__schema":{"mutationType":{"name":"Mutation"}}}""", result.Data!.ToJsonString());
    }

    [Fact]
    public async Task MutationsRunOneAfterTheOther()
    {
        var transport = new ScriptedTransport()
            .On("tweets", request => JsonNode.Parse(request.Query.Contains("a:createTweet", StringComparison.Ordinal)
                ? """{"data":{"a":{"tweet":{"id":"t7"}}}}"""
                : """{"data":{"c":{"tweet":{"id":"t8"}}}}""")!.AsObject())
            .On("users", """{"data":{"b":{"user":{"id":"u-eve"}}}}""");

        var result = await Run.Async(transport, """
            mutation {
              a: createTweet(input: {text: "x"}) { tweet { id } }
              b: signUp(input: {handle: "eve", displayName: "Eve", password: "pw"}) { user { id } }
              c: createTweet(input: {text: "y"}) { tweet { id } }
            }
            """);

        Assert.Equal("""{"a":{"tweet":{"id":"t7"}},"b":{"user":{"id":"u-eve"}},"c":{"tweet":{"id":"t8"}}}""", result.Data!.ToJsonString());
        Assert.Equal(["tweets", "users", "tweets"], transport.Requests.Select(r => r.Subgraph));
    }

    [Fact]
    public async Task SkipAndIncludeFollowTheVariables()
    {
        var transport = new ScriptedTransport()
            .On("tweets", """{"data":{"tweet":{"id":"t1","author":{"id":"u-alice"}}}}""")
            .OnEntities("users", Users);
        const string query = """query($full: Boolean!) { tweet(id: "t1") { id author @include(if: $full) { handle } } }""";

        var brief = await Run.Async(transport, query, """{"full":false}""");
        var full = await Run.Async(transport, query, """{"full":true}""");

        Assert.Equal("""{"tweet":{"id":"t1"}}""", brief.Data!.ToJsonString());
        Assert.Equal("""{"tweet":{"id":"t1","author":{"handle":"alice"}}}""", full.Data!.ToJsonString());
        Assert.Single(transport.RequestsTo("users"));
    }

    [Fact]
    public async Task SubgraphErrorsKeepTheirCode()
    {
        var transport = new ScriptedTransport().On("tweets", """
            {"data":{"retweet":null},"errors":[{"message":"No such tweet.","path":["retweet"],"extensions":{"code":"NOT_FOUND"}}]}
            """);

        var result = await Run.Async(transport, """mutation { retweet(input: {tweetId: "nope"}) { created } }""");

        Assert.Null(result.Data);
        var error = Assert.Single(result.Errors!)!;
        Assert.Equal("NOT_FOUND", error["extensions"]!["code"]!.GetValue<string>());
        Assert.Equal("""["retweet"]""", error["path"]!.ToJsonString());
    }
}

public sealed class EntityBatchTests
{
    [Fact]
    public async Task ErrorsOfEachBatchOfOneCallLandAtTheirOwnPlaces()
    {
        var transport = new ScriptedTransport()
            .On("tweets", """{"data":{"tweet":{"author":{"id":"u-alice"},"retweetOf":{"author":{"id":"u-bob"}}}}}""")
            .On("users", """
                {"data":{"_0":[{"handle":"alice"}],"_1":[null]},
                 "errors":[{"message":"Bob is gone.","path":["_1",0,"displayName"],"extensions":{"code":"NOT_FOUND"}}]}
                """);

        var result = await Run.Async(transport, """{ tweet(id: "t1") { author { handle } retweetOf { author { handle displayName } } } }""");

        Assert.Equal("""{"tweet":{"author":{"handle":"alice"},"retweetOf":null}}""", result.Data!.ToJsonString());
        var error = Assert.Single(result.Errors!)!;
        Assert.Equal("""["tweet","retweetOf","author","displayName"]""", error["path"]!.ToJsonString());
        Assert.Equal("NOT_FOUND", error["extensions"]!["code"]!.GetValue<string>());
        Assert.Single(transport.RequestsTo("users"));
    }

    [Fact]
    public async Task AnEntityAnswerOfTheWrongLengthIsAnErrorNotACrash()
    {
        var transport = new ScriptedTransport()
            .On("tweets", """{"data":{"tweet":{"id":"t1","author":{"id":"u-alice"}}}}""")
            .On("users", """{"data":{"_entities":[]}}""");

        var result = await Run.Async(transport, """{ tweet(id: "t1") { id author { handle } } }""");

        Assert.Equal("""{"tweet":null}""", result.Data!.ToJsonString());
        Assert.Equal("""["tweet","author"]""", Assert.Single(result.Errors!)!["path"]!.ToJsonString());
    }

    [Fact]
    public async Task ARepeatedRequestUsesTheCachedPlanAndGivesTheSameAnswer()
    {
        var executor = new FederatedExecutor(TestSupergraph.Value);
        var transport = new ScriptedTransport()
            .On("tweets", """{"data":{"tweet":{"id":"t1","author":{"id":"u-alice"}}}}""")
            .OnEntities("users", new Dictionary<string, string> { ["u-alice"] = """{"handle":"alice"}""" });
        const string query = """{ tweet(id: "t1") { id author { handle } } }""";

        var first = await Run.Async(transport, query, executor: executor);
        var second = await Run.Async(transport, query, executor: executor);

        Assert.Equal(first.Data!.ToJsonString(), second.Data!.ToJsonString());
        Assert.Equal("""{"tweet":{"id":"t1","author":{"handle":"alice"}}}""", second.Data!.ToJsonString());
    }
}

public sealed class IntrospectionTests
{
    private const string IdeQuery = """
        query IntrospectionQuery {
          __schema {
            queryType { name } mutationType { name } subscriptionType { name }
            types { ...FullType }
            directives { name description locations args { ...InputValue } }
          }
        }
        fragment FullType on __Type {
          kind name description
          fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
          inputFields { ...InputValue }
          interfaces { ...TypeRef }
          enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
          possibleTypes { ...TypeRef }
        }
        fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
        fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
        """;

    [Fact]
    public async Task TheIdesIntrospectionQueryDescribesTheApiSchemaOnly()
    {
        var transport = new ScriptedTransport();

        var result = await Run.Async(transport, IdeQuery, operationName: "IntrospectionQuery");

        Run.AssertNoErrors(result);
        var schema = result.Data!["__schema"]!;
        Assert.Equal("Subscription", schema["subscriptionType"]!["name"]!.GetValue<string>());
        var types = schema["types"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()).ToList();
        Assert.Contains("Tweet", types);
        Assert.DoesNotContain(types, t => t.StartsWith("join__", StringComparison.Ordinal) || t.StartsWith("link__", StringComparison.Ordinal));
        var directives = schema["directives"]!.AsArray().Select(d => d!["name"]!.GetValue<string>()).ToList();
        Assert.DoesNotContain("join__field", directives);
        Assert.DoesNotContain("requiresScopes", directives);
        Assert.Empty(transport.Requests);
    }

    [Fact]
    public async Task IntrospectionVariablesArePassedThrough()
    {
        var result = await Run.Async(new ScriptedTransport(), "query($name: String!) { __type(name: $name) { name kind } }", """{"name":"User"}""");

        Assert.Equal("""{"__type":{"name":"User","kind":"OBJECT"}}""", result.Data!.ToJsonString());
    }
}
