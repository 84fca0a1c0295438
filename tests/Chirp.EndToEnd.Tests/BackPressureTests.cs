using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// Overload and outages at the edge are answered 503 with <c>Retry-After</c> (README.md "Capacity"), never 500.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class BackPressureTests(ChirpCluster cluster)
{
    [Fact]
    public async Task TheRestShimAnswersAnUnreachableSubgraphWith503AndRetryAfter()
    {
        var alice = await cluster.NewUserAsync("shim503");
        await using var gateway = await GatewayWithoutAsync("tweets");
        using var client = ClientOf(gateway, alice);

        foreach (var request in new Func<Task<HttpResponseMessage>>[]
        {
            () => client.PostAsJsonAsync("/tweets", new { text = "nobody hears this" }),
            () => client.GetAsync("/tweets"),
            () => client.PostAsync($"/tweets/{Guid.CreateVersion7()}/retweet", null),
        })
        {
            using var response = await request();
            var text = await response.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, "Retry-After in seconds");
            Assert.Equal("UNAVAILABLE", JsonNode.Parse(text)!["code"]!.GetValue<string>());
            Assert.DoesNotContain("127.0.0.1", text, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AWriteThatHappenedIsNotRetriedWhenOnlyTheAuthorLookupFails()
    {
        var alice = await cluster.NewUserAsync("shimpartial");
        await using var gateway = await GatewayWithoutAsync("users");
        using var client = ClientOf(gateway, alice);

        // The tweet is written, but its answer needs the author (non-null) from the users service.
        using var created = await client.PostAsJsonAsync("/tweets", new { text = "written while users is down" });
        var problem = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, created.StatusCode);
        Assert.Null(created.Headers.RetryAfter);
        Assert.Contains("do not send it again", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        // A read is safe to repeat: it keeps its Retry-After.
        using var listed = await client.GetAsync("/tweets");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, listed.StatusCode);
        Assert.NotNull(listed.Headers.RetryAfter);

        // Written once, and whole once the users service answers again.
        using var healthy = cluster.Gateway.CreateClient();
        healthy.DefaultRequestHeaders.Authorization = new("Bearer", alice.AccessToken);
        var nodes = JsonNode.Parse(await healthy.GetStringAsync("/tweets"))!["items"]!.AsArray();
        var tweet = Assert.Single(nodes)!;
        Assert.Equal("written while users is down", tweet["text"]!.GetValue<string>());
        Assert.Equal(alice.Handle, tweet["author"]!["handle"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnEmailLinkWhileTheEmailWorkerIsDownGets503WithRetryAfterAndAPage()
    {
        await using var gateway = await GatewayWithoutAsync("notifications");
        using var client = gateway.CreateClient();

        foreach (var request in new Func<Task<HttpResponseMessage>>[]
        {
            () => client.GetAsync("/email/confirm?token=abc"),
            () => client.PostAsync("/email/unsubscribe?token=abc", null),
        })
        {
            using var response = await request();
            var text = await response.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, "Retry-After in seconds");
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("Nothing was changed", text, StringComparison.Ordinal);
            Assert.DoesNotContain("127.0.0.1", text, StringComparison.Ordinal);
        }
    }

    // A gateway of its own whose subgraph named subgraph points at a port nothing listens on.
    private Task<Chirp.Testing.ServiceHost> GatewayWithoutAsync(string subgraph) =>
        cluster.StartGatewayAsync(new() { [$"Subgraphs:{subgraph}:Url"] = $"http://127.0.0.1:{Chirp.Testing.FreePort.Next()}/graphql" });

    private static HttpClient ClientOf(Chirp.Testing.ServiceHost gateway, TestUser user)
    {
        var client = gateway.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", user.AccessToken);
        return client;
    }
}
