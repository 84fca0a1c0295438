using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Chirp.Testing;
using Npgsql;
using StackExchange.Redis;

namespace Chirp.EndToEnd.Tests;

/// <summary>The seed's story, end to end through the gateway on real PostgreSQL, Redis and SMTP.</summary>
[Collection(ClusterCollection.Name)]
public sealed class StoryTests(ChirpCluster cluster)
{
    private static readonly TimeSpan MailTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task TweetsPostedOverRestAndGraphQLAreListedNewestFirst()
    {
        var alice = await cluster.NewUserAsync("alice");
        await cluster.NewUserAsync("bob");

        using var client = cluster.Client(alice.AccessToken);
        using var created = await client.PostAsJsonAsync("/tweets", new { text = "first, over REST" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var restTweet = await created.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal($"/tweets/{restTweet!["id"]}", created.Headers.Location!.OriginalString);

        var (status, body) = await cluster.GraphQLAsync(alice.AccessToken,
            "mutation { createTweet(input: { text: \"second, over GraphQL\" }) { tweet { id text } } }");
        Assert.Equal(HttpStatusCode.OK, status);
        var graphQLTweetId = body["data"]!["createTweet"]!["tweet"]!["id"]!.GetValue<string>();

        var page = await client.GetFromJsonAsync<JsonObject>("/tweets");
        var items = page!["items"]!.AsArray();
        Assert.Equal([graphQLTweetId, restTweet["id"]!.GetValue<string>()], items.Select(i => i!["id"]!.GetValue<string>()));
        Assert.Null(page["nextCursor"]);

        var (_, mine) = await cluster.GraphQLAsync(alice.AccessToken, "{ myTweets { nodes { text } } }");
        Assert.Equal(["second, over GraphQL", "first, over REST"], mine["data"]!["myTweets"]!["nodes"]!.AsArray().Select(n => n!["text"]!.GetValue<string>()));
    }

    [Fact]
    public async Task GetTweetsPagesWithNextCursor()
    {
        var alice = await cluster.NewUserAsync("pager");
        for (var i = 1; i <= 3; i++)
        {
            await cluster.TweetAsync(alice, $"tweet {i}");
        }

        using var client = cluster.Client(alice.AccessToken);
        var first = await client.GetFromJsonAsync<JsonObject>("/tweets?first=2");
        Assert.Equal(["tweet 3", "tweet 2"], first!["items"]!.AsArray().Select(n => n!["text"]!.GetValue<string>()));
        var cursor = first["nextCursor"]!.GetValue<string>();
        var second = await client.GetFromJsonAsync<JsonObject>($"/tweets?first=2&after={Uri.EscapeDataString(cursor)}");
        Assert.Equal(["tweet 1"], second!["items"]!.AsArray().Select(n => n!["text"]!.GetValue<string>()));
        Assert.Null(second["nextCursor"]);
    }

    [Fact]
    public async Task RetweetEmailsTheOptedInAuthorOnceAndRepeatChangesNothing()
    {
        var alice = await cluster.NewUserAsync("alice", "Alice Liddell", $"{Guid.NewGuid():N}@example.test", notifyOnRetweet: true);
        var bob = await cluster.NewUserAsync("bob", "Bob Builder");
        var tweetId = await cluster.TweetAsync(alice, "Down the rabbit hole");

        using var bobClient = cluster.Client(bob.AccessToken);
        using var first = await bobClient.PostAsync($"/tweets/{tweetId}/retweet", null);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var retweet = await first.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("Down the rabbit hole", retweet!["text"]!.GetValue<string>());
        Assert.Equal(tweetId, retweet["retweetOf"]!["id"]!.GetValue<string>());

        var mail = await cluster.Smtp.WaitForMailAsync(m => IsRetweetMail(m, alice.Email!), MailTimeout);
        var text = mail.Message.TextBody ?? mail.Message.HtmlBody ?? "";
        Assert.Contains("Bob Builder", mail.Message.Subject + text, StringComparison.Ordinal);
        Assert.Contains(bob.Handle, mail.Message.Subject + text, StringComparison.Ordinal);
        Assert.Contains("Down the rabbit hole", text, StringComparison.Ordinal);

        using var second = await bobClient.PostAsync($"/tweets/{tweetId}/retweet", null);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var again = await second.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(retweet["id"]!.GetValue<string>(), again!["id"]!.GetValue<string>());

        Assert.Equal(1, await CountRetweetsAsync(tweetId));
        await cluster.Smtp.AssertNoMailAsync(m => IsRetweetMail(m, alice.Email!) && m != mail, TimeSpan.FromSeconds(3));
        Assert.Single(cluster.Smtp.Messages, m => IsRetweetMail(m, alice.Email!));

        // RFC 8058 one-click through the gateway, without a token, turns retweet mail off.
        var unsubscribe = mail.Message.Headers[MimeKit.HeaderId.ListUnsubscribe]!.Trim('<', '>');
        var (status, page) = await cluster.FollowMailedLinkAsync(HttpMethod.Post, unsubscribe);
        Assert.True(status == HttpStatusCode.OK, page);
        var (_, settings) = await cluster.GraphQLAsync(alice.AccessToken, "{ me { emailSettings { verified notifyOnRetweet } } }");
        Assert.Equal("""{"verified":true,"notifyOnRetweet":false}""", settings["data"]!["me"]!["emailSettings"]!.ToJsonString());
    }

    private static bool IsRetweetMail(ReceivedMail mail, string to) =>
        mail.RcptTo.Contains(to) && mail.Subject?.Contains(" retweeted your tweet ", StringComparison.Ordinal) == true;

    [Fact]
    public async Task RetweetOfAnOptedOutAuthorSendsNothingAndIsAcknowledged()
    {
        var bobEmail = $"{Guid.NewGuid():N}@example.test";
        var bob = await cluster.NewUserAsync("bob", "Bob", bobEmail, notifyOnRetweet: false);
        var alice = await cluster.NewUserAsync("alice", "Alice");
        var tweetId = await cluster.TweetAsync(bob, "I would rather not be told");

        using var client = cluster.Client(alice.AccessToken);
        using var response = await client.PostAsync($"/tweets/{tweetId}/retweet", null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);

        await WaitForNoPendingAsync();
        await cluster.Smtp.AssertNoMailAsync(m => IsRetweetMail(m, bobEmail), TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task MyTweetsJoinsAuthorsFromTheUsersSubgraph()
    {
        var alice = await cluster.NewUserAsync("alice", "Alice Joined");
        await cluster.TweetAsync(alice, "joined across subgraphs");

        var (status, body) = await cluster.GraphQLAsync(alice.AccessToken, "{ myTweets { nodes { text author { handle displayName } } } }");

        Assert.Equal(HttpStatusCode.OK, status);
        var node = body["data"]!["myTweets"]!["nodes"]![0]!;
        Assert.Equal("joined across subgraphs", node["text"]!.GetValue<string>());
        Assert.Equal(alice.Handle, node["author"]!["handle"]!.GetValue<string>());
        Assert.Equal("Alice Joined", node["author"]!["displayName"]!.GetValue<string>());
        Assert.Null(body["errors"]);
    }

    [Fact]
    public async Task UnknownIdsInLookupsGiveNullWithoutErrors()
    {
        var (status, body) = await cluster.GraphQLAsync(null,
            "{ tweet(id: \"nope\") { id } user(id: \"0190c0de-0000-7000-8000-000000000000\") { id } userByHandle(handle: \"nobody_here\") { id } }");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("""{"tweet":null,"user":null,"userByHandle":null}""", body["data"]!.ToJsonString());
        Assert.Null(body["errors"]);
    }

    private async Task<long> CountRetweetsAsync(string originalId)
    {
        await using var connection = new NpgsqlConnection(cluster.TweetsConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM tweets WHERE retweet_of_id = @id", connection);
        command.Parameters.AddWithValue("id", Guid.Parse(originalId));
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task WaitForNoPendingAsync()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(cluster.Redis.ConnectionString);
        var db = redis.GetDatabase();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var length = await db.StreamLengthAsync("tweet-retweeted");
            var groups = length > 0 ? await db.StreamGroupInfoAsync("tweet-retweeted") : [];
            var group = groups.FirstOrDefault(g => g.Name == "email-worker");
            if (length > 0 && group.Name is not null && group.PendingMessageCount == 0 && group.LastDeliveredId == (await db.StreamInfoAsync("tweet-retweeted")).LastGeneratedId)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Entries still pending or undelivered: {group.PendingMessageCount} pending.");
            await Task.Delay(200);
        }
    }
}
