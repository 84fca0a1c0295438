using Chirp.GraphQL.AspNetCore;
using Chirp.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// The GraphQL IDE served at <c>/graphql/</c>, used in a real browser (Debian's headless Chromium): queries, and
/// a live subscription over each protocol the IDE offers. Screenshots go to <c>screenshots/</c> next to the
/// test assembly.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class IdeTests(ChirpCluster cluster)
{
    private const string TweetRetweeted =
        "subscription { tweetRetweeted { eventId occurredAt retweet { id } originalTweet { id text } retweetedBy { id handle displayName } } }";

    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task QueryRunInTheIdeShowsTheGatewaysAnswer()
    {
        await using var ide = await GraphQLIdeBrowser.OpenAsync(IdeUrl, ScreenshotFolder("query"));
        await ide.ScreenshotAsync("1-opened");

        await ide.RunAsync("{ __typename }");
        var response = await ide.WaitForResponseAsync(["\"__typename\"", "\"Query\""], ResponseTimeout);

        await ide.ScreenshotAsync("2-typename");
        Assert.DoesNotContain("\"errors\"", response, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(GraphQLIdeBrowser.GraphQLTransportWs)]
    [InlineData(GraphQLIdeBrowser.GraphQLSse)]
    public async Task RetweetShowsUpLiveInTheAuthorsIdeSubscription(string protocol)
    {
        var alice = await cluster.NewUserAsync("ide_alice", "Alice");
        var bob = await cluster.NewUserAsync("ide_bob", "Bob");

        await using var ide = await GraphQLIdeBrowser.OpenAsync(IdeUrl, ScreenshotFolder($"subscription-{protocol}"));
        await ide.ConnectAsync(new Uri(cluster.Gateway.BaseAddress, "/graphql"), alice.AccessToken, protocol);
        await ide.RunAsync("{ me { handle } }");
        await ide.WaitForResponseAsync([alice.Handle], ResponseTimeout);

        // Neither protocol says when a subscription is live; the tweets subgraph's count of open ones does.
        var upstream = cluster.Tweets.Services.GetRequiredService<LiveConnections>();
        var before = await TransportWsProtocolTests.SettledAsync(upstream);
        await ide.RunAsync(TweetRetweeted);
        await TransportWsProtocolTests.WaitUntilAsync(() => upstream.OpenSubscriptions > before, seconds: 20);
        await ide.ScreenshotAsync("1-subscribed");

        var tweetId = await cluster.TweetAsync(alice, "Seen live in the IDE");
        var retweetId = await cluster.RetweetAsync(bob, tweetId);
        var shown = await ide.WaitForResponseAsync([$"\"{retweetId}\"", $"\"{tweetId}\"", $"\"{bob.Handle}\"", "Seen live in the IDE"], ResponseTimeout);
        await ide.ScreenshotAsync("2-event");
        Assert.DoesNotContain("\"errors\"", shown, StringComparison.Ordinal);
    }

    private Uri IdeUrl => new(cluster.Gateway.BaseAddress, "/graphql/");

    // Emptied first, so the folder shows the last run only.
    private static string ScreenshotFolder(string test)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "screenshots", nameof(IdeTests), test);
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }

        return folder;
    }
}
