using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Chirp.EndToEnd.Tests;

/// <summary>Access tokens at the gateway (RFC 7519, RFC 8725, RFC 6750; case C07).</summary>
[Collection(ClusterCollection.Name)]
public sealed class TokenTests(ChirpCluster cluster)
{
    [Fact]
    public async Task IssuedTokenIsEs256WithKidAndTheDesignsClaims()
    {
        var user = await cluster.NewUserAsync("claims", "Claims Person");
        var token = new JsonWebToken(user.AccessToken);
        Assert.Equal("ES256", token.Alg);
        Assert.False(string.IsNullOrEmpty(token.Kid));
        Assert.Equal(user.Id, token.Subject);
        foreach (var claim in new[] { "iss", "aud", "exp", "iat", "nbf", "jti", "scope", "context" })
        {
            Assert.True(token.TryGetPayloadValue<object>(claim, out _), $"missing claim {claim}");
        }

        Assert.Equal(900, (int)(token.ValidTo - token.IssuedAt).TotalSeconds);
        Assert.Equal("tweets:write email:manage", token.GetPayloadValue<string>("scope"));

        using var client = cluster.Client();
        var jwks = await client.GetFromJsonAsync<JsonObject>("/.well-known/jwks.json");
        Assert.Contains(token.Kid, jwks!["keys"]!.AsArray().Select(k => k!["kid"]!.GetValue<string>()));
        var metadata = await client.GetFromJsonAsync<JsonObject>("/.well-known/oauth-authorization-server");
        Assert.EndsWith("/auth/token", metadata!["token_endpoint"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefreshTokenRotatesAndReuseRevokesTheFamily()
    {
        var user = await cluster.NewUserAsync("refresh");
        using var client = cluster.Client();
        var first = await TokenAsync(client, new() { ["grant_type"] = "password", ["username"] = user.Handle, ["password"] = "correct horse battery" });
        var refreshed = await TokenAsync(client, new() { ["grant_type"] = "refresh_token", ["refresh_token"] = first["refresh_token"]!.GetValue<string>() });
        Assert.NotEqual(first["refresh_token"]!.GetValue<string>(), refreshed["refresh_token"]!.GetValue<string>());

        using var reuse = await client.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = first["refresh_token"]!.GetValue<string>() }));
        Assert.Equal(HttpStatusCode.BadRequest, reuse.StatusCode);
        using var afterReuse = await client.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshed["refresh_token"]!.GetValue<string>() }));
        Assert.Equal(HttpStatusCode.BadRequest, afterReuse.StatusCode);
    }

    [Fact]
    public async Task RevokedRefreshTokenCannotBeUsed()
    {
        var user = await cluster.NewUserAsync("revoke");
        using var client = cluster.Client();
        var tokens = await TokenAsync(client, new() { ["grant_type"] = "password", ["username"] = user.Handle, ["password"] = "correct horse battery" });
        var refresh = tokens["refresh_token"]!.GetValue<string>();

        using var revoked = await client.PostAsync("/auth/revoke", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = refresh }));
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        using var unknown = await client.PostAsync("/auth/revoke", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = "never-issued" }));
        Assert.Equal(HttpStatusCode.OK, unknown.StatusCode);

        using var refreshed = await client.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refresh }));
        Assert.Equal(HttpStatusCode.BadRequest, refreshed.StatusCode);
    }

    [Fact]
    public async Task LogOutEndsThisSessionOnlyAndEverywhereEndsAll()
    {
        var user = await cluster.NewUserAsync("logout");
        using var anonymous = cluster.Client();
        var first = await TokenAsync(anonymous, new() { ["grant_type"] = "password", ["username"] = user.Handle, ["password"] = "correct horse battery" });
        var second = await TokenAsync(anonymous, new() { ["grant_type"] = "password", ["username"] = user.Handle, ["password"] = "correct horse battery" });

        using (var client = cluster.Client(first["access_token"]!.GetValue<string>()))
        {
            using var response = await client.PostAsync("/auth/logout", null);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        using var afterFirst = await anonymous.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = first["refresh_token"]!.GetValue<string>() }));
        Assert.Equal(HttpStatusCode.BadRequest, afterFirst.StatusCode);
        var stillThere = await TokenAsync(anonymous, new() { ["grant_type"] = "refresh_token", ["refresh_token"] = second["refresh_token"]!.GetValue<string>() });

        using (var client = cluster.Client(stillThere["access_token"]!.GetValue<string>()))
        {
            using var response = await client.PostAsJsonAsync("/auth/logout", new { everywhere = true });
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        using var afterAll = await anonymous.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = stillThere["refresh_token"]!.GetValue<string>() }));
        Assert.Equal(HttpStatusCode.BadRequest, afterAll.StatusCode);

        using var noToken = await anonymous.PostAsync("/auth/logout", null);
        Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
    }

    [Fact]
    public async Task TokenEndpointAcceptsJsonAndRefusesUnknownScopes()
    {
        var user = await cluster.NewUserAsync("jsonlogin");
        using var client = cluster.Client();
        using var ok = await client.PostAsJsonAsync("/auth/token", new { grant_type = "password", username = user.Handle, password = "correct horse battery", scope = "tweets:write" });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("tweets:write", (await ok.Content.ReadFromJsonAsync<JsonObject>())!["scope"]!.GetValue<string>());

        using var bad = await client.PostAsJsonAsync("/auth/token", new { grant_type = "password", username = user.Handle, password = "correct horse battery", scope = "admin" });
        Assert.Equal("invalid_scope", (await bad.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task TokenWithoutEmailScopeCannotChangeEmailSettings()
    {
        var user = await cluster.NewUserAsync("scoped");
        using var client = cluster.Client();
        using var login = await client.PostAsJsonAsync("/auth/token", new { grant_type = "password", username = user.Handle, password = "correct horse battery", scope = "tweets:write" });
        var token = (await login.Content.ReadFromJsonAsync<JsonObject>())!["access_token"]!.GetValue<string>();
        var (_, body) = await cluster.GraphQLAsync(token, "mutation { updateEmailSettings(input: { notifyOnRetweet: true }) { emailSettings { notifyOnRetweet } } }");
        Assert.Equal("FORBIDDEN", body["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());
    }

    public static TheoryData<string> BadTokens => ["alg-none", "hs256-with-public-key", "unknown-kid", "path-kid", "expired-90s", "nbf-10min", "wrong-iss", "wrong-aud"];

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task BadTokensGet401InvalidToken(string kind)
    {
        var user = await cluster.NewUserAsync("badtok");
        var token = await CraftAsync(user, kind);
        using var client = cluster.Client(token);
        using var response = await client.PostAsJsonAsync("/graphql", new { query = "{ me { handle } }" });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
        Assert.DoesNotContain("at Chirp", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenExpiringInAMinuteStillWorks()
    {
        var user = await cluster.NewUserAsync("control");
        var token = await CraftAsync(user, "exp-60s-ahead");
        var (status, body) = await cluster.GraphQLAsync(token, "{ me { handle } }");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(user.Handle, body["data"]!["me"]!["handle"]!.GetValue<string>());
    }

    /// <summary>Signs claims like the real token's with the real key, changing one thing per <paramref name="kind"/>.</summary>
    private async Task<string> CraftAsync(TestUser user, string kind)
    {
        var real = new JsonWebToken(user.AccessToken);
        var keyFile = Directory.GetFiles(cluster.Gateway.Services.GetRequiredService<IConfiguration>()["Tokens:KeyDirectory"]!, "*.pem").Single();
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(await File.ReadAllTextAsync(keyFile));
        var now = DateTimeOffset.UtcNow;
        var claims = new Dictionary<string, object>
        {
            ["iss"] = real.Issuer,
            ["aud"] = real.Audiences.Single(),
            ["sub"] = user.Id,
            ["jti"] = Guid.NewGuid().ToString(),
            ["scope"] = "tweets:write email:manage",
            ["context"] = new Dictionary<string, object> { ["userId"] = user.Id, ["handle"] = user.Handle, ["displayName"] = user.DisplayName },
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.AddMinutes(5).ToUnixTimeSeconds(),
        };
        var kid = real.Kid;
        switch (kind)
        {
            case "expired-90s": claims["exp"] = now.AddSeconds(-90).ToUnixTimeSeconds(); claims["iat"] = claims["nbf"] = now.AddMinutes(-10).ToUnixTimeSeconds(); break;
            case "exp-60s-ahead": claims["exp"] = now.AddSeconds(60).ToUnixTimeSeconds(); break;
            case "nbf-10min": claims["nbf"] = now.AddMinutes(10).ToUnixTimeSeconds(); break;
            case "wrong-iss": claims["iss"] = "https://evil.example"; break;
            case "wrong-aud": claims["aud"] = "someone-else"; break;
            case "unknown-kid": kid = "no-such-key"; break;
            case "path-kid": kid = "../../../etc/passwd"; break;
        }

        var payload = Base64UrlEncoder.Encode(JsonSerializer.Serialize(claims));
        if (kind == "alg-none")
        {
            return Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""") + "." + payload + ".";
        }

        if (kind == "hs256-with-public-key")
        {
            var header = Base64UrlEncoder.Encode(JsonSerializer.Serialize(new { alg = "HS256", typ = "JWT", kid }));
            var mac = HMACSHA256.HashData(Encoding.ASCII.GetBytes(ecdsa.ExportSubjectPublicKeyInfoPem()), Encoding.ASCII.GetBytes(header + "." + payload));
            return header + "." + payload + "." + Base64UrlEncoder.Encode(mac);
        }

        var es256Header = Base64UrlEncoder.Encode(JsonSerializer.Serialize(new { alg = "ES256", typ = "JWT", kid }));
        var signature = ecdsa.SignData(Encoding.ASCII.GetBytes(es256Header + "." + payload), HashAlgorithmName.SHA256);
        return es256Header + "." + payload + "." + Base64UrlEncoder.Encode(signature);
    }

    private static async Task<JsonObject> TokenAsync(HttpClient client, Dictionary<string, string> form)
    {
        using var response = await client.PostAsync("/auth/token", new FormUrlEncodedContent(form));
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        return body!;
    }
}
