using Chirp.GraphQL.AspNetCore;
using Chirp.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// Subscriptions through the gateway with the real <c>graphql-ws</c> client (npm 6.4.2): one event to the original's
/// author, none to anybody else, and the same with 1,000 subscriptions held at once by one gateway.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class GraphQLWsClientTests(ChirpCluster cluster)
{
    private const string Subscription = TransportWsProtocolTests.RetweetSubscription;

    [Fact]
    public async Task BobRetweetingAlicesTweetGivesAliceExactlyOneNextAndCarolNothing()
    {
        var alice = await cluster.NewUserAsync("gws_alice", "Alice");
        var bob = await cluster.NewUserAsync("gws_bob", "Bob Builder");
        var carol = await cluster.NewUserAsync("gws_carol");
        var tweet = await cluster.TweetAsync(alice, "for the graphql-ws client");
        var upstream = cluster.Tweets.Services.GetRequiredService<LiveConnections>();
        var before = await TransportWsProtocolTests.SettledAsync(upstream);
        await using var clients = await GraphQLWsClients.StartAsync(GraphQLWsClients.EndpointOf(cluster.Gateway.BaseAddress),
            [new LiveSubscription(alice.AccessToken, Subscription), new LiveSubscription(carol.AccessToken, Subscription)]);
        await clients.WaitForAckedAsync(2, TimeSpan.FromSeconds(20));
        await TransportWsProtocolTests.WaitUntilAsync(() => upstream.OpenSubscriptions == before + 2);

        var retweet = await cluster.RetweetAsync(bob, tweet);

        var next = await clients.WaitForAsync(e => e.Type == "next", TimeSpan.FromSeconds(15));
        Assert.Equal(0, next.Index);
        Assert.Null(next.Payload!["errors"]);
        var @event = next.Data!["tweetRetweeted"]!;
        Assert.Equal(retweet, @event["retweet"]!["id"]!.GetValue<string>());
        Assert.Equal(tweet, @event["originalTweet"]!["id"]!.GetValue<string>());
        Assert.Equal(bob.Handle, @event["retweetedBy"]!["handle"]!.GetValue<string>());
        Assert.Equal("Bob Builder", @event["retweetedBy"]!["displayName"]!.GetValue<string>());
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Single(clients.Events, e => e.Type is "next" or "error" or "complete" or "closed");
    }

    [Fact]
    public async Task AThousandSubscriptionsOnOneGatewayEachGetTheirOwnAuthorsEventsOnly()
    {
        const int subscribers = 1000;
        const int retweeted = 25;
        var authors = Enumerable.Range(0, subscribers)
            .Select(i => (Id: Guid.CreateVersion7().ToString(), Handle: $"bulk_{i}"))
            .Select(a => (a.Id, Token: cluster.MintAccessToken(a.Id, a.Handle)))
            .ToList();
        var bob = await cluster.NewUserAsync("bulk_bob");
        var upstream = cluster.Tweets.Services.GetRequiredService<LiveConnections>();
        var before = await TransportWsProtocolTests.SettledAsync(upstream);
        await using var clients = await GraphQLWsClients.StartAsync(GraphQLWsClients.EndpointOf(cluster.Gateway.BaseAddress),
            [.. authors.Select(a => new LiveSubscription(a.Token, Subscription))]);
        await clients.WaitForAckedAsync(subscribers, TimeSpan.FromSeconds(60));
        await TransportWsProtocolTests.WaitUntilAsync(() => upstream.OpenSubscriptions == before + subscribers, seconds: 60);

        // Every 40th author is retweeted. The authors exist only in their minted tokens, so nothing asks for their profiles.
        var chosen = Enumerable.Range(0, retweeted).Select(k => k * (subscribers / retweeted)).ToList();
        var retweets = new Dictionary<int, string>();
        foreach (var index in chosen)
        {
            var (status, body) = await cluster.GraphQLAsync(authors[index].Token,
                "mutation($text: String!) { createTweet(input: {text: $text}) { tweet { id } } }", new { text = $"bulk tweet {index}" });
            Assert.True(status == System.Net.HttpStatusCode.OK, body.ToJsonString());
            (status, body) = await cluster.GraphQLAsync(bob.AccessToken,
                "mutation($id: ID!) { retweet(input: {tweetId: $id}) { tweet { id } } }", new { id = body["data"]!["createTweet"]!["tweet"]!["id"]!.GetValue<string>() });
            Assert.True(status == System.Net.HttpStatusCode.OK, body.ToJsonString());
            retweets[index] = body["data"]!["retweet"]!["tweet"]!["id"]!.GetValue<string>();
        }

        var nexts = await clients.WaitForCountAsync(e => e.Type == "next", retweeted, TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(retweeted, clients.Events.Count(e => e.Type == "next"));
        foreach (var next in nexts)
        {
            Assert.True(retweets.TryGetValue(next.Index!.Value, out var expected), $"subscriber {next.Index} got an event not meant for it");
            Assert.Equal(expected, next.Data!["tweetRetweeted"]!["retweet"]!["id"]!.GetValue<string>());
        }

        Assert.DoesNotContain(clients.Events, e => e.Type is "error" or "closed" or "complete");
        await clients.DisposeAsync();
        await TransportWsProtocolTests.WaitUntilAsync(() => upstream.OpenSubscriptions == before, seconds: 30);
    }
}
