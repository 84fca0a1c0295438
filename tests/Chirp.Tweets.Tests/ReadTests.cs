using System.Text.Json.Nodes;
using Chirp.Contracts;

namespace Chirp.Tweets.Tests;

/// <summary><c>tweet</c>, <c>myTweets</c>, <c>User.tweets</c> and <c>_entities</c>: lookups and Relay cursor paging.</summary>
[Collection(TweetsCollection.Name)]
public sealed class ReadTests(TweetsServers servers)
{
    private const string MyTweets = "query($first: Int, $after: String) { myTweets(first: $first, after: $after) { edges { cursor node { id text retweetOf { id } } } nodes { id } pageInfo { hasNextPage endCursor } } }";

    [Theory]
    [InlineData("nope")]
    [InlineData("0190a000-0000-7000-8000-000000000000")]
    [InlineData("")]
    public async Task AnUnknownOrMalformedTweetIdGivesNullAndNoError(string id)
    {
        var result = await servers.GraphQLAsync("query($id: ID!) { tweet(id: $id) { id author { id } } }", new { id });

        Assert.Equal("""{"data":{"tweet":null}}""", result.ToJsonString());
    }

    [Fact]
    public async Task ATweetIsReadByIdWithItsAuthorStubAndRetweetCount()
    {
        var alice = TestUser.New("alice");
        var bob = TestUser.New("bob");
        var tweetId = await servers.CreateTweetAsync(alice, "read me");
        var (retweetId, _) = await servers.RetweetAsync(bob, tweetId);

        var result = await servers.GraphQLAsync(
            "query($a: ID!, $b: ID!) { a: tweet(id: $a) { id text author { id } retweetCount retweetOf { id } } b: tweet(id: $b) { id text author { id } retweetCount retweetOf { id text } } }",
            new { a = tweetId, b = retweetId });

        Assert.Null(result["errors"]);
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse($$$"""
                {"a": {"id": "{{{tweetId}}}", "text": "read me", "author": {"id": "{{{alice.IdText}}}"}, "retweetCount": 1, "retweetOf": null},
                 "b": {"id": "{{{retweetId}}}", "text": "read me", "author": {"id": "{{{bob.IdText}}}"}, "retweetCount": 1, "retweetOf": {"id": "{{{tweetId}}}", "text": "read me"} } }
                """),
            result["data"]), result.ToJsonString());
    }

    [Fact]
    public async Task MyTweetsPagesNewestFirstWithCursorsAndIncludesRetweets()
    {
        var alice = TestUser.New("alice");
        var bob = TestUser.New("bob");
        var bobsTweet = await servers.CreateTweetAsync(bob, "bob's");
        var created = new List<string>();
        for (var i = 1; i <= 4; i++)
        {
            created.Add(await servers.CreateTweetAsync(alice, $"tweet {i}"));
        }

        created.Add((await servers.RetweetAsync(alice, bobsTweet)).Id);
        created.Add(await servers.CreateTweetAsync(alice, "tweet 5"));
        var newestFirst = Enumerable.Reverse(created).ToList();

        var seen = new List<string>();
        string? after = null;
        var pages = 0;
        while (true)
        {
            var result = await servers.GraphQLAsync(MyTweets, new { first = 2, after }, alice);
            Assert.Null(result["errors"]);
            var connection = result["data"]!["myTweets"]!;
            var edges = connection["edges"]!.AsArray();
            var ids = edges.Select(e => e!["node"]!["id"]!.GetValue<string>()).ToList();
            Assert.Equal(ids, connection["nodes"]!.AsArray().Select(n => n!["id"]!.GetValue<string>()));
            Assert.Equal(edges[^1]!["cursor"]!.GetValue<string>(), connection["pageInfo"]!["endCursor"]!.GetValue<string>());
            seen.AddRange(ids);
            pages++;
            if (!connection["pageInfo"]!["hasNextPage"]!.GetValue<bool>())
            {
                break;
            }

            after = connection["pageInfo"]!["endCursor"]!.GetValue<string>();
        }

        Assert.Equal(newestFirst, seen);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task MyTweetsDefaultsToTwentyAndAnEmptyListHasNoEndCursor()
    {
        var carol = TestUser.New("carol");

        var result = await servers.GraphQLAsync("{ myTweets { edges { cursor } nodes { id } pageInfo { hasNextPage endCursor } } }", user: carol);

        Assert.Equal("""{"data":{"myTweets":{"edges":[],"nodes":[],"pageInfo":{"hasNextPage":false,"endCursor":null}}}}""", result.ToJsonString());
    }

    [Fact]
    public async Task MyTweetsNeedsAnAuthenticatedCaller()
    {
        var result = await servers.GraphQLAsync("{ myTweets { nodes { id } } }");

        Assert.Equal(ErrorCodes.Unauthenticated, result.SingleErrorCode("myTweets"));
        Assert.Null(result["data"]);
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(101, null)]
    [InlineData(-1, null)]
    [InlineData(10, "not-a-cursor")]
    [InlineData(10, "dDE6MTIzOm5vdC1hLWd1aWQ")]
    public async Task FirstOutOfRangeOrAForeignCursorIsBadUserInput(int first, string? after)
    {
        var alice = TestUser.New("alice");

        var result = await servers.GraphQLAsync(MyTweets, new { first, after }, alice);

        Assert.Equal(ErrorCodes.BadUserInput, result.SingleErrorCode("myTweets"));
    }

    [Fact]
    public async Task AHundredIsTheLargestPage()
    {
        var alice = TestUser.New("alice");

        var result = await servers.GraphQLAsync(MyTweets, new { first = 100 }, alice);

        Assert.Null(result["errors"]);
    }

    [Fact]
    public async Task EntitiesResolveTweetsInOneBatchAndUnknownOnesToNull()
    {
        var alice = TestUser.New("alice");
        var one = await servers.CreateTweetAsync(alice, "one");
        var two = await servers.CreateTweetAsync(alice, "two");

        var result = await servers.GraphQLAsync(
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Tweet { id text author { id } } } }",
            new
            {
                r = new object[]
                {
                    new { __typename = "Tweet", id = two },
                    new { __typename = "Tweet", id = "nope" },
                    new { __typename = "Tweet", id = one },
                    new { __typename = "Tweet", id = "0190a000-0000-7000-8000-000000000000" },
                },
            });

        Assert.Null(result["errors"]);
        var entities = result["data"]!["_entities"]!.AsArray();
        Assert.Equal(4, entities.Count);
        Assert.Equal(two, entities[0]!["id"]!.GetValue<string>());
        Assert.Null(entities[1]);
        Assert.Equal("one", entities[2]!["text"]!.GetValue<string>());
        Assert.Equal(alice.IdText, entities[2]!["author"]!["id"]!.GetValue<string>());
        Assert.Null(entities[3]);
    }

    [Fact]
    public async Task AUserEntityListsThatUsersTweets()
    {
        var alice = TestUser.New("alice");
        var older = await servers.CreateTweetAsync(alice, "older");
        var newer = await servers.CreateTweetAsync(alice, "newer");

        var result = await servers.GraphQLAsync(
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id tweets(first: 5) { nodes { id } pageInfo { hasNextPage } } } } }",
            new { r = new object[] { new { __typename = "User", id = alice.IdText }, new { __typename = "User", id = "not-a-uuid" } } });

        Assert.Null(result["errors"]);
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse($$$"""
                [{"id": "{{{alice.IdText}}}", "tweets": {"nodes": [{"id": "{{{newer}}}"}, {"id": "{{{older}}}"}], "pageInfo": {"hasNextPage": false} } },
                 {"id": "not-a-uuid", "tweets": {"nodes": [], "pageInfo": {"hasNextPage": false} } }]
                """),
            result["data"]!["_entities"]), result.ToJsonString());
    }
}
