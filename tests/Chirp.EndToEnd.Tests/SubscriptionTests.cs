using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Chirp.GraphQL.AspNetCore;
using Chirp.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// <c>tweetRetweeted</c> through the gateway: the owning subgraph's events reach the original's author only, with
/// the fields other subgraphs own resolved as the subscriber; over WebSocket and SSE; ended by token expiry (the
/// expiry half of C08), by the gateway stopping (1001) and by the subgraph going away (an <c>error</c>); across replicas.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SubscriptionTests(ChirpCluster cluster)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private const string Subscription = TransportWsProtocolTests.RetweetSubscription;

    [Fact]
    public async Task TheAuthorGetsExactlyOneEventWithTheRetweeterFromTheUsersSubgraphAndNobodyElseDoes()
    {
        var alice = await cluster.NewUserAsync("sub_alice", "Alice Liddell");
        var bob = await cluster.NewUserAsync("sub_bob", "Bob the Builder");
        var carol = await cluster.NewUserAsync("sub_carol");
        var tweet = await cluster.TweetAsync(alice, "Down the rabbit hole");
        var before = await TransportWsProtocolTests.SettledAsync(Upstream(cluster.Tweets));
        await using var aliceSocket = await TransportWsSocket.OpenAsync(cluster.Gateway.BaseAddress, alice.AccessToken);
        await using var carolSocket = await TransportWsSocket.OpenAsync(cluster.Gateway.BaseAddress, carol.AccessToken);
        await aliceSocket.SubscribeAsync("s", Subscription);
        await carolSocket.SubscribeAsync("s", Subscription);
        await WaitForUpstreamAsync(before + 2);

        var retweet = await cluster.RetweetAsync(bob, tweet);

        var next = await aliceSocket.ReceiveAsync(Wait);
        Assert.Equal("next", next!["type"]!.GetValue<string>());
        Assert.Equal("s", next["id"]!.GetValue<string>());
        var payload = next["payload"]!.AsObject();
        Assert.False(payload.ContainsKey("errors"), payload.ToJsonString());
        var @event = payload["data"]!["tweetRetweeted"]!;
        Assert.Equal(retweet, @event["retweet"]!["id"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(
            new JsonObject { ["id"] = tweet, ["text"] = "Down the rabbit hole" }, @event["originalTweet"]), @event.ToJsonString());
        Assert.True(JsonNode.DeepEquals(
            new JsonObject { ["id"] = bob.Id, ["handle"] = bob.Handle, ["displayName"] = "Bob the Builder" }, @event["retweetedBy"]), @event.ToJsonString());
        Assert.Empty(await aliceSocket.DrainAsync(TimeSpan.FromSeconds(1)));
        Assert.Empty(await carolSocket.DrainAsync(TimeSpan.FromMilliseconds(200)));

        // A repeated retweet changes nothing and raises no event.
        await cluster.RetweetAsync(bob, tweet);
        Assert.Empty(await aliceSocket.DrainAsync(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task ClientCompleteEndsTheSubscriptionUpstream()
    {
        var alice = await cluster.NewUserAsync("sub_done");
        var upstream = Upstream(cluster.Tweets);
        var before = await TransportWsProtocolTests.SettledAsync(upstream);
        await using var socket = await TransportWsSocket.OpenAsync(cluster.Gateway.BaseAddress, alice.AccessToken);
        await socket.SubscribeAsync("s", Subscription);
        await TransportWsProtocolTests.WaitUntilAsync(() => upstream.OpenSubscriptions == before + 1);

        await socket.SendAsync(new JsonObject { ["id"] = "s", ["type"] = "complete" });

        await TransportWsProtocolTests.WaitUntilAsync(() => upstream.OpenSubscriptions == before);
        var bob = await cluster.NewUserAsync("sub_done_b");
        await cluster.RetweetAsync(bob, await cluster.TweetAsync(alice, "after complete"));
        Assert.Empty(await socket.DrainAsync(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task ServerSentEventsCarryTheSameEvent()
    {
        var alice = await cluster.NewUserAsync("sse_alice");
        var bob = await cluster.NewUserAsync("sse_bob", "Bob Sse");
        var tweet = await cluster.TweetAsync(alice, "streamed");
        var before = await TransportWsProtocolTests.SettledAsync(Upstream(cluster.Tweets));
        using var client = cluster.Client(alice.AccessToken);
        using var stream = await SseStream.OpenAsync(client, Subscription);
        await WaitForUpstreamAsync(before + 1);

        var retweet = await cluster.RetweetAsync(bob, tweet);

        var (name, data) = await stream.NextEventAsync(Wait);
        Assert.Equal("next", name);
        var @event = JsonNode.Parse(data)!["data"]!["tweetRetweeted"]!;
        Assert.Equal(retweet, @event["retweet"]!["id"]!.GetValue<string>());
        Assert.Equal("Bob Sse", @event["retweetedBy"]!["displayName"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnIdleEventStreamCarriesKeepAliveCommentsAndEndsWhenTheClientLeaves()
    {
        await using var gateway = await cluster.StartGatewayAsync(new() { ["GraphQL:Live:SseKeepAliveInterval"] = "00:00:00.200" });
        var alice = await cluster.NewUserAsync("sse_idle");
        var live = gateway.Services.GetRequiredService<LiveConnections>();
        using var client = gateway.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", alice.AccessToken);
        var stream = await SseStream.OpenAsync(client, Subscription);

        Assert.Equal(":", await stream.ReadLineAsync(Wait));
        Assert.Equal(1, live.Count);

        stream.Dispose();
        await TransportWsProtocolTests.WaitUntilAsync(() => live.Count == 0);
    }

    [Fact]
    public async Task ServerSentEventsAnswerAQueryWithOneNextThenComplete()
    {
        var alice = await cluster.NewUserAsync("sse_query");
        using var client = cluster.Client(alice.AccessToken);

        using var stream = await SseStream.OpenAsync(client, "{ me { handle } }");

        var (name, data) = await stream.NextEventAsync(Wait);
        Assert.Equal("next", name);
        Assert.Equal(alice.Handle, JsonNode.Parse(data)!["data"]!["me"]!["handle"]!.GetValue<string>());
        Assert.Equal("complete", (await stream.NextEventAsync(Wait)).Name);
    }

    [Fact]
    public async Task ServerSentEventsRefuseBadRequestsBeforeAnyStream()
    {
        using var anonymous = cluster.Client();
        using var invalid = await SseStream.PostAsync(anonymous, "subscription { noSuchField }");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, invalid.StatusCode);

        using var unauthenticated = await SseStream.PostAsync(anonymous, Subscription);
        var body = await unauthenticated.Content.ReadAsStringAsync();
        Assert.True(unauthenticated.StatusCode == HttpStatusCode.OK, body);
        Assert.Contains("UNAUTHENTICATED", body, StringComparison.Ordinal);

        using var badToken = cluster.Client("not-a-jwt");
        using var refused = await SseStream.PostAsync(badToken, Subscription);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task ASubscriptionOverPlainHttpIsRefusedWithoutSubscribing()
    {
        var alice = await cluster.NewUserAsync("http_sub");
        var before = await TransportWsProtocolTests.SettledAsync(Upstream(cluster.Tweets));

        var (status, body) = await cluster.GraphQLAsync(alice.AccessToken, Subscription);

        Assert.Equal(HttpStatusCode.NotAcceptable, status);
        Assert.Contains("text/event-stream", body["errors"]![0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before, Upstream(cluster.Tweets).OpenSubscriptions);
    }

    [Fact]
    public async Task AnExpiringTokenEndsTheSocketWith4403AndTheStreamWithUnauthenticated()
    {
        await using var gateway = await cluster.StartGatewayAsync(new()
        {
            ["Tokens:AccessTokenLifetime"] = "00:00:03",
            ["Tokens:ClockSkew"] = "00:00:01",
        });
        var alice = await cluster.NewUserAsync("exp_alice");
        var shortLived = await cluster.LogInAsync(alice.Handle, gateway: gateway);
        await using var socket = await TransportWsSocket.OpenAsync(gateway.BaseAddress, shortLived);
        await socket.SubscribeAsync("s", Subscription);
        using var client = gateway.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", shortLived);
        using var stream = await SseStream.OpenAsync(client, Subscription);

        Assert.Equal(4403, await socket.WaitForCloseAsync(TimeSpan.FromSeconds(10)));
        var (name, data) = await stream.NextEventAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("next", name);
        Assert.Equal("UNAUTHENTICATED", JsonNode.Parse(data)!["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());
        Assert.Equal("complete", (await stream.NextEventAsync(Wait)).Name);

        // An expired token in a new connection_init is refused at once.
        await using var late = await TransportWsSocket.ConnectAsync(gateway.BaseAddress);
        await late.SendAsync(TransportWsProtocolTests.Init(shortLived));
        Assert.Null(await late.ReceiveAsync(Wait));
        Assert.Equal(4403, late.CloseCode);
    }

    [Fact]
    public async Task AStoppingGatewayClosesSockets1001AndEndsStreams()
    {
        var gateway = await cluster.StartGatewayAsync([]);
        var alice = await cluster.NewUserAsync("stop_alice");
        await using var socket = await TransportWsSocket.OpenAsync(gateway.BaseAddress, alice.AccessToken);
        await socket.SubscribeAsync("s", Subscription);
        using var client = gateway.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", alice.AccessToken);
        using var stream = await SseStream.OpenAsync(client, Subscription);
        await TransportWsProtocolTests.WaitUntilAsync(() => gateway.Services.GetRequiredService<LiveConnections>().Count == 2);

        var stopping = gateway.StopAsync();

        Assert.Equal(1001, await socket.WaitForCloseAsync(Wait));
        Assert.Equal("complete", (await stream.NextEventAsync(Wait)).Name);
        await stopping;
    }

    [Fact]
    public async Task ASubgraphThatGoesAwayEndsTheSubscriptionWithAnError()
    {
        var tweets = await cluster.StartTweetsAsync();
        await using var gateway = await cluster.StartGatewayAsync(new() { ["Subgraphs:tweets:Url"] = new Uri(tweets.BaseAddress, "/graphql").ToString() });
        var alice = await cluster.NewUserAsync("gone_alice");
        await using var socket = await TransportWsSocket.OpenAsync(gateway.BaseAddress, alice.AccessToken);
        await socket.SubscribeAsync("s", Subscription);
        await TransportWsProtocolTests.WaitUntilAsync(() => Upstream(tweets).OpenSubscriptions == 1);

        await tweets.StopAsync();

        var error = await socket.ReceiveAsync(Wait);
        Assert.Equal("error", error!["type"]!.GetValue<string>());
        Assert.Equal("s", error["id"]!.GetValue<string>());
        var message = error["payload"]![0]!["message"]!.GetValue<string>();
        Assert.Contains("subscribe again", message, StringComparison.Ordinal);
        Assert.Equal("UNAVAILABLE", error["payload"]![0]!["extensions"]!["code"]!.GetValue<string>());
        Assert.DoesNotContain("127.0.0.1", error.ToJsonString(), StringComparison.Ordinal);

        // The socket stays usable; a new subscription fails the same way while the subgraph is down.
        await socket.SubscribeAsync("t", Subscription);
        Assert.Equal("error", (await socket.ReceiveAsync(Wait))!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task ASubgraphThatVanishesWithoutClosingEndsTheSubscriptionWithAnError()
    {
        await using var relay = TcpRelay.Start(cluster.Tweets.BaseAddress);
        await using var gateway = await cluster.StartGatewayAsync(new() { ["Subgraphs:tweets:Url"] = new Uri(relay.BaseAddress, "/graphql").ToString() });
        var alice = await cluster.NewUserAsync("kill_alice");
        var before = await TransportWsProtocolTests.SettledAsync(Upstream(cluster.Tweets));
        await using var socket = await TransportWsSocket.OpenAsync(gateway.BaseAddress, alice.AccessToken);
        await socket.SubscribeAsync("s", Subscription);
        await TransportWsProtocolTests.WaitUntilAsync(() => Upstream(cluster.Tweets).OpenSubscriptions == before + 1);

        // As when the subgraph's process is killed: connections reset, no close frame.
        relay.Sever();

        var error = await socket.ReceiveAsync(Wait);
        Assert.Equal("error", error!["type"]!.GetValue<string>());
        Assert.Contains("subscribe again", error["payload"]![0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("UNAVAILABLE", error["payload"]![0]!["extensions"]!["code"]!.GetValue<string>());
        await TransportWsProtocolTests.WaitUntilAsync(() => Upstream(cluster.Tweets).OpenSubscriptions == before);
    }

    [Fact]
    public async Task ARetweetThroughOneReplicaReachesASubscriberOnAnotherExactlyOnce()
    {
        await using var tweets2 = await cluster.StartTweetsAsync();
        await using var gateway2 = await cluster.StartGatewayAsync(new() { ["Subgraphs:tweets:Url"] = new Uri(tweets2.BaseAddress, "/graphql").ToString() });
        var alice = await cluster.NewUserAsync("two_alice");
        var bob = await cluster.NewUserAsync("two_bob");
        var tweet = await cluster.TweetAsync(alice, "seen everywhere");
        var before = await TransportWsProtocolTests.SettledAsync(Upstream(cluster.Tweets));
        await using var onReplica2 = await TransportWsSocket.OpenAsync(gateway2.BaseAddress, alice.AccessToken);
        await using var onReplica1 = await TransportWsSocket.OpenAsync(cluster.Gateway.BaseAddress, alice.AccessToken);
        await onReplica2.SubscribeAsync("s", Subscription);
        await onReplica1.SubscribeAsync("s", Subscription);
        await TransportWsProtocolTests.WaitUntilAsync(() => Upstream(tweets2).OpenSubscriptions == 1);
        await WaitForUpstreamAsync(before + 1);

        var retweet = await cluster.RetweetAsync(bob, tweet);

        foreach (var socket in new[] { onReplica2, onReplica1 })
        {
            var next = await socket.ReceiveAsync(Wait);
            Assert.Equal(retweet, next!["payload"]!["data"]!["tweetRetweeted"]!["retweet"]!["id"]!.GetValue<string>());
            Assert.Empty(await socket.DrainAsync(TimeSpan.FromSeconds(1)));
        }
    }

    private static LiveConnections Upstream(ServiceHost tweets) => tweets.Services.GetRequiredService<LiveConnections>();

    private async Task WaitForUpstreamAsync(int count) =>
        await TransportWsProtocolTests.WaitUntilAsync(() => Upstream(cluster.Tweets).OpenSubscriptions == count);
}

/// <summary>A GraphQL-over-SSE response read event by event (graphql-sse, distinct connections mode).</summary>
internal sealed class SseStream : IDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseStream(HttpResponseMessage response, StreamReader reader)
    {
        _response = response;
        _reader = reader;
    }

    /// <summary>Posts the operation with <c>Accept: text/event-stream</c> and returns the response once headers arrive.</summary>
    public static async Task<HttpResponseMessage> PostAsync(HttpClient client, string query)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/graphql") { Content = JsonContent.Create(new { query }) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>Opens a stream; fails unless the answer is 200 <c>text/event-stream</c>.</summary>
    public static async Task<SseStream> OpenAsync(HttpClient client, string query)
    {
        var response = await PostAsync(client, query);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            // Read only a refusal: an open stream's body never ends.
            Assert.Fail($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new SseStream(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    /// <summary>The next raw line of the stream.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        return await _reader.ReadLineAsync(cts.Token);
    }

    /// <summary>The next event's name and data, skipping keep-alive comments.</summary>
    public async Task<(string Name, string Data)> NextEventAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        string? name = null;
        var data = "";
        while (true)
        {
            var line = await _reader.ReadLineAsync(cts.Token) ?? throw new EndOfStreamException("The stream ended.");
            if (line.Length == 0)
            {
                if (name is not null)
                {
                    return (name, data);
                }

                continue;
            }

            if (line.StartsWith(':'))
            {
                continue;
            }

            if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                name = line["event:".Length..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data += line["data:".Length..].TrimStart();
            }
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _response.Dispose();
    }
}
