using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Chirp.Testing;

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

    // The server starts a subscription some time after the IDE sent it, and neither protocol says when it is
    // live; a retweet before that is not delivered, so a new tweet is retweeted until one shows up.
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(10);
    private const int RetweetAttempts = 3;

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

        await ide.RunAsync(TweetRetweeted);
        await ide.ScreenshotAsync("1-subscribed");

        for (var attempt = 1; ; attempt++)
        {
            var tweetId = await cluster.TweetAsync(alice, $"Seen live in the IDE, take {attempt}");
            var retweetId = await RetweetAsync(bob, tweetId);
            try
            {
                var shown = await ide.WaitForResponseAsync(
                    [$"\"{retweetId}\"", $"\"{tweetId}\"", $"\"{bob.Handle}\"", $"take {attempt}"], EventTimeout);
                await ide.ScreenshotAsync("2-event");
                Assert.DoesNotContain("\"errors\"", shown, StringComparison.Ordinal);
                return;
            }
            catch (InvalidOperationException) when (attempt < RetweetAttempts)
            {
                await ide.ScreenshotAsync($"2-no-event-after-retweet-{attempt}");
            }
        }
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

    private async Task<string> RetweetAsync(TestUser user, string tweetId)
    {
        using var client = cluster.Client(user.AccessToken);
        using var response = await client.PostAsync($"/tweets/{tweetId}/retweet", null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var retweet = await response.Content.ReadFromJsonAsync<JsonObject>();
        return retweet!["id"]!.GetValue<string>();
    }
}
