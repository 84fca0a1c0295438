using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace Chirp.EndToEnd.Tests;

/// <summary>Federation behaviour through the real subgraphs (cases C01 and C03).</summary>
[Collection(ClusterCollection.Name)]
public sealed class FederationCaseTests(ChirpCluster cluster)
{
    [Fact]
    public async Task TweetWhoseAuthorIsMissingBubblesNullToTheTweet()
    {
        var orphanId = await InsertOrphanTweetAsync("orphaned words");

        var (status, body) = await cluster.GraphQLAsync(null, $"{{ tweet(id: \"{orphanId}\") {{ id text author {{ handle }} }} }}");

        Assert.Equal((HttpStatusCode)294, status);
        Assert.Equal("""{"tweet":null}""", body["data"]!.ToJsonString());
        var error = Assert.Single(body["errors"]!.AsArray());
        Assert.Equal("""["tweet","author"]""", error!["path"]!.ToJsonString());
    }

    [Fact]
    public async Task RetweetOfAnOrphanNullsOnlyThatNodesRetweetOf()
    {
        var alice = await cluster.NewUserAsync("alice");
        await cluster.TweetAsync(alice, "an ordinary tweet");
        var orphanId = await InsertOrphanTweetAsync("orphan to retweet");
        var (_, retweet) = await cluster.GraphQLAsync(alice.AccessToken, $"mutation {{ retweet(input: {{ tweetId: \"{orphanId}\" }}) {{ tweet {{ id }} }} }}");
        Assert.Null(retweet["errors"]);

        var (status, body) = await cluster.GraphQLAsync(alice.AccessToken, "{ myTweets { nodes { id text retweetOf { author { handle } } } } }");

        Assert.Equal((HttpStatusCode)294, status);
        var nodes = body["data"]!["myTweets"]!["nodes"]!.AsArray();
        Assert.Equal(2, nodes.Count);
        Assert.Null(nodes[0]!["retweetOf"]);
        Assert.Equal("orphan to retweet", nodes[0]!["text"]!.GetValue<string>());
        Assert.Equal("an ordinary tweet", nodes[1]!["text"]!.GetValue<string>());
        var error = Assert.Single(body["errors"]!.AsArray());
        Assert.Equal("""["myTweets","nodes",0,"retweetOf","author"]""", error!["path"]!.ToJsonString());
    }

    [Fact]
    public async Task MissingTweetSendsNothingToTheUsersSubgraph()
    {
        var calls = await cluster.SubgraphLog.DuringAsync(async () =>
        {
            var (status, body) = await cluster.GraphQLAsync(null, "{ tweet(id: \"nope\") { id author { handle } } }");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("""{"tweet":null}""", body["data"]!.ToJsonString());
        });
        Assert.DoesNotContain(calls, c => c.Uri.Port == cluster.Users.BaseAddress.Port);
    }

    [Fact]
    public async Task VariableUsedOnlyInANestedFetchReachesThatSubgraphAlone()
    {
        var alice = await cluster.NewUserAsync("alice");
        var t1 = await cluster.TweetAsync(alice, "t1");
        await cluster.TweetAsync(alice, "t2");
        var t3 = await cluster.TweetAsync(alice, "t3");
        _ = t1;

        JsonObject body = [];
        var calls = await cluster.SubgraphLog.DuringAsync(async () =>
        {
            (_, body) = await cluster.GraphQLAsync(alice.AccessToken, "query Feed($n: Int!) { me { handle tweets(first: $n) { nodes { id } } } }", new { n = 2 });
        });

        Assert.Null(body["errors"]);
        var ids = body["data"]!["me"]!["tweets"]!["nodes"]!.AsArray().Select(n => n!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(2, ids.Count);
        Assert.Equal(t3, ids[0]);
        Assert.Contains(calls, c => c.Uri.Port == cluster.Tweets.BaseAddress.Port);
        Assert.Contains(calls, c => c.Uri.Port == cluster.Users.BaseAddress.Port);
        foreach (var call in calls)
        {
            var document = JsonNode.Parse(call.Body)!["query"]!.GetValue<string>();
            var declares = document.Contains("$n", StringComparison.Ordinal);
            var isTweets = call.Uri.Port == cluster.Tweets.BaseAddress.Port;
            Assert.Equal(isTweets, declares);
        }
    }

    [Fact]
    public async Task VariableWithDefaultAndFragmentVariablesWork()
    {
        var alice = await cluster.NewUserAsync("alice");
        await cluster.TweetAsync(alice, "only one");
        var (status, body) = await cluster.GraphQLAsync(alice.AccessToken,
            "query($n: Int = 1) { myTweets(first: $n) { nodes { id } } me { ...Mine } } fragment Mine on User { tweets(first: $n) { nodes { text } } }");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("only one", body["data"]!["me"]!["tweets"]!["nodes"]![0]!["text"]!.GetValue<string>());
        Assert.Single(body["data"]!["myTweets"]!["nodes"]!.AsArray());
    }

    [Fact]
    public async Task UsersSubgraphDownNullsTheAuthorWithoutRevealingInternals()
    {
        var alice = await cluster.NewUserAsync("alice");
        var tweetId = await cluster.TweetAsync(alice, "author unreachable");
        var unreachable = $"http://127.0.0.1:{Chirp.Testing.FreePort.Next()}/graphql";
        var gateway = await cluster.StartGatewayAsync(new() { ["Subgraphs:users:Url"] = unreachable });
        using var client = gateway.CreateClient();

        using var response = await client.PostAsJsonAsync("/graphql", new { query = $"{{ tweet(id: \"{tweetId}\") {{ id text author {{ handle }} }} }}" });
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal((HttpStatusCode)294, response.StatusCode);
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Equal("""{"tweet":null}""", body["data"]!.ToJsonString());
        Assert.Equal("""["tweet","author"]""", body["errors"]![0]!["path"]!.ToJsonString());
        Assert.DoesNotContain("127.0.0.1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("http", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" at ", text, StringComparison.Ordinal);
    }

    private async Task<string> InsertOrphanTweetAsync(string text)
    {
        var id = Guid.CreateVersion7();
        await using var connection = new NpgsqlConnection(cluster.TweetsConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("INSERT INTO tweets (id, author_id, text, created_at) VALUES (@id, @author, @text, now())", connection);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("author", Guid.CreateVersion7());
        command.Parameters.AddWithValue("text", text);
        await command.ExecuteNonQueryAsync();
        return id.ToString();
    }
}
