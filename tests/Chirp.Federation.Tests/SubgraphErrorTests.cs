namespace Chirp.Federation.Tests;

/// <summary>Which subgraph error messages reach the client: only those whose code is on the allowlist.</summary>
public sealed class SubgraphErrorTests
{
    [Theory]
    [InlineData("NOT_FOUND")]
    [InlineData("FORBIDDEN")]
    [InlineData("BAD_USER_INPUT")]
    [InlineData("CONFLICT")]
    [InlineData("RATE_LIMITED")]
    [InlineData("UNAUTHENTICATED")]
    [InlineData("UNAVAILABLE")]
    public async Task MessageOfAnAllowedCodePassesWithItsExtensionsButNoStackTrace(string code)
    {
        var transport = new ScriptedTransport().On("users", $$$"""
            {"data":{"user":null},"errors":[{"message":"No user 7.","path":["user"],"extensions":{"code":"{{{code}}}","field":"id","stacktrace":["at Users.Find()"]}}]}
            """);

        var result = await Run.Async(transport, "{ user(id: \"7\") { id } }");

        var error = Assert.Single(result.Errors!)!;
        Assert.Equal("No user 7.", error["message"]!.GetValue<string>());
        Assert.Equal(Run.Json($$"""{"code":"{{code}}","field":"id"}"""), error["extensions"]!.ToJsonString());
    }

    [Theory]
    [InlineData("""{"code":"INTERNAL"}""")]
    [InlineData("""{"code":"GRAPHQL_VALIDATION_FAILED"}""")]
    [InlineData("""{"code":"INTERNAL_SERVER_ERROR","exception":{"message":"boom"}}""")]
    [InlineData("""{"secret":"x"}""")]
    [InlineData("null")]
    public async Task MessageOfAnyOtherCodeIsReplacedAndTheCodeIsInternal(string extensions)
    {
        var transport = new ScriptedTransport().On("users", $$$"""
            {"data":{"user":null},"errors":[{"message":"relation \"users\" does not exist (db-7.internal:5432)","path":["user"],"extensions":{{{extensions}}}}]}
            """);

        var result = await Run.Async(transport, "{ user(id: \"7\") { id } }");

        var error = Assert.Single(result.Errors!)!;
        Assert.Equal(SubgraphErrors.HiddenMessage, error["message"]!.GetValue<string>());
        Assert.Equal("""{"code":"INTERNAL"}""", error["extensions"]!.ToJsonString());
        Assert.Equal("""["user"]""", error["path"]!.ToJsonString());
    }

    [Fact]
    public async Task EntityFetchErrorsFollowTheSameAllowlist()
    {
        var transport = new ScriptedTransport()
            .On("tweets", """{"data":{"tweet":{"id":"t1","author":{"__typename":"User","id":"u1"}}}}""")
            .On("users", """{"data":{"_entities":[null]},"errors":[{"message":"timeout talking to 10.0.0.9","path":["_entities",0],"extensions":{"code":"INTERNAL"}}]}""");

        var result = await Run.Async(transport, "{ tweet(id: \"t1\") { id author { handle } } }");

        var error = Assert.Single(result.Errors!)!;
        Assert.Equal(SubgraphErrors.HiddenMessage, error["message"]!.GetValue<string>());
        Assert.Equal("""["tweet","author"]""", error["path"]!.ToJsonString());
    }
}
