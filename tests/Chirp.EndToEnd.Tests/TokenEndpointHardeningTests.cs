using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Chirp.Gateway;
using Chirp.Gateway.Auth;
using Chirp.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// The token endpoint's answers to malformed requests (RFC 6749 section 5.2), log-in throttling (429 with
/// <c>Retry-After</c>) and the gateway's readiness.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class TokenEndpointHardeningTests(ChirpCluster cluster)
{
    private const string Password = "correct horse battery";

    [Theory]
    [InlineData("text/plain", "grant_type=password&username=alice&password=x")]
    [InlineData(null, "grant_type=password&username=alice&password=x")]
    [InlineData("application/xml", "<grant_type>password</grant_type>")]
    [InlineData("application/x-www-form-urlencoded", "")]
    [InlineData("application/x-www-form-urlencoded", "grant_type=password&grant_type=refresh_token&username=alice&password=x")]
    [InlineData("application/json", "[\"grant_type\",\"password\"]")]
    [InlineData("application/json", "{\"grant_type\":\"password\",\"grant_type\":\"refresh_token\"}")]
    [InlineData("application/json", "{\"grant_type\":\"password\"")]
    [InlineData("application/json", "\"grant_type=password\"")]
    [InlineData("application/json", "")]
    [InlineData("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\npassword\r\n--x--\r\n")]
    [InlineData("application/x-www-form-urlencoded; charset", "grant_type=password")]
    public async Task MalformedTokenRequestsGet400WithAnOAuthErrorBody(string? contentType, string body)
    {
        var headers = new List<(string, string)>();
        if (contentType is not null)
        {
            headers.Add(("Content-Type", contentType));
        }

        var (status, answer, text) = await RawHttp.SendAsync(cluster.Gateway.BaseAddress, HttpMethod.Post, "/auth/token", headers, Encoding.UTF8.GetBytes(body));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("application/json", answer["Content-Type"], StringComparison.Ordinal);
        Assert.Equal("invalid_request", JsonNode.Parse(text)!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheOpenApiDocumentStillDescribesTheTokenRequestBody()
    {
        using var client = cluster.Client();
        var document = await client.GetFromJsonAsync<JsonObject>("/openapi/v1.json");
        var content = document!["paths"]!["/auth/token"]!["post"]!["requestBody"]!["content"]!.AsObject();
        Assert.Equal(["application/x-www-form-urlencoded", "application/json"], content.Select(c => c.Key));
    }

    [Fact]
    public async Task AnOversizedTokenRequestGets400WithAnOAuthErrorBody()
    {
        using var client = cluster.Client();
        using var response = await client.PostAsync("/auth/token", new StringContent(
            "grant_type=password&username=alice&password=" + new string('x', 20_000), Encoding.ASCII, "application/x-www-form-urlencoded"));

        var answer = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request", answer["error"]!.GetValue<string>());
        Assert.Equal("The request body is larger than 16384 bytes.", answer["error_description"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("application/x-www-form-urlencoded", "grant_type=password&grant_type=password", "The parameter 'grant_type' is sent more than once.")]
    [InlineData("application/json", "{\"grant_type\":\"password\",\"grant_type\":\"password\"}", "The request body is not valid JSON or repeats a property name.")]
    [InlineData("application/xml", "<grant_type>password</grant_type>", "Send the parameters as application/x-www-form-urlencoded or a JSON object of strings.")]
    public async Task AMalformedTokenRequestIsToldWhatIsWrong(string contentType, string body, string description)
    {
        using var client = cluster.Client();
        using var response = await client.PostAsync("/auth/token", new StringContent(body, Encoding.UTF8, contentType));

        var answer = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(description, answer["error_description"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("/auth/logout")]
    [InlineData("/auth/revoke")]
    [InlineData("/auth/token")]
    public async Task AnInvalidBearerTokenOnAnAuthRouteGets401WithAnOAuthErrorBody(string path)
    {
        var (status, answer, text) = await RawHttp.SendAsync(cluster.Gateway.BaseAddress, HttpMethod.Post, path,
            [("Authorization", "Bearer not.a.token"), ("Content-Type", "application/x-www-form-urlencoded")], Encoding.ASCII.GetBytes("token=x"));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("Bearer error=\"invalid_token\"", answer["WWW-Authenticate"]);
        Assert.StartsWith("application/json", answer["Content-Type"], StringComparison.Ordinal);
        Assert.Equal("invalid_token", JsonNode.Parse(text)!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task LogOutAnswersLikeTheOtherTokenEndpoints()
    {
        using var anonymous = cluster.Client();
        using var noToken = await anonymous.PostAsync("/auth/logout", null);

        // RFC 6750 section 3.1: a request without credentials gets the challenge without an error code.
        Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        Assert.Equal("Bearer", noToken.Headers.WwwAuthenticate.ToString());
        Assert.Equal("application/json", noToken.Content.Headers.ContentType?.MediaType);
        var unauthenticated = (await noToken.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("invalid_request", unauthenticated["error"]!.GetValue<string>());
        Assert.Contains("access token", unauthenticated["error_description"]!.GetValue<string>(), StringComparison.Ordinal);

        var user = await cluster.NewUserAsync("logoutbody");
        using var client = cluster.Client(user.AccessToken);
        using var malformed = await client.PostAsJsonAsync("/auth/logout", new { everywhere = "maybe" });

        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("application/json", malformed.Content.Headers.ContentType?.MediaType);
        var invalid = (await malformed.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("invalid_request", invalid["error"]!.GetValue<string>());
        Assert.Contains("everywhere", invalid["error_description"]!.GetValue<string>(), StringComparison.Ordinal);

        // Nothing was ended by the malformed request.
        var (status, _) = await cluster.GraphQLAsync(user.AccessToken, "{ me { handle } }");
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task TwoAuthorizationHeadersOnTheTokenEndpointGet400InvalidRequest()
    {
        var user = await cluster.NewUserAsync("twoauth");
        var (status, answer, text) = await RawHttp.SendAsync(cluster.Gateway.BaseAddress, HttpMethod.Post, "/auth/token",
            [("Authorization", "Bearer " + user.AccessToken), ("Authorization", "Basic Y2xpZW50OnNlY3JldA=="), ("Content-Type", "application/x-www-form-urlencoded")],
            Encoding.ASCII.GetBytes($"grant_type=password&username={user.Handle}&password={Uri.EscapeDataString(Password)}"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("Bearer error=\"invalid_request\"", answer["WWW-Authenticate"]);
        Assert.Equal("invalid_request", JsonNode.Parse(text)!["error"]!.GetValue<string>());
        Assert.DoesNotContain(user.AccessToken, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailedLogInsAreThrottledPerHandleAndAddressThenAllowedAfterRetryAfter()
    {
        var user = await cluster.NewUserAsync("throttle");
        var other = await cluster.NewUserAsync("throttle2");
        await using var gateway = await cluster.StartGatewayAsync(Throttle(perHandleAndAddress: 3, perAddress: 100, window: TimeSpan.FromSeconds(5)));
        using var owner = ClientFrom(gateway, "127.0.0.1");
        using var guesser = ClientFrom(gateway, "127.0.0.2");

        // Correct log-ins take no permit: more of them than the limit all succeed.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await LogInAsync(owner, user.Handle, Password)).Status);
        }

        for (var i = 0; i < 3; i++)
        {
            var (status, body, _) = await LogInAsync(guesser, user.Handle, "wrong password " + i);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal("invalid_grant", body["error"]!.GetValue<string>());
        }

        // Over the limit even the right password is refused from that address ...
        var (throttled, error, retryAfter) = await LogInAsync(guesser, user.Handle.ToUpperInvariant(), Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled);
        Assert.Equal(TokenEndpoints.TooManyAttempts, error["error"]!.GetValue<string>());
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(7));

        // ... but not from the owner's address, and not for another handle from the same address.
        Assert.Equal(HttpStatusCode.OK, (await LogInAsync(owner, user.Handle, Password)).Status);
        Assert.Equal(HttpStatusCode.OK, (await LogInAsync(guesser, other.Handle, Password)).Status);

        await Task.Delay(retryAfter.Value);
        Assert.Equal(HttpStatusCode.OK, (await LogInAsync(guesser, user.Handle, Password)).Status);
    }

    [Fact]
    public async Task GuessesSentInParallelGetNoMoreChecksThanTheLimit()
    {
        var user = await cluster.NewUserAsync("parallel");
        await using var gateway = await cluster.StartGatewayAsync(Throttle(perHandleAndAddress: 3, perAddress: 100, window: TimeSpan.FromMinutes(1)));
        using var guesser = ClientFrom(gateway, "127.0.0.4");

        // Twelve wrong passwords at once: checks in flight count against the limit, so at most three are checked.
        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => LogInAsync(guesser, user.Handle, "wrong password " + i)));

        var checkedGuesses = answers.Count(a => a.Status == HttpStatusCode.BadRequest);
        Assert.InRange(checkedGuesses, 1, 3);
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.BadRequest), a =>
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, a.Status);
            Assert.Equal(TokenEndpoints.TooManyAttempts, a.Body["error"]!.GetValue<string>());
            Assert.NotNull(a.RetryAfter);
        });

        // Once the checks are done, the permits they used are gone: the next guess waits for the window.
        for (var i = checkedGuesses; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await LogInAsync(guesser, user.Handle, "late guess " + i)).Status);
        }

        var (status, _, retryAfter) = await LogInAsync(guesser, user.Handle, Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.True(retryAfter > TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task AnAddressGuessingManyHandlesIsThrottledAndNoOtherAddressIs()
    {
        var user = await cluster.NewUserAsync("spray");
        await using var gateway = await cluster.StartGatewayAsync(Throttle(perHandleAndAddress: 100, perAddress: 4, window: TimeSpan.FromMinutes(1)));
        using var sprayer = ClientFrom(gateway, "127.0.0.3");
        using var owner = ClientFrom(gateway, "127.0.0.1");

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await LogInAsync(sprayer, ChirpCluster.NewHandle("nobody"), "guess")).Status);
        }

        var (status, body, retryAfter) = await LogInAsync(sprayer, user.Handle, Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal(TokenEndpoints.TooManyAttempts, body["error"]!.GetValue<string>());
        Assert.True(retryAfter > TimeSpan.Zero);
        Assert.Equal(HttpStatusCode.OK, (await LogInAsync(owner, user.Handle, Password)).Status);
    }

    [Fact]
    public void ThrottlePartitionsAreTheAddressAndTheHandleAtTheAddress()
    {
        Assert.Equal("127.0.0.2", LoginThrottle.AddressKey(IPAddress.Parse("::ffff:127.0.0.2")));
        Assert.Equal("2001:db8:1:2::/64", LoginThrottle.AddressKey(IPAddress.Parse("2001:db8:1:2:aaaa:bbbb:cccc:dddd")));
        Assert.Equal(LoginThrottle.AddressKey(IPAddress.Parse("2001:db8:1:2::1")), LoginThrottle.AddressKey(IPAddress.Parse("2001:db8:1:2::2")));
        Assert.Equal("unknown", LoginThrottle.AddressKey(null));
        Assert.NotEqual(LoginThrottle.HandleKey("alice", "127.0.0.1"), LoginThrottle.HandleKey("alice", "127.0.0.2"));
        Assert.Equal(LoginThrottle.HandleKey(new string('a', 64), "::/64"), LoginThrottle.HandleKey(new string('a', 65), "::/64"));
    }

    [Fact]
    public async Task BehindATrustedProxyTheForwardedClientIsCounted()
    {
        var user = await cluster.NewUserAsync("proxied");
        var settings = Throttle(perHandleAndAddress: 2, perAddress: 100, window: TimeSpan.FromMinutes(1));
        settings[$"{LoginThrottleOptions.SectionName}:TrustedProxies:0"] = "127.0.0.0/8";
        await using var gateway = await cluster.StartGatewayAsync(settings);
        using var proxy = gateway.CreateClient();

        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await LogInAsync(proxy, user.Handle, "guess", "203.0.113.7")).Status);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await LogInAsync(proxy, user.Handle, Password, "203.0.113.7")).Status);
        Assert.Equal(HttpStatusCode.OK, (await LogInAsync(proxy, user.Handle, Password, "198.51.100.9")).Status);
    }

    [Fact]
    public void OnlyTrustedProxiesNameTheClient()
    {
        IPNetwork[] trusted = [IPNetwork.Parse("10.0.0.0/8")];
        var proxy = IPAddress.Parse("10.0.0.6");
        var client = IPAddress.Parse("198.51.100.9");

        Assert.Equal(client, LoginThrottle.ClientAddress(client, ["203.0.113.7"], trusted));
        Assert.Equal(IPAddress.Parse("203.0.113.7"), LoginThrottle.ClientAddress(proxy, ["1.2.3.4, 203.0.113.7, 10.0.0.5"], trusted));
        Assert.Equal(IPAddress.Parse("203.0.113.7"), LoginThrottle.ClientAddress(proxy, ["1.2.3.4", "203.0.113.7"], trusted));
        Assert.Equal(proxy, LoginThrottle.ClientAddress(proxy, ["not-an-address"], trusted));
        Assert.Equal(proxy, LoginThrottle.ClientAddress(proxy, [], trusted));
        Assert.Equal(proxy, LoginThrottle.ClientAddress(proxy, ["203.0.113.7"], []));
    }

    [Fact]
    public async Task ReadyWhenKeysAndSupergraphAreLoaded()
    {
        using var client = cluster.Client();
        using var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AKeyThatCannotSignIsNotReadyAndStopsTheGatewayAtStart()
    {
        // A public key alone loads and verifies, but cannot sign: the readiness check must use the key, not count it.
        var folder = Directory.CreateTempSubdirectory("chirp-public-only-").FullName;
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "public-only.pem"), key.ExportSubjectPublicKeyInfoPem());
        }

        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(TimeProvider.System)
            .AddSingleton(Options.Create(new TokenOptions { KeyDirectory = folder }))
            .AddSingleton<SigningKeys>()
            .AddSingleton<TokenIssuer>();
        await using (var provider = services.BuildServiceProvider())
        {
            var result = await new GatewayReadiness(provider).CheckHealthAsync(new HealthCheckContext());
            Assert.Equal(HealthStatus.Unhealthy, result.Status);
            Assert.Contains("cannot sign", result.Description, StringComparison.Ordinal);
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => cluster.StartGatewayAsync(new() { ["Tokens:KeyDirectory"] = folder }));
        Assert.Contains("cannot sign", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AGatewayWithoutItsSupergraphDoesNotStart()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            cluster.StartGatewayAsync(new() { ["Supergraph:Path"] = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "supergraph.graphql") }));
        Assert.Contains("Supergraph:Path", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadinessNamesWhatIsMissing()
    {
        await using var empty = new ServiceCollection().BuildServiceProvider();
        var readiness = new GatewayReadiness(empty);
        var result = await readiness.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains(nameof(TokenIssuer), result.Description, StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> Throttle(int perHandleAndAddress, int perAddress, TimeSpan window) => new()
    {
        [$"{LoginThrottleOptions.SectionName}:{nameof(LoginThrottleOptions.FailuresPerHandleAndAddress)}"] = perHandleAndAddress.ToString(CultureInfo.InvariantCulture),
        [$"{LoginThrottleOptions.SectionName}:{nameof(LoginThrottleOptions.FailuresPerAddress)}"] = perAddress.ToString(CultureInfo.InvariantCulture),
        [$"{LoginThrottleOptions.SectionName}:{nameof(LoginThrottleOptions.Window)}"] = window.ToString("c", CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// A client of <paramref name="gateway"/> whose connections come from <paramref name="localAddress"/> (any
    /// 127.0.0.0/8 address is on Linux's loopback), so the gateway sees different client addresses.
    /// </summary>
    private static HttpClient ClientFrom(ServiceHost gateway, string localAddress)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = gateway.BaseAddress };
    }

    private static async Task<(HttpStatusCode Status, JsonObject Body, TimeSpan? RetryAfter)> LogInAsync(
        HttpClient client, string handle, string password, string? forwardedFor = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/auth/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "password",
                ["username"] = handle,
                ["password"] = password,
            }),
        };
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        using var response = await client.SendAsync(request);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var body = await response.Content.ReadFromJsonAsync<JsonObject>() ?? [];
        return (response.StatusCode, body, response.Headers.RetryAfter?.Delta);
    }
}
