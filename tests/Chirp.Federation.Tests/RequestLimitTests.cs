using Chirp.Federation.Schema;
using Chirp.GraphQL;

namespace Chirp.Federation.Tests;

/// <summary>
/// Documents the gateway refuses before planning: each is a request error (no <c>data</c>) and no subgraph hears of it.
/// </summary>
public sealed class RequestLimitTests
{
    [Theory]
    // GraphQL spec 5.8.5: a String variable where ID! is expected, a nullable one where a non-null is, a list where a
    // single value is; in a nested input field and in a directive argument too.
    [InlineData("query ($id: String!) { user(id: $id) { id } }")]
    [InlineData("query ($id: ID) { user(id: $id) { id } }")]
    [InlineData("query ($id: [ID!]!) { user(id: $id) { id } }")]
    [InlineData("query ($n: String) { me { tweets(first: $n) { nodes { id } } } }")]
    [InlineData("mutation ($t: Int!) { createTweet(input: { text: $t }) { tweet { id } } }")]
    [InlineData("query ($s: Boolean) { me { id @skip(if: $s) } }")]
    [InlineData("query Q($id: ID) { ...F } fragment F on Query { user(id: $id) { id } }")]
    public async Task VariableInAPositionItsTypeDoesNotAllowIsAValidationError(string query)
    {
        var transport = new ScriptedTransport();

        var result = await Run.Async(transport, query);

        AssertRefused(result, transport, GraphQLRequestFailure.ValidationFailed, "GRAPHQL_VALIDATION_FAILED");
    }

    [Theory]
    // A nullable variable with a default may flow into a non-null position (spec 5.8.5, AreTypesCompatible with a default).
    [InlineData("query ($id: ID = \"u1\") { user(id: $id) { id } }")]
    [InlineData("query ($n: Int) { me { tweets(first: $n) { nodes { id } } } }")]
    [InlineData("query ($id: ID!) { user(id: $id) { id } }")]
    public async Task VariableInAnAllowedPositionIsPlanned(string query)
    {
        var transport = new ScriptedTransport()
            .On("users", """{"data":{"user":null,"me":{"id":"u1"}}}""")
            .OnEntities("tweets", new Dictionary<string, string> { ["u1"] = """{"tweets":{"nodes":[]}}""" });

        var result = await Run.Async(transport, query, """{"id":"u1"}""");

        Assert.Equal(GraphQLRequestFailure.None, result.Failure);
        Run.AssertNoErrors(result);
    }

    [Fact]
    public async Task MutationOnASchemaWithoutMutationsIsAValidationError()
    {
        var transport = new ScriptedTransport();
        var supergraph = Supergraph.Parse(File.ReadAllText(Path.Combine(TestSupergraph.RepositoryRoot(), "bench", "federation", "workload", "supergraph.graphql")));

        var result = await Run.Async(transport, "mutation { me { id } }", executor: new FederatedExecutor(supergraph));

        AssertRefused(result, transport, GraphQLRequestFailure.ValidationFailed, "GRAPHQL_VALIDATION_FAILED");
        Assert.Contains("mutation", result.Errors![0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OperationDeeperThanTheLimitIsRefused()
    {
        var transport = new ScriptedTransport();
        var executor = new FederatedExecutor(TestSupergraph.Value, null, new FederationLimits { MaxDepth = 4 });

        // Depth 5 through a fragment: me(1) tweets(2) nodes(3) retweetOf(4) id(5).
        var result = await Run.Async(transport, "{ me { tweets { ...N } } } fragment N on TweetConnection { nodes { retweetOf { id } } }", executor: executor);

        AssertRefused(result, transport, GraphQLRequestFailure.ValidationFailed, "GRAPHQL_VALIDATION_FAILED");
        Assert.Contains("depth", result.Errors![0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DefaultDepthLimitIsFifteen()
    {
        Assert.Equal(15, new FederationLimits().MaxDepth);
        var transport = new ScriptedTransport();
        var nested = "{ tweet(id: \"t\") { " + string.Concat(Enumerable.Repeat("retweetOf { ", 15)) + "id" + new string('}', 15) + " } }";

        var result = await Run.Async(transport, nested);

        AssertRefused(result, transport, GraphQLRequestFailure.ValidationFailed, "GRAPHQL_VALIDATION_FAILED");
    }

    [Fact]
    public async Task TooManyAliasesAreRefused()
    {
        var transport = new ScriptedTransport();
        var executor = new FederatedExecutor(TestSupergraph.Value, null, new FederationLimits { MaxAliases = 3 });
        var query = "{ " + string.Join(" ", Enumerable.Range(0, 4).Select(i => $"a{i}: me {{ id }}")) + " }";

        var result = await Run.Async(transport, query, executor: executor);

        AssertRefused(result, transport, GraphQLRequestFailure.ValidationFailed, "GRAPHQL_VALIDATION_FAILED");
        Assert.Contains("aliases", result.Errors![0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TooManyRootFieldsAreRefused()
    {
        var transport = new ScriptedTransport();
        var executor = new FederatedExecutor(TestSupergraph.Value, null, new FederationLimits { MaxRootFields = 2 });

        // Three root fields, one of them in an inline fragment: fragments do not hide root fields from the count.
        var result = await Run.Async(transport, "{ me { id } ... on Query { user(id: \"1\") { id } } __typename }", executor: executor);

        AssertRefused(result, transport, GraphQLRequestFailure.ValidationFailed, "GRAPHQL_VALIDATION_FAILED");
        Assert.Contains("root fields", result.Errors![0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OperationAtTheLimitsRuns()
    {
        var transport = new ScriptedTransport().On("users", """{"data":{"a0":{"id":"u1"},"a1":{"id":"u1"}}}""");
        var executor = new FederatedExecutor(TestSupergraph.Value, null, new FederationLimits { MaxDepth = 2, MaxAliases = 2, MaxRootFields = 2 });

        var result = await Run.Async(transport, "{ a0: me { id } a1: me { id } }", executor: executor);

        Run.AssertNoErrors(result);
        Assert.Single(transport.Requests);
    }

    [Fact]
    public async Task IntrospectionQueryOfGraphQLToolsIsWithinTheDefaultLimits()
    {
        // graphql-js 16's getIntrospectionQuery nests ofType seven times under __schema.types.fields.type: depth 12.
        var typeRef = "kind name " + string.Concat(Enumerable.Repeat("ofType { kind name ", 7)) + new string('}', 7);
        var query = $"{{ __schema {{ queryType {{ name }} types {{ name fields {{ name args {{ name type {{ {typeRef} }} }} type {{ {typeRef} }} }} " +
            $"inputFields {{ name type {{ {typeRef} }} }} }} directives {{ name args {{ name }} }} }} }}";
        var transport = new ScriptedTransport();

        var result = await Run.Async(transport, query);

        Run.AssertNoErrors(result);
        Assert.NotEmpty(result.Data!["__schema"]!["types"]!.AsArray());
        Assert.Empty(transport.Requests);
    }

    [Fact]
    public void LimitsBelowOneAreRefusedAtConstruction() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new FederatedExecutor(TestSupergraph.Value, null, new FederationLimits { MaxDepth = 0 }));

    private static void AssertRefused(GraphQLResult result, ScriptedTransport transport, GraphQLRequestFailure failure, string code)
    {
        Assert.Equal(failure, result.Failure);
        Assert.False(result.HasData);
        Assert.NotNull(result.Errors);
        Assert.All(result.Errors!, e => Assert.Equal(code, e!["extensions"]!["code"]!.GetValue<string>()));
        Assert.Empty(transport.Requests);
    }
}
