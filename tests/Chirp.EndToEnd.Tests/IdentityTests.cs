using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.Testing;

namespace Chirp.EndToEnd.Tests;

/// <summary>Identity between services (docs/architecture.md section 2, case C02).</summary>
[Collection(ClusterCollection.Name)]
public sealed class IdentityTests(ChirpCluster cluster)
{
    [Fact]
    public async Task ClientSentIdentityHeaderIsIgnoredAndTheTokenDecides()
    {
        var alice = await cluster.NewUserAsync("alice");
        var carol = await cluster.NewUserAsync("carol");
        using var forgerKeys = KeyFolder.Create();
        var forged = Forge(alice, forgerKeys);

        using var client = cluster.Client(carol.AccessToken);
        client.DefaultRequestHeaders.Add(ChirpHeaders.Identity, forged);
        var calls = await cluster.SubgraphLog.DuringAsync(async () =>
        {
            using var response = await client.PostAsJsonAsync("/graphql", new { query = "mutation { createTweet(input: { text: \"by carol\" }) { tweet { id author { id } } } }" });
            var body = await response.Content.ReadFromJsonAsync<JsonObject>();
            Assert.Equal(carol.Id, body!["data"]!["createTweet"]!["tweet"]!["author"]!["id"]!.GetValue<string>());
        });

        Assert.Single(calls, c => c.Uri.Port == cluster.Tweets.BaseAddress.Port);
        var sentIdentities = calls.Select(c => c.Headers.GetValueOrDefault(ChirpHeaders.Identity)).ToList();
        Assert.DoesNotContain(forged, sentIdentities);
        var codec = cluster.AssertionKeys.Codec();
        Assert.All(sentIdentities, h => Assert.Equal(carol.Id, codec.Verify(h)!.Sub));

        using var rest = await client.PostAsJsonAsync("/tweets", new { text = "by carol over REST" });
        Assert.Equal(carol.Id, (await rest.Content.ReadFromJsonAsync<JsonObject>())!["author"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task IdentityHeaderWithoutTokenIsAnonymous()
    {
        var alice = await cluster.NewUserAsync("alice");
        using var client = cluster.Client();
        client.DefaultRequestHeaders.Add(ChirpHeaders.Identity, Forge(alice, cluster.AssertionKeys));
        using var response = await client.PostAsJsonAsync("/graphql", new { query = "mutation { createTweet(input: { text: \"spoofed\" }) { tweet { id } } }" });
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("UNAUTHENTICATED", body!["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());

        var (_, mine) = await cluster.GraphQLAsync(alice.AccessToken, "{ myTweets { nodes { id } } }");
        Assert.Empty(mine["data"]!["myTweets"]!["nodes"]!.AsArray());
    }

    [Fact]
    public async Task SubgraphCalledDirectlyWithAForgedAssertionAnswers401()
    {
        var alice = await cluster.NewUserAsync("alice");
        using var forgerKeys = KeyFolder.Create();
        var forged = Forge(alice, forgerKeys);
        foreach (var subgraph in new[] { cluster.Users, cluster.Tweets, cluster.EmailWorker })
        {
            using var client = subgraph.CreateClient();
            client.DefaultRequestHeaders.Add(ChirpHeaders.Identity, forged);
            using var response = await client.PostAsJsonAsync("/graphql", new { query = "{ __typename }" });
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Fact]
    public async Task CredentialCheckNeedsTheGatewayServiceAssertion()
    {
        var alice = await cluster.NewUserAsync("alice");
        using var client = cluster.Users.CreateClient();
        using var anonymous = await client.PostAsJsonAsync(InternalRoutes.CredentialsVerify, new { handle = alice.Handle, password = "correct horse battery" });
        Assert.True(anonymous.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden);

        client.DefaultRequestHeaders.Add(ChirpHeaders.Identity, Forge(alice, cluster.AssertionKeys));
        using var asUser = await client.PostAsJsonAsync(InternalRoutes.CredentialsVerify, new { handle = alice.Handle, password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.Forbidden, asUser.StatusCode);
    }

    private static string Forge(TestUser user, KeyFolder keys) =>
        keys.Codec().Sign(user.Id, user.Handle, user.DisplayName, string.Join(' ', ChirpScopes.Default));
}
