using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.GraphQL;
using Chirp.GraphQL.AspNetCore;
using Chirp.IdentityAssertions;
using Chirp.Testing;
using Chirp.Tweets.Events;
using GraphQLParser;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Chirp.Tweets.Tests;

/// <summary>
/// <c>tweetRetweeted</c> through the subgraph's executor (the transports that carry subscriptions to clients are
/// tested with the gateway): events come from the <c>tweet-retweeted</c> channel, only for the original's author.
/// </summary>
[Collection(TweetsCollection.Name)]
public sealed class SubscriptionTests(TweetsServers servers)
{
    private const string Subscription =
        "subscription { tweetRetweeted { eventId occurredAt retweet { id retweetOf { id } } originalTweet { id text author { id } retweetCount } retweetedBy { id } } }";

    [Fact]
    public async Task TheAuthorOfTheOriginalGetsTheRetweetAndNobodyElsesEvents()
    {
        var alice = TestUser.New("alice");
        var bob = TestUser.New("bob");
        var carol = TestUser.New("carol");
        var alicesTweet = await servers.CreateTweetAsync(alice, "alice's");
        var carolsTweet = await servers.CreateTweetAsync(carol, "carol's");
        await servers.Tweets.Services.GetRequiredService<RetweetFeed>().Subscribed.WaitAsync(TimeSpan.FromSeconds(10));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var scope = servers.Tweets.Services.CreateAsyncScope();

        var result = await ExecuteAsync(scope.ServiceProvider, alice, timeout.Token);
        Assert.NotNull(result.Stream);
        await using var events = result.Stream.GetAsyncEnumerator(timeout.Token);
        var next = events.MoveNextAsync();
        var (toCarol, _) = await servers.RetweetAsync(bob, carolsTweet);
        var (toAlice, _) = await servers.RetweetAsync(bob, alicesTweet);

        Assert.True(await next);
        var item = events.Current;
        Assert.False(item.HasErrors, item.ToJson().ToJsonString());
        var payload = item.Data!["tweetRetweeted"]!;
        Assert.Equal(toAlice, payload["retweet"]!["id"]!.GetValue<string>());
        Assert.NotEqual(toCarol, payload["retweet"]!["id"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse($$$"""
                {"retweet": {"id": "{{{toAlice}}}", "retweetOf": {"id": "{{{alicesTweet}}}"}},
                 "originalTweet": {"id": "{{{alicesTweet}}}", "text": "alice's", "author": {"id": "{{{alice.IdText}}}"}, "retweetCount": 1},
                 "retweetedBy": {"id": "{{{bob.IdText}}}"}}
                """),
            new JsonObject
            {
                ["retweet"] = payload["retweet"]!.DeepClone(),
                ["originalTweet"] = payload["originalTweet"]!.DeepClone(),
                ["retweetedBy"] = payload["retweetedBy"]!.DeepClone(),
            }), payload.ToJsonString());
        Assert.Equal(7, Guid.Parse(payload["eventId"]!.GetValue<string>()).Version);
        Assert.EndsWith("Z", payload["occurredAt"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAnonymousSubscriberIsUnauthenticated()
    {
        await using var scope = servers.Tweets.Services.CreateAsyncScope();

        var result = await ExecuteAsync(scope.ServiceProvider, null, CancellationToken.None);

        Assert.Null(result.Stream);
        var error = Assert.Single(result.Errors!)!;
        Assert.Equal(ErrorCodes.Unauthenticated, error["extensions"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task OverAWebSocketTheCallerComesFromTheAssertionInConnectionInit()
    {
        var alice = TestUser.New("alice");
        var bob = TestUser.New("bob");
        var tweet = await servers.CreateTweetAsync(alice, "over the subgraph's socket");
        await using var socket = await TransportWsSocket.ConnectAsync(servers.Tweets.BaseAddress);
        await socket.SendAsync(new JsonObject
        {
            ["type"] = "connection_init",
            ["payload"] = new JsonObject { [ChirpHeaders.Identity] = servers.AssertionFor(alice) },
        });
        Assert.Equal("connection_ack", (await socket.ReceiveAsync(TimeSpan.FromSeconds(10)))!["type"]!.GetValue<string>());
        await socket.SubscribeAsync("s", "subscription { tweetRetweeted { retweet { id } retweetedBy { id } } }");
        var live = servers.Tweets.Services.GetRequiredService<LiveConnections>();
        for (var i = 0; i < 200 && live.OpenSubscriptions == 0; i++)
        {
            await Task.Delay(50);
        }

        var (retweet, _) = await servers.RetweetAsync(bob, tweet);

        var next = await socket.ReceiveAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(retweet, next!["payload"]!["data"]!["tweetRetweeted"]!["retweet"]!["id"]!.GetValue<string>());
        Assert.Equal(bob.IdText, next["payload"]!["data"]!["tweetRetweeted"]!["retweetedBy"]!["id"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("not-an-assertion")]
    [InlineData("e30.AAAA")]
    public async Task AnAssertionThatDoesNotVerifyCloses4403(string assertion)
    {
        await using var socket = await TransportWsSocket.ConnectAsync(servers.Tweets.BaseAddress);

        await socket.SendAsync(new JsonObject { ["type"] = "connection_init", ["payload"] = new JsonObject { [ChirpHeaders.Identity] = assertion } });

        Assert.Null(await socket.ReceiveAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(4403, socket.CloseCode);
    }

    private async Task<GraphQLResult> ExecuteAsync(IServiceProvider services, TestUser? user, CancellationToken cancellationToken)
    {
        var principal = user is null
            ? new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity())
            : new IdentityAssertionPayload(user.IdText, user.Handle, user.DisplayName, ChirpScopes.TweetsWrite, 0, 0, "test").ToPrincipal();
        var executor = servers.Tweets.Services.GetRequiredService<IGraphQLExecutor>();
        var document = Parser.Parse(Subscription);
        return await executor.ExecuteAsync(new GraphQLExecutionRequest
        {
            Request = new GraphQLRequest(Subscription, null, null, null),
            Document = document,
            Operation = GraphQLOperations.Select(document, null),
            User = principal,
            HttpContext = new DefaultHttpContext { RequestServices = services, User = principal },
        }, cancellationToken);
    }
}
