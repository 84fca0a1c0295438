using System.Text.Json.Nodes;
using Chirp.GraphQL.AspNetCore;
using Chirp.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// graphql-transport-ws at the gateway, frame by frame (case C05 and the protocol's bad input): every refusal is the
/// close code the graphql-ws PROTOCOL.md names, and none of them leaves a subscription open upstream.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class TransportWsProtocolTests(ChirpCluster cluster)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task AValidHandshakeNamesTheSubprotocolAndIsAcknowledged()
    {
        var alice = await cluster.NewUserAsync("ws_ok");
        await using var socket = await TransportWsSocket.ConnectAsync(cluster.Gateway.BaseAddress);
        Assert.Equal("graphql-transport-ws", socket.SubProtocol);

        await socket.SendAsync(Init(alice.AccessToken));

        Assert.Equal("connection_ack", (await socket.ReceiveAsync(Wait))!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task NoConnectionInitWithinTheTimeoutCloses4408()
    {
        await using var socket = await TransportWsSocket.ConnectAsync(cluster.Gateway.BaseAddress);

        Assert.Equal(4408, await socket.WaitForCloseAsync(Wait));
    }

    [Fact]
    public async Task SubscribeBeforeConnectionInitCloses4401()
    {
        await using var socket = await TransportWsSocket.ConnectAsync(cluster.Gateway.BaseAddress);

        await socket.SubscribeAsync("1", "{ __typename }");

        Assert.Equal(4401, await socket.WaitForCloseAsync(Wait));
    }

    [Fact]
    public async Task ASecondConnectionInitCloses4429()
    {
        await using var socket = await TransportWsSocket.OpenAsync(cluster.Gateway.BaseAddress, null);

        await socket.SendAsync(Init(null));

        Assert.Equal(4429, await socket.WaitForCloseAsync(Wait));
    }

    [Theory]
    [InlineData("""{"type":"ping"}""")]
    [InlineData("""{"type":"ping","payload":null}""")]
    [InlineData("""{"type":"ping","payload":{"at":1}}""")]
    public async Task PingGetsPongBeforeAndAfterTheHandshake(string ping)
    {
        await using var socket = await TransportWsSocket.ConnectAsync(cluster.Gateway.BaseAddress);

        await socket.SendTextAsync(ping);
        Assert.Equal("pong", (await socket.ReceiveAsync(Wait))!["type"]!.GetValue<string>());
        await socket.SendAsync(Init(null));
        Assert.Equal("connection_ack", (await socket.ReceiveAsync(Wait))!["type"]!.GetValue<string>());
        await socket.SendTextAsync(ping);
        Assert.Equal("pong", (await socket.ReceiveAsync(Wait))!["type"]!.GetValue<string>());
        await socket.SendTextAsync("""{"type":"pong"}""");
        await socket.SendTextAsync(ping);
        Assert.Equal("pong", (await socket.ReceiveAsync(Wait))!["type"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"type":"start","id":"1","payload":{"query":"{ __typename }"}}""")]
    [InlineData("""{"type":"stop","id":"1"}""")]
    [InlineData("""{"type":"connection_terminate"}""")]
    [InlineData("""{"type":"subscribe","payload":{"query":"{ __typename }"}}""")]
    [InlineData("""{"type":"subscribe","id":"1","payload":{"query":7}}""")]
    [InlineData("""{"type":"subscribe","id":"1","payload":{"query":"{ __typename }","variables":[7]}}""")]
    [InlineData("""{"type":"subscribe","id":"1","id":"2","payload":{"query":"{ __typename }"}}""")]
    [InlineData("""{"type":"ping","payload":"text"}""")]
    [InlineData("""{"type":42}""")]
    [InlineData("""{"id":"1"}""")]
    [InlineData("""[{"type":"ping"}]""")]
    [InlineData("""{"type":"ping""")]
    [InlineData("not json")]
    [InlineData("""{"type":"\ud800"}""")]
    public async Task MalformedOrUnknownMessagesClose4400AndEndTheSocketsSubscriptions(string message)
    {
        var alice = await cluster.NewUserAsync("ws_bad");
        var upstream = cluster.Tweets.Services.GetRequiredService<LiveConnections>();
        var before = await TransportWsProtocolTests.SettledAsync(upstream);
        await using var socket = await TransportWsSocket.OpenAsync(cluster.Gateway.BaseAddress, alice.AccessToken);
        await socket.SubscribeAsync("live", RetweetSubscription);
        await WaitUntilAsync(() => upstream.OpenSubscriptions == before + 1);

        await socket.SendTextAsync(message);

        Assert.Equal(4400, await socket.WaitForCloseAsync(Wait));
        await WaitUntilAsync(() => upstream.OpenSubscriptions == before);
    }

    [Fact]
    public async Task ABinaryFrameCloses4400()
    {
        await using var socket = await TransportWsSocket.OpenAsync(cluster.Gateway.BaseAddress, null);

        await socket.SendBinaryAsync("""{"type":"ping"}"""u8.ToArray());

        Assert.Equal(4400, await socket.WaitForCloseAsync(Wait));
    }

    [Fact]
    public async Task AnOversizedMessageCloses1009()
    {
        var limit = cluster.Gateway.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<GraphQLLiveOptions>>().Value.MaxMessageBytes;
        await using var socket = await TransportWsSocket.OpenAsync(cluster.Gateway.BaseAddress, null);

        await socket.SendTextAsync("""{"type":"ping","payload":{"pad":" """ + new string('x', limit) + "\"}}");

        Assert.Equal(1009, await socket.WaitForCloseAsync(Wait));
    }

    [Theory]
    [InlineData("Bearer not-a-jwt")]
    [InlineData("Basic YWxpY2U6cHc=")]
    [InlineData("")]
    public async Task AnInvalidTokenCloses4403WithoutAnAck(string authorization)
    {
        await using var socket = await TransportWsSocket.ConnectAsync(cluster.Gateway.BaseAddress);

        await socket.SendAsync(new JsonObject { ["type"] = "connection_init", ["payload"] = new JsonObject { ["Authorization"] = authorization } });

        Assert.Null(await socket.ReceiveAsync(Wait));
        Assert.Equal(4403, socket.CloseCode);
    }

    [Fact]
    public async Task ATokenOfAnotherKindInConnectionInitCloses4403()
    {
        await using var socket = await TransportWsSocket.ConnectAsync(cluster.Gateway.BaseAddress);

        await socket.SendTextAsync("""{"type":"connection_init","payload":{"Authorization":{"token":"x"}}}""");

        Assert.Null(await socket.ReceiveAsync(Wait));
        Assert.Equal(4403, socket.CloseCode);
    }

    [Fact]
    public async Task AHandshakeOfferingOnlyAnotherSubprotocolIsAcceptedThenClosed4406()
    {
        await using var socket = await TransportWsSocket.ConnectAsync(cluster.Gateway.BaseAddress, "graphql-ws");

        Assert.Null(socket.SubProtocol);
        Assert.Equal(4406, await socket.WaitForCloseAsync(Wait));
    }

    [Fact]
    public async Task ReusingARunningOperationIdCloses4409AndLeavesNothingOpenUpstream()
    {
        var alice = await cluster.NewUserAsync("ws_dup");
        var upstream = cluster.Tweets.Services.GetRequiredService<LiveConnections>();
        var before = await TransportWsProtocolTests.SettledAsync(upstream);
        await using var socket = await TransportWsSocket.OpenAsync(cluster.Gateway.BaseAddress, alice.AccessToken);

        await socket.SubscribeAsync("same", RetweetSubscription);
        await WaitUntilAsync(() => upstream.OpenSubscriptions == before + 1);
        await socket.SubscribeAsync("same", RetweetSubscription);

        Assert.Equal(4409, await socket.WaitForCloseAsync(Wait));
        await WaitUntilAsync(() => upstream.OpenSubscriptions == before);
    }

    [Fact]
    public async Task QueriesAndMutationsRunOverTheSocket()
    {
        var alice = await cluster.NewUserAsync("ws_query");
        await using var socket = await TransportWsSocket.OpenAsync(cluster.Gateway.BaseAddress, alice.AccessToken);

        await socket.SubscribeAsync("q", "{ me { handle } }");
        var next = await socket.ReceiveAsync(Wait);
        Assert.Equal("next", next!["type"]!.GetValue<string>());
        Assert.Equal(alice.Handle, next["payload"]!["data"]!["me"]!["handle"]!.GetValue<string>());
        Assert.Equal("complete", (await socket.ReceiveAsync(Wait))!["type"]!.GetValue<string>());

        await socket.SubscribeAsync("m", """mutation { createTweet(input: {text: "over the socket"}) { tweet { text } } }""");
        next = await socket.ReceiveAsync(Wait);
        Assert.Equal("over the socket", next!["payload"]!["data"]!["createTweet"]!["tweet"]!["text"]!.GetValue<string>());
        Assert.Equal("complete", (await socket.ReceiveAsync(Wait))!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnInvalidOperationGetsAnErrorMessageAndTheSocketStaysUsable()
    {
        await using var socket = await TransportWsSocket.OpenAsync(cluster.Gateway.BaseAddress, null);

        await socket.SubscribeAsync("bad", "{ noSuchField }");
        var error = await socket.ReceiveAsync(Wait);
        Assert.Equal("error", error!["type"]!.GetValue<string>());
        Assert.Equal("bad", error["id"]!.GetValue<string>());
        Assert.NotEmpty(error["payload"]!.AsArray());

        await socket.SubscribeAsync("unparsable", "{");
        Assert.Equal("error", (await socket.ReceiveAsync(Wait))!["type"]!.GetValue<string>());

        await socket.SubscribeAsync("anonymous", RetweetSubscription);
        error = await socket.ReceiveAsync(Wait);
        Assert.Equal("error", error!["type"]!.GetValue<string>());
        Assert.Equal("UNAUTHENTICATED", error["payload"]![0]!["extensions"]!["code"]!.GetValue<string>());

        await socket.SubscribeAsync("good", "{ __typename }");
        Assert.Equal("next", (await socket.ReceiveAsync(Wait))!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task SubscribesOverTheCapGetAnErrorForThatOperationOnly()
    {
        await using var gateway = await cluster.StartGatewayAsync(new() { ["GraphQL:Live:MaxOperationsPerConnection"] = "2" });
        var alice = await cluster.NewUserAsync("ws_cap");
        var upstream = cluster.Tweets.Services.GetRequiredService<LiveConnections>();
        var before = await TransportWsProtocolTests.SettledAsync(upstream);
        await using (var socket = await TransportWsSocket.OpenAsync(gateway.BaseAddress, alice.AccessToken))
        {
            await socket.SubscribeAsync("a", RetweetSubscription);
            await socket.SubscribeAsync("b", RetweetSubscription);
            await WaitUntilAsync(() => upstream.OpenSubscriptions == before + 2);

            await socket.SubscribeAsync("c", RetweetSubscription);
            var error = await socket.ReceiveAsync(Wait);
            Assert.Equal("error", error!["type"]!.GetValue<string>());
            Assert.Equal("c", error["id"]!.GetValue<string>());

            // Completing one makes room again.
            await socket.SendAsync(new JsonObject { ["id"] = "a", ["type"] = "complete" });
            await WaitUntilAsync(() => upstream.OpenSubscriptions == before + 1);
            await socket.SubscribeAsync("d", RetweetSubscription);
            await WaitUntilAsync(() => upstream.OpenSubscriptions == before + 2);
        }

        await WaitUntilAsync(() => upstream.OpenSubscriptions == before);
    }

    [Fact]
    public async Task OneUsersSubscriptionsOverTheirCapAcrossSocketsGetAnErrorAndOpenNothingUpstream()
    {
        await using var gateway = await cluster.StartGatewayAsync(new() { ["GraphQL:Live:MaxSubscriptionsPerUser"] = "2" });
        var alice = await cluster.NewUserAsync("ws_user_cap");
        var bob = await cluster.NewUserAsync("ws_user_cap_b");
        var upstream = cluster.Tweets.Services.GetRequiredService<LiveConnections>();
        var before = await SettledAsync(upstream);
        await using var first = await TransportWsSocket.OpenAsync(gateway.BaseAddress, alice.AccessToken);
        await using var second = await TransportWsSocket.OpenAsync(gateway.BaseAddress, alice.AccessToken);
        await first.SubscribeAsync("a", RetweetSubscription);
        await second.SubscribeAsync("b", RetweetSubscription);
        await WaitUntilAsync(() => upstream.OpenSubscriptions == before + 2);

        await second.SubscribeAsync("c", RetweetSubscription);
        var error = await second.ReceiveAsync(Wait);
        Assert.Equal("error", error!["type"]!.GetValue<string>());
        Assert.Equal("RATE_LIMITED", error["payload"]![0]!["extensions"]!["code"]!.GetValue<string>());

        // Another user is not affected.
        await using var other = await TransportWsSocket.OpenAsync(gateway.BaseAddress, bob.AccessToken);
        await other.SubscribeAsync("x", RetweetSubscription);
        await WaitUntilAsync(() => upstream.OpenSubscriptions == before + 3);
    }

    internal const string RetweetSubscription =
        "subscription { tweetRetweeted { eventId retweet { id } originalTweet { id text } retweetedBy { id handle displayName } } }";

    internal static JsonObject Init(string? accessToken) => accessToken is null
        ? new JsonObject { ["type"] = "connection_init" }
        : new JsonObject { ["type"] = "connection_init", ["payload"] = new JsonObject { ["Authorization"] = "Bearer " + accessToken } };

    /// <summary>
    /// The count of open subscriptions once it has not changed for 300 ms: sockets of earlier tests close
    /// asynchronously, and a count taken while they do would shift under the test.
    /// </summary>
    internal static async Task<int> SettledAsync(LiveConnections live)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        var last = live.OpenSubscriptions;
        var stableSince = DateTime.UtcNow;
        while (DateTime.UtcNow - stableSince < TimeSpan.FromMilliseconds(300) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            if (live.OpenSubscriptions != last)
            {
                last = live.OpenSubscriptions;
                stableSince = DateTime.UtcNow;
            }
        }

        return last;
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, int seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not hold in time.");
            await Task.Delay(50);
        }
    }
}
