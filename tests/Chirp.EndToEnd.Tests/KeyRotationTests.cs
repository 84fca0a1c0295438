using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// Token keys rotate without a restart or a log-out: a key added to the folder verifies at once and signs after the
/// activation delay, tokens of a key still present verify until they expire, a removed key's tokens are refused at
/// once, and the JWK Set follows. Identity-assertion keys rotate the same way across the gateway and the subgraphs.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class KeyRotationTests(ChirpCluster cluster)
{
    [Fact]
    public async Task ANewKeyVerifiesAtOnceSignsAfterTheDelayAndARemovedKeysTokensAreRefused()
    {
        var folder = Directory.CreateTempSubdirectory("chirp-rotation-").FullName;
        try
        {
            WriteKey(folder, "2026-01-old");
            await using var gateway = await cluster.StartGatewayAsync(new()
            {
                ["Tokens:KeyDirectory"] = folder,
                ["Tokens:KeyActivationDelay"] = "00:00:03",
                ["Tokens:KeyPollInterval"] = "00:00:00.500",
            });
            var alice = await cluster.NewUserAsync("rot_alice");
            using var client = gateway.CreateClient();
            var oldToken = await cluster.LogInAsync(alice.Handle, gateway: gateway);
            Assert.Equal("2026-01-old", new JsonWebToken(oldToken).Kid);

            WriteKey(folder, "2026-02-new");
            await WaitForAsync(async () => (await KidsAsync(client)).Contains("2026-02-new"));

            // Published, not yet signing: a replica that has not seen it yet would refuse what it signs.
            Assert.Equal("2026-01-old", new JsonWebToken(await cluster.LogInAsync(alice.Handle, gateway: gateway)).Kid);
            string newToken = "";
            await WaitForAsync(async () => new JsonWebToken(newToken = await cluster.LogInAsync(alice.Handle, gateway: gateway)).Kid == "2026-02-new", seconds: 15);
            Assert.Equal(HttpStatusCode.OK, await MeAsync(client, oldToken));
            Assert.Equal(HttpStatusCode.OK, await MeAsync(client, newToken));

            File.Delete(Path.Combine(folder, "2026-01-old.pem"));
            await WaitForAsync(async () => !(await KidsAsync(client)).Contains("2026-01-old"));

            Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(client, oldToken));
            Assert.Equal(HttpStatusCode.OK, await MeAsync(client, newToken));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task AHalfWrittenKeyFileKeepsTheLoadedKeys()
    {
        var folder = Directory.CreateTempSubdirectory("chirp-rotation-").FullName;
        try
        {
            WriteKey(folder, "2026-01-only");
            await using var gateway = await cluster.StartGatewayAsync(new()
            {
                ["Tokens:KeyDirectory"] = folder,
                ["Tokens:KeyPollInterval"] = "00:00:00.500",
            });
            var alice = await cluster.NewUserAsync("rot_half");
            using var client = gateway.CreateClient();
            var token = await cluster.LogInAsync(alice.Handle, gateway: gateway);

            await File.WriteAllTextAsync(Path.Combine(folder, "2026-02-broken.pem"), "-----BEGIN PRIVATE KEY-----\nMIG");
            await Task.Delay(TimeSpan.FromSeconds(1.5));

            Assert.Equal(HttpStatusCode.OK, await MeAsync(client, token));
            Assert.Equal(["2026-01-only"], await KidsAsync(client));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task IdentityAssertionKeysRotateWithoutAFailedRequest()
    {
        var folder = cluster.AssertionKeys.Directory;
        var oldKey = await File.ReadAllTextAsync(Path.Combine(folder, KeyFolder.DefaultKeyId + ".key"));
        await using var gateway = await cluster.StartGatewayAsync(new() { ["IdentityAssertion:KeyActivationDelay"] = "00:00:03" });
        var alice = await cluster.NewUserAsync("rot_identity");
        using var client = gateway.CreateClient();
        var token = await cluster.LogInAsync(alice.Handle, gateway: gateway);
        var verifier = cluster.AssertionKeys.Codec();

        // Written aside and moved in, as a Secret update is.
        var temporary = Path.Combine(folder, "test-2.tmp");
        await File.WriteAllTextAsync(temporary, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        File.Move(temporary, Path.Combine(folder, "test-2.key"));

        // Every request succeeds throughout; the gateway signs with the old key first, then with the new one once
        // the activation delay has passed (the subgraphs have loaded it by then).
        var kids = new List<string>();
        await WaitForAsync(async () =>
        {
            var calls = await cluster.SubgraphLog.DuringAsync(async () => Assert.Equal(HttpStatusCode.OK, await MeAsync(client, token)));
            kids.Add(verifier.Verify(calls[^1].Headers[ChirpHeaders.Identity])!.Kid);
            return kids[^1] == "test-2";
        }, seconds: 20);
        Assert.Equal(KeyFolder.DefaultKeyId, kids[0]);

        File.Delete(Path.Combine(folder, KeyFolder.DefaultKeyId + ".key"));
        using var oldSigner = KeyFolder.Create(oldKey);
        var stale = oldSigner.Codec().Sign(alice.Id, alice.Handle, alice.DisplayName, "tweets:write");
        using var users = cluster.Users.CreateClient();
        await WaitForAsync(async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/graphql") { Content = JsonContent.Create(new { query = "{ me { handle } }" }) };
            request.Headers.Add(ChirpHeaders.Identity, stale);
            using var response = await users.SendAsync(request);
            return response.StatusCode == HttpStatusCode.Unauthorized;
        });
        Assert.Equal(HttpStatusCode.OK, await MeAsync(client, token));
        Assert.Equal(HttpStatusCode.OK, await MeAsync(cluster.Client(), token));
    }

    private static void WriteKey(string folder, string kid)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        // Written aside and moved in, as a Secret update is: a watcher never sees half a key.
        var temporary = Path.Combine(folder, kid + ".tmp");
        File.WriteAllText(temporary, key.ExportPkcs8PrivateKeyPem());
        File.Move(temporary, Path.Combine(folder, kid + ".pem"));
    }

    private static async Task<List<string>> KidsAsync(HttpClient client)
    {
        var jwks = await client.GetFromJsonAsync<JsonObject>("/.well-known/jwks.json");
        return [.. jwks!["keys"]!.AsArray().Select(k => k!["kid"]!.GetValue<string>())];
    }

    private static async Task<HttpStatusCode> MeAsync(HttpClient client, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/graphql") { Content = JsonContent.Create(new { query = "{ me { handle } }" }) };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, int seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The key folder change was not picked up in time.");
            await Task.Delay(200);
        }
    }
}
