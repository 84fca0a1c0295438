using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Chirp.Gateway.Auth;
using Chirp.GraphQL.AspNetCore;
using Chirp.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// Revocation of access tokens: log-out, log-out everywhere, RFC 7009 revocation of access and refresh tokens and
/// refresh-token reuse, each refused at once on every gateway replica; live connections of a revoked token end
/// (case C08); a gateway that has never loaded the revocation state is not ready and refuses bearer tokens; a gateway
/// that loses Redis later serves from memory and refuses log-in and refresh with 503; a password change ends every
/// other session of the user.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class RevocationTests(ChirpCluster cluster)
{
    private const string Password = "correct horse battery";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task LogOutRefusesThisSessionsAccessTokensAndNoOtherSession()
    {
        var user = await cluster.NewUserAsync("rv_logout");
        var other = await cluster.NewUserAsync("rv_logout_o");
        var first = await LogInAsync(cluster.Gateway, user.Handle);
        var refreshed = await RefreshAsync(cluster.Gateway, first.RefreshToken);
        var second = await LogInAsync(cluster.Gateway, user.Handle);

        using (var client = Client(cluster.Gateway, first.AccessToken))
        {
            using var response = await client.PostAsync("/auth/logout", null);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        await AssertRefusedAsync(cluster.Gateway, first.AccessToken);
        await AssertRefusedAsync(cluster.Gateway, refreshed.AccessToken);
        await AssertAcceptedAsync(cluster.Gateway, second.AccessToken);
        await AssertAcceptedAsync(cluster.Gateway, other.AccessToken);
    }

    [Fact]
    public async Task LogOutEverywhereRefusesEveryAccessTokenOfTheUserUntilTheNextLogIn()
    {
        var user = await cluster.NewUserAsync("rv_every");
        var other = await cluster.NewUserAsync("rv_every_o");
        var second = await LogInAsync(cluster.Gateway, user.Handle);

        using (var client = Client(cluster.Gateway, second.AccessToken))
        {
            using var response = await client.PostAsJsonAsync("/auth/logout", new { everywhere = true });
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        await AssertRefusedAsync(cluster.Gateway, user.AccessToken);
        await AssertRefusedAsync(cluster.Gateway, second.AccessToken);
        await AssertAcceptedAsync(cluster.Gateway, other.AccessToken);

        // The not-before stamp is the next whole second (iat has one-second precision): a log-in after it works.
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        var again = await LogInAsync(cluster.Gateway, user.Handle);
        await AssertAcceptedAsync(cluster.Gateway, again.AccessToken);
    }

    [Theory]
    [InlineData("access_token")]
    [InlineData(null)]
    public async Task RevokingAnAccessTokenRefusesThatTokenOnly(string? hint)
    {
        var user = await cluster.NewUserAsync("rv_access");
        var first = await LogInAsync(cluster.Gateway, user.Handle);
        var refreshed = await RefreshAsync(cluster.Gateway, first.RefreshToken);

        Assert.Equal(HttpStatusCode.OK, await RevokeAsync(cluster.Gateway, first.AccessToken, hint));

        await AssertRefusedAsync(cluster.Gateway, first.AccessToken);
        await AssertAcceptedAsync(cluster.Gateway, refreshed.AccessToken);
        await AssertAcceptedAsync(cluster.Gateway, user.AccessToken);
    }

    [Fact]
    public async Task RevokingAnUnknownOrForgedTokenAnswers200()
    {
        var user = await cluster.NewUserAsync("rv_unknown");
        var parts = user.AccessToken.Split('.');
        var forged = parts[0] + "." + parts[1] + "." + new string('A', parts[2].Length);

        Assert.Equal(HttpStatusCode.OK, await RevokeAsync(cluster.Gateway, "never-issued", "refresh_token"));
        Assert.Equal(HttpStatusCode.OK, await RevokeAsync(cluster.Gateway, "a.b.c", "access_token"));
        Assert.Equal(HttpStatusCode.OK, await RevokeAsync(cluster.Gateway, forged, null));

        await AssertAcceptedAsync(cluster.Gateway, user.AccessToken);
    }

    [Theory]
    [InlineData("refresh_token")]
    [InlineData(null)]
    public async Task RevokingARefreshTokenRefusesItsSessionsAccessTokens(string? hint)
    {
        var user = await cluster.NewUserAsync("rv_refresh");
        var session = await LogInAsync(cluster.Gateway, user.Handle);
        var refreshed = await RefreshAsync(cluster.Gateway, session.RefreshToken);

        Assert.Equal(HttpStatusCode.OK, await RevokeAsync(cluster.Gateway, refreshed.RefreshToken, hint));

        await AssertRefusedAsync(cluster.Gateway, session.AccessToken);
        await AssertRefusedAsync(cluster.Gateway, refreshed.AccessToken);
        await AssertAcceptedAsync(cluster.Gateway, user.AccessToken);
    }

    [Fact]
    public async Task ReusingARotatedRefreshTokenRefusesTheWholeSessionsAccessTokens()
    {
        var user = await cluster.NewUserAsync("rv_reuse");
        var session = await LogInAsync(cluster.Gateway, user.Handle);
        var refreshed = await RefreshAsync(cluster.Gateway, session.RefreshToken);

        using (var client = cluster.Client())
        {
            using var reuse = await client.PostAsync("/auth/token", Form(new() { ["grant_type"] = "refresh_token", ["refresh_token"] = session.RefreshToken }));
            Assert.Equal(HttpStatusCode.BadRequest, reuse.StatusCode);
            Assert.Equal("invalid_grant", (await reuse.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());
        }

        await AssertRefusedAsync(cluster.Gateway, session.AccessToken);
        await AssertRefusedAsync(cluster.Gateway, refreshed.AccessToken);
        await AssertAcceptedAsync(cluster.Gateway, user.AccessToken);
    }

    [Fact]
    public async Task ARevocationThroughOneGatewayIsRefusedByAnotherWithinOneSecondAndClosesItsSockets()
    {
        await using var gateway2 = await cluster.StartGatewayAsync([]);
        var user = await cluster.NewUserAsync("rv_replica");
        var session = await LogInAsync(cluster.Gateway, user.Handle);
        await AssertAcceptedAsync(gateway2, session.AccessToken);
        await using var socket = await TransportWsSocket.OpenAsync(gateway2.BaseAddress, session.AccessToken);
        await socket.SubscribeAsync("s", TransportWsProtocolTests.RetweetSubscription);
        await TransportWsProtocolTests.WaitUntilAsync(() => gateway2.Services.GetRequiredService<LiveConnections>().OpenSubscriptions >= 1);

        using (var client = Client(cluster.Gateway, session.AccessToken))
        {
            using var response = await client.PostAsync("/auth/logout", null);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        var clock = Stopwatch.StartNew();
        while (await GraphQLStatusAsync(gateway2, session.AccessToken) != HttpStatusCode.Unauthorized)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), "The second gateway still accepts the revoked access token after one second.");
            await Task.Delay(20);
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"Refused only after {clock.Elapsed}.");
        await AssertRefusedAsync(gateway2, session.AccessToken);
        Assert.Equal(4403, await socket.WaitForCloseAsync(TimeSpan.FromSeconds(5)));
        await AssertAcceptedAsync(gateway2, user.AccessToken);
    }

    /// <summary>C08: a revoked token's socket closes 4403 within 5 seconds and gets no further event.</summary>
    [Fact]
    public async Task ARevokedTokensSocketCloses4403WithinFiveSecondsAndGetsNoFurtherEvent()
    {
        var alice = await cluster.NewUserAsync("rv_c08_a");
        var bob = await cluster.NewUserAsync("rv_c08_b");
        var session = await LogInAsync(cluster.Gateway, alice.Handle);
        var upstream = cluster.Tweets.Services.GetRequiredService<LiveConnections>();
        var before = upstream.OpenSubscriptions;
        await using var socket = await TransportWsSocket.OpenAsync(cluster.Gateway.BaseAddress, session.AccessToken);
        await socket.SubscribeAsync("s", TransportWsProtocolTests.RetweetSubscription);
        await TransportWsProtocolTests.WaitUntilAsync(() => upstream.OpenSubscriptions >= before + 1);

        await cluster.RetweetAsync(bob, await cluster.TweetAsync(alice, "before revocation"));
        var next = await socket.ReceiveAsync(Wait);
        Assert.Equal("next", next!["type"]!.GetValue<string>());

        var clock = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, await RevokeAsync(cluster.Gateway, session.AccessToken, "access_token"));
        await cluster.RetweetAsync(bob, await cluster.TweetAsync(alice, "after revocation"));

        var afterRevocation = new List<JsonObject>();
        while (await socket.ReceiveAsync(TimeSpan.FromSeconds(5) - clock.Elapsed) is { } message)
        {
            afterRevocation.Add(message);
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"Closed after {clock.Elapsed}.");
        Assert.Equal(4403, socket.CloseCode);
        Assert.Empty(afterRevocation);
        await AssertRefusedAsync(cluster.Gateway, session.AccessToken);

        // A new socket with the revoked token is refused at connection_init.
        await using var late = await TransportWsSocket.ConnectAsync(cluster.Gateway.BaseAddress);
        await late.SendAsync(TransportWsProtocolTests.Init(session.AccessToken));
        Assert.Null(await late.ReceiveAsync(Wait));
        Assert.Equal(4403, late.CloseCode);
    }

    [Fact]
    public async Task ALoggedOutSessionsStreamEndsWithUnauthenticatedThenComplete()
    {
        var alice = await cluster.NewUserAsync("rv_sse");
        var session = await LogInAsync(cluster.Gateway, alice.Handle);
        var live = cluster.Gateway.Services.GetRequiredService<LiveConnections>();
        var before = live.Count;
        using var client = Client(cluster.Gateway, session.AccessToken);
        using var stream = await SseStream.OpenAsync(client, TransportWsProtocolTests.RetweetSubscription);
        await TransportWsProtocolTests.WaitUntilAsync(() => live.Count >= before + 1);

        using (var logout = await client.PostAsync("/auth/logout", null))
        {
            Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        }

        var (name, data) = await stream.NextEventAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("next", name);
        Assert.Equal("UNAUTHENTICATED", JsonNode.Parse(data)!["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());
        Assert.Equal("complete", (await stream.NextEventAsync(Wait)).Name);
    }

    [Fact]
    public async Task ChangingThePasswordEndsEveryOtherSessionAndKeepsThisOne()
    {
        var user = await cluster.NewUserAsync("rv_passwd");
        var other = await cluster.NewUserAsync("rv_passwd_o");
        var current = await LogInAsync(cluster.Gateway, user.Handle);
        var elsewhere = await LogInAsync(cluster.Gateway, user.Handle);
        await using var socket = await TransportWsSocket.OpenAsync(cluster.Gateway.BaseAddress, elsewhere.AccessToken);
        const string Change = "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { user { handle } } }";

        var (wrongStatus, wrong) = await cluster.GraphQLAsync(current.AccessToken, Change, new { input = new { currentPassword = "not the password", newPassword = "a new password" } });
        Assert.Equal((HttpStatusCode)294, wrongStatus);
        Assert.Equal("BAD_USER_INPUT", wrong["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());
        await AssertAcceptedAsync(cluster.Gateway, elsewhere.AccessToken);

        var (status, body) = await cluster.GraphQLAsync(current.AccessToken, Change, new { input = new { currentPassword = Password, newPassword = "a new password" } });
        Assert.True(status == HttpStatusCode.OK && body["errors"] is null, body.ToJsonString());
        Assert.Equal(user.Handle, body["data"]!["changePassword"]!["user"]!["handle"]!.GetValue<string>());

        await AssertRefusedAsync(cluster.Gateway, elsewhere.AccessToken);
        await AssertRefusedAsync(cluster.Gateway, user.AccessToken);
        Assert.Equal(4403, await socket.WaitForCloseAsync(TimeSpan.FromSeconds(5)));
        using (var client = cluster.Client())
        {
            using var refresh = await client.PostAsync("/auth/token", Form(new() { ["grant_type"] = "refresh_token", ["refresh_token"] = elsewhere.RefreshToken }));
            Assert.Equal(HttpStatusCode.BadRequest, refresh.StatusCode);
            using var oldPassword = await client.PostAsync("/auth/token", Form(new() { ["grant_type"] = "password", ["username"] = user.Handle, ["password"] = Password }));
            Assert.Equal(HttpStatusCode.BadRequest, oldPassword.StatusCode);
        }

        await AssertAcceptedAsync(cluster.Gateway, current.AccessToken);
        var refreshed = await RefreshAsync(cluster.Gateway, current.RefreshToken);
        await AssertAcceptedAsync(cluster.Gateway, refreshed.AccessToken);
        await AssertAcceptedAsync(cluster.Gateway, other.AccessToken);
        var (_, me) = await cluster.GraphQLAsync((await TokenAsync(cluster.Gateway, new() { ["grant_type"] = "password", ["username"] = user.Handle, ["password"] = "a new password" })).AccessToken, "{ me { handle } }");
        Assert.Equal(user.Handle, me["data"]!["me"]!["handle"]!.GetValue<string>());
    }

    [Fact]
    public async Task AGatewayStartedWhileRedisIsDownIsNotReadyAndRefusesBearerTokensUntilItLoads()
    {
        await using var redis = await RedisServer.StartAsync();
        await redis.StopAsync();
        await using var gateway = await cluster.StartGatewayAsync(new() { ["ConnectionStrings:Redis"] = redis.ConnectionString });
        var user = await cluster.NewUserAsync("rv_ready");

        Assert.False(gateway.Services.GetRequiredService<RevocationState>().IsLoaded);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await ReadyStatusAsync(gateway));
        using (var client = Client(gateway, user.AccessToken))
        {
            using var response = await client.PostAsJsonAsync("/graphql", new { query = "{ me { handle } }" });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            using var tweets = await client.PostAsJsonAsync("/tweets", new { text = "not yet" });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, tweets.StatusCode);
        }

        await using (var socket = await TransportWsSocket.ConnectAsync(gateway.BaseAddress))
        {
            await socket.SendAsync(TransportWsProtocolTests.Init(user.AccessToken));
            Assert.Null(await socket.ReceiveAsync(Wait));
            Assert.Equal(4403, socket.CloseCode);
        }

        // Anonymous requests do not depend on the revocation state.
        Assert.Equal(HttpStatusCode.OK, await GraphQLStatusAsync(gateway, null));

        await redis.StartAgainAsync();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await ReadyStatusAsync(gateway) != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "The gateway did not become ready after Redis came up.");
            await Task.Delay(200);
        }

        await AssertAcceptedAsync(gateway, user.AccessToken);
    }

    [Fact]
    public async Task WhileRedisIsDownAfterTheFirstLoadTheGatewayServesFromMemoryAndRefusesLogInAndRefresh()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var gateway = await cluster.StartGatewayAsync(new() { ["ConnectionStrings:Redis"] = redis.ConnectionString });
        var user = await cluster.NewUserAsync("rv_down");
        Assert.Equal(HttpStatusCode.OK, await ReadyStatusAsync(gateway));
        var kept = await LogInAsync(gateway, user.Handle);
        var ended = await LogInAsync(gateway, user.Handle);
        using (var client = Client(gateway, ended.AccessToken))
        {
            using var response = await client.PostAsync("/auth/logout", null);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        await redis.StopAsync();

        using var anonymous = gateway.CreateClient();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        HttpResponseMessage logIn;
        while ((logIn = await anonymous.PostAsync("/auth/token", Form(new() { ["grant_type"] = "password", ["username"] = user.Handle, ["password"] = Password })))
               .StatusCode != HttpStatusCode.ServiceUnavailable)
        {
            logIn.Dispose();
            Assert.True(DateTime.UtcNow < deadline, "Log-in still works with Redis down.");
            await Task.Delay(200);
        }

        using (logIn)
        {
            Assert.Equal("temporarily_unavailable", (await logIn.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());
            Assert.NotNull(logIn.Headers.RetryAfter);
        }

        using (var refresh = await anonymous.PostAsync("/auth/token", Form(new() { ["grant_type"] = "refresh_token", ["refresh_token"] = kept.RefreshToken })))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refresh.StatusCode);
            Assert.Equal("temporarily_unavailable", (await refresh.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());
        }

        Assert.Equal(HttpStatusCode.OK, await ReadyStatusAsync(gateway));
        await AssertAcceptedAsync(gateway, kept.AccessToken);
        await AssertRefusedAsync(gateway, ended.AccessToken);

        // Log-out cannot be stored, so it answers 503, but this replica refuses the token already.
        using (var client = Client(gateway, kept.AccessToken))
        {
            using var response = await client.PostAsync("/auth/logout", null);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            var refusal = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            Assert.Equal("temporarily_unavailable", refusal["error"]!.GetValue<string>());
            Assert.Contains("/auth/revoke", refusal["error_description"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        await AssertRefusedAsync(gateway, kept.AccessToken);

        // Redis comes back empty (no persistence): the revocation stays in memory, and log-in works again.
        await redis.StartAgainAsync();
        deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var again = await anonymous.PostAsync("/auth/token", Form(new() { ["grant_type"] = "password", ["username"] = user.Handle, ["password"] = Password }));
            if (again.StatusCode == HttpStatusCode.OK)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "Log-in did not work again after Redis came back.");
            await Task.Delay(200);
        }

        await AssertRefusedAsync(gateway, ended.AccessToken);

        // The replica writes what it knew back to the empty Redis, so a replica started then refuses the tokens too.
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString))
        {
            var sessions = connection.GetDatabase();
            await TransportWsProtocolTests.WaitUntilAsync(() => sessions.SortedSetLength("chirp:revoked:sid") >= 2);
        }

        await using var late = await cluster.StartGatewayAsync(new() { ["ConnectionStrings:Redis"] = redis.ConnectionString });
        Assert.Equal(HttpStatusCode.OK, await ReadyStatusAsync(late));
        await AssertRefusedAsync(late, ended.AccessToken);
        await AssertRefusedAsync(late, kept.AccessToken);
    }

    private static async Task AssertRefusedAsync(ServiceHost gateway, string accessToken)
    {
        using var client = Client(gateway, accessToken);
        using var graphql = await client.PostAsJsonAsync("/graphql", new { query = "{ me { handle } }" });
        Assert.Equal(HttpStatusCode.Unauthorized, graphql.StatusCode);
        Assert.Equal("Bearer error=\"invalid_token\"", graphql.Headers.WwwAuthenticate.ToString());
        using var tweets = await client.PostAsJsonAsync("/tweets", new { text = "should not be posted" });
        Assert.Equal(HttpStatusCode.Unauthorized, tweets.StatusCode);
        Assert.Equal("Bearer error=\"invalid_token\"", tweets.Headers.WwwAuthenticate.ToString());
    }

    private static async Task AssertAcceptedAsync(ServiceHost gateway, string accessToken)
    {
        using var client = Client(gateway, accessToken);
        using var graphql = await client.PostAsJsonAsync("/graphql", new { query = "{ me { handle } }" });
        var body = await graphql.Content.ReadAsStringAsync();
        Assert.True(graphql.StatusCode == HttpStatusCode.OK, body);
        Assert.DoesNotContain("\"errors\"", body, StringComparison.Ordinal);
        using var tweets = await client.PostAsJsonAsync("/tweets", new { text = "still logged in" });
        Assert.Equal(HttpStatusCode.Created, tweets.StatusCode);
    }

    private static async Task<HttpStatusCode> GraphQLStatusAsync(ServiceHost gateway, string? accessToken)
    {
        using var client = Client(gateway, accessToken);
        using var response = await client.PostAsJsonAsync("/graphql", new { query = "{ __typename }" });
        return response.StatusCode;
    }

    private static async Task<HttpStatusCode> ReadyStatusAsync(ServiceHost gateway)
    {
        using var client = gateway.CreateClient();
        using var response = await client.GetAsync("/health/ready");
        return response.StatusCode;
    }

    private static async Task<HttpStatusCode> RevokeAsync(ServiceHost gateway, string token, string? hint)
    {
        var form = new Dictionary<string, string> { ["token"] = token };
        if (hint is not null)
        {
            form["token_type_hint"] = hint;
        }

        using var client = gateway.CreateClient();
        using var response = await client.PostAsync("/auth/revoke", Form(form));
        return response.StatusCode;
    }

    private static async Task<Tokens> LogInAsync(ServiceHost gateway, string handle) =>
        await TokenAsync(gateway, new() { ["grant_type"] = "password", ["username"] = handle, ["password"] = Password });

    private static async Task<Tokens> RefreshAsync(ServiceHost gateway, string refreshToken) =>
        await TokenAsync(gateway, new() { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken });

    private static async Task<Tokens> TokenAsync(ServiceHost gateway, Dictionary<string, string> form)
    {
        using var client = gateway.CreateClient();
        using var response = await client.PostAsync("/auth/token", Form(form));
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        return new Tokens(body!["access_token"]!.GetValue<string>(), body["refresh_token"]!.GetValue<string>());
    }

    private static FormUrlEncodedContent Form(Dictionary<string, string> values) => new(values);

    private static HttpClient Client(ServiceHost gateway, string? accessToken)
    {
        var client = gateway.CreateClient();
        if (accessToken is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }

        return client;
    }

    private sealed record Tokens(string AccessToken, string RefreshToken);
}
