using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.Testing;
using Npgsql;
using StackExchange.Redis;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// The four services as separate processes, as <c>scripts/start</c> runs them, exporting OTLP to a real Aspire dashboard
/// (docs/architecture.md section 8): one retweet through the REST shim must show on the dashboard as one trace from
/// the gateway's request to the worker's SMTP send.
/// </summary>
public sealed class TracingTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly List<string> _folders = [];
    private readonly KeyFolder _assertionKeys = KeyFolder.Create();
    private readonly KeyFolder _linkKeys = KeyFolder.Create();
    private AspireDashboard _dashboard = null!;
    private RedisServer _redis = null!;
    private SmtpSink _smtp = null!;
    private ServiceProcess _gateway = null!;
    private string _emailDb = "";

    public async Task InitializeAsync()
    {
        _dashboard = await Own(AspireDashboard.StartAsync());
        var postgres = await Own(PostgresServer.StartAsync());
        _redis = await Own(RedisServer.StartAsync());
        _smtp = await Own(SmtpSink.StartAsync());

        var tokenKeys = Folder("chirp-token-keys-");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            await File.WriteAllTextAsync(Path.Combine(tokenKeys, "test-key.pem"), key.ExportPkcs8PrivateKeyPem());
        }

        var dkim = Path.Combine(Folder("chirp-dkim-"), "test.pem");
        using (var key = RSA.Create(2048))
        {
            await File.WriteAllTextAsync(dkim, key.ExportPkcs8PrivateKeyPem());
        }

        var shared = new Dictionary<string, string>
        {
            [_assertionKeys.Setting().Key] = _assertionKeys.Directory,
            ["ConnectionStrings:Redis"] = _redis.ConnectionString,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = _dashboard.OtlpGrpcEndpoint.ToString(),
            // Export within half a second instead of the default five, so the test waits less.
            ["OTEL_BSP_SCHEDULE_DELAY"] = "500",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "500",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
        };
        var users = With(shared, ("ConnectionStrings:Users", await postgres.CreateDatabaseAsync("users")));
        var tweets = With(shared, ("ConnectionStrings:Tweets", await postgres.CreateDatabaseAsync("tweets")));
        _emailDb = await postgres.CreateDatabaseAsync("email");
        var worker = With(shared,
            ("ConnectionStrings:Email", _emailDb),
            ("Smtp:Host", "127.0.0.1"),
            ("Smtp:Port", _smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("Smtp:From", "chirp@example.test"),
            ("EmailLinks:PublicBaseUrl", "https://chirp.test"),
            (_linkKeys.Setting("EmailLinks").Key, _linkKeys.Directory),
            ("Dkim:Domain", "example.test"),
            ("Dkim:Selector", "test"),
            ("Dkim:PrivateKeyFile", dkim));

        await Task.WhenAll(
            ServiceProcess.RunCommandAsync("subgraphs/Chirp.Users", users, "migrate"),
            ServiceProcess.RunCommandAsync("subgraphs/Chirp.Tweets", tweets, "migrate"),
            ServiceProcess.RunCommandAsync("email-worker/Chirp.EmailWorker", worker, "migrate"));
        var started = await Task.WhenAll(
            ServiceProcess.StartAsync("subgraphs/Chirp.Users", users),
            ServiceProcess.StartAsync("subgraphs/Chirp.Tweets", tweets),
            ServiceProcess.StartAsync("email-worker/Chirp.EmailWorker", worker));
        foreach (var service in started)
        {
            _owned.Insert(0, service);
        }

        _gateway = await Own(ServiceProcess.StartAsync("gateway/Chirp.Gateway", With(shared,
            ("Tokens:KeyDirectory", tokenKeys),
            ("Supergraph:Path", RepoPaths.Combine("schema", "supergraph.graphql")),
            ("Subgraphs:users:Url", new Uri(started[0].BaseAddress, "/graphql").ToString()),
            ("Subgraphs:tweets:Url", new Uri(started[1].BaseAddress, "/graphql").ToString()),
            ("Subgraphs:notifications:Url", new Uri(started[2].BaseAddress, "/graphql").ToString()))));
    }

    [Fact]
    public async Task ARetweetIsOneTraceFromTheGatewayToTheSmtpSend()
    {
        var (authorId, authorToken) = await SignUpAsync("author");
        var (_, retweeterToken) = await SignUpAsync("fan");
        await OptInAsync(Guid.Parse(authorId), "author@example.test");
        var tweetId = await TweetAsync(authorToken, "Trace me");

        // The client starts the trace, so the test knows its id and the id of the gateway's parent span.
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var clientSpanId = ActivitySpanId.CreateRandom().ToHexString();
        using var http = Client(retweeterToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/tweets/{tweetId}/retweet");
        request.Headers.Add("traceparent", $"00-{traceId}-{clientSpanId}-01");
        HttpResponseMessage response;

        // Other test classes host services in this process, and their OpenTelemetry HttpClient instrumentation would
        // start a span for this request and write its own traceparent over the client's.
        using (OpenTelemetry.SuppressInstrumentationScope.Begin())
        {
            response = await http.SendAsync(request);
        }

        using var _ = response;
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var retweetId = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        await _smtp.WaitForMailToAsync("author@example.test", TimeSpan.FromSeconds(30));

        // The stream entry carries the mutation's trace context.
        var @event = await StreamEventAsync(retweetId);
        Assert.StartsWith($"00-{traceId}-", @event.Traceparent, StringComparison.Ordinal);

        // Each span is exported when it ends, a parent after its children: wait for the whole chain and the relay's publish.
        var spans = await _dashboard.WaitForSpansAsync(traceId,
            s => ReachesClient(s, clientSpanId) && s.Any(x => x.Name == "publish tweet-retweeted"), TimeSpan.FromSeconds(30));
        var send = Assert.Single(spans, s => s.Name == "smtp send");
        Assert.Equal("chirp-email-worker", send.Service);
        Assert.Equal(@event.EventId, send.Attributes["chirp.event_id"]);

        // From the SMTP send up to the client's span, every parent is a span of this trace.
        var byId = spans.ToDictionary(s => s.SpanId);
        var chain = new List<ReceivedSpan> { send };
        while (chain[^1].ParentSpanId is { } parent && parent != clientSpanId)
        {
            Assert.True(byId.TryGetValue(parent, out var next), $"span {parent}, parent of '{chain[^1].Name}', is not in the trace: {Describe(spans)}");
            chain.Add(next);
        }

        Assert.Equal(clientSpanId, chain[^1].ParentSpanId);
        var path = chain.Select(s => $"{s.Service}: {s.Name}").Reverse().ToList();
        var described = string.Join(" > ", path);
        Assert.True(chain[^1].Service == "chirp-gateway", described);
        Assert.Equal(["chirp-gateway", "chirp-tweets", "chirp-email-worker"], chain.Select(s => s.Service).Reverse().Distinct().ToList());
        Assert.True(path.Contains("chirp-gateway: fetch tweets"), described);
        var operation = Assert.Single(chain, s => s.Name == "mutation Retweet");
        Assert.Contains(spans, s => s.Service == "chirp-gateway" && s.Name == "plan" && s.ParentSpanId == operation.SpanId);

        // The relay's publish and the worker's consume are both children of the span the event names (the mutation's).
        var mutationSpanId = @event.Traceparent!.Split('-')[2];
        var process = Assert.Single(chain, s => s.Name == "process tweet-retweeted");
        Assert.Equal(mutationSpanId, process.ParentSpanId);
        Assert.Equal("chirp-tweets", byId[mutationSpanId].Service);
        var publish = Assert.Single(spans, s => s.Name == "publish tweet-retweeted");
        Assert.Equal("chirp-tweets", publish.Service);
        Assert.Equal(mutationSpanId, publish.ParentSpanId);
        Assert.Equal(@event.EventId, publish.Attributes["chirp.event_id"]);

        // What a person sees: the dashboard's page of the trace lists the four services' spans down to the SMTP send.
        var png = Path.Combine(AppContext.BaseDirectory, "retweet-trace.png");
        await _dashboard.ScreenshotTraceAsync(traceId, png, "chirp-gateway", "chirp-tweets", "chirp-email-worker", "smtp send");
        Assert.True(new FileInfo(png).Length > 10_000, "the screenshot is empty");

        // The mutation's database transaction and the relay's Redis command are in the trace too.
        Assert.Contains(spans, s => s.Service == "chirp-tweets" && DbSystem(s) == "postgresql");
        Assert.Contains(spans, s => s.Service == "chirp-tweets" && DbSystem(s) == "redis");
    }

    /// <summary>True when the spans hold <c>smtp send</c> and each of its ancestors up to the client's span.</summary>
    private static bool ReachesClient(IReadOnlyList<ReceivedSpan> spans, string clientSpanId)
    {
        var byId = spans.GroupBy(s => s.SpanId).ToDictionary(g => g.Key, g => g.First());
        var span = spans.FirstOrDefault(s => s.Name == "smtp send");
        while (span is not null && span.ParentSpanId is { } parent && parent != clientSpanId)
        {
            span = byId.GetValueOrDefault(parent);
        }

        return span is not null && span.ParentSpanId == clientSpanId;
    }

    /// <summary>The database of a client span, under the current convention's name or the older one.</summary>
    private static string? DbSystem(ReceivedSpan span) =>
        span.Attributes.TryGetValue("db.system.name", out var name) ? name : span.Attributes.GetValueOrDefault("db.system");

    private static string Describe(IEnumerable<ReceivedSpan> spans) =>
        string.Join("; ", spans.Select(s => $"{s.Service}: {s.Name} {s.SpanId}<-{s.ParentSpanId}"));

    private HttpClient Client(string? token = null)
    {
        var http = new HttpClient { BaseAddress = _gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    private async Task<(string Id, string Token)> SignUpAsync(string prefix)
    {
        var handle = ChirpCluster.NewHandle(prefix);
        using var http = Client();
        using var signUp = await http.PostAsJsonAsync("/graphql", new
        {
            query = "mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }",
            variables = new { input = new { handle, displayName = prefix, password = "correct horse battery" } },
        });
        var body = await signUp.Content.ReadFromJsonAsync<JsonObject>();
        var id = body?["data"]?["signUp"]?["user"]?["id"]?.GetValue<string>();
        Assert.True(id is not null, body?.ToJsonString());
        using var login = await http.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["username"] = handle,
            ["password"] = "correct horse battery",
        }));
        var token = (await login.Content.ReadFromJsonAsync<JsonObject>())?["access_token"]?.GetValue<string>();
        Assert.True(token is not null, $"log-in answered {(int)login.StatusCode}");
        return (id, token);
    }

    /// <summary>Stores confirmed retweet-mail settings directly: the address confirmation has its own tests.</summary>
    private async Task OptInAsync(Guid userId, string address)
    {
        await using var connection = new NpgsqlConnection(_emailDb);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "INSERT INTO email_settings (user_id, address, verified, notify_on_retweet, updated_at) VALUES ($1, $2, true, true, now())", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = userId });
        command.Parameters.Add(new NpgsqlParameter { Value = address });
        await command.ExecuteNonQueryAsync();
    }

    private async Task<string> TweetAsync(string token, string text)
    {
        using var http = Client(token);
        using var response = await http.PostAsJsonAsync("/tweets", new { text });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
    }

    private async Task<TweetRetweeted> StreamEventAsync(string retweetId)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        foreach (var entry in await redis.GetDatabase().StreamRangeAsync(TweetRetweetedStream.StreamName))
        {
            var data = entry[TweetRetweetedStream.DataField];
            var e = JsonSerializer.Deserialize(data.ToString(), ContractsJsonContext.Default.TweetRetweeted);
            if (e?.RetweetId == retweetId)
            {
                return e;
            }
        }

        throw new InvalidOperationException($"No entry of {TweetRetweetedStream.StreamName} is about retweet {retweetId}.");
    }

    private static Dictionary<string, string> With(Dictionary<string, string> shared, params (string Key, string Value)[] own)
    {
        var settings = new Dictionary<string, string>(shared);
        foreach (var (key, value) in own)
        {
            settings[key] = value;
        }

        return settings;
    }

    private string Folder(string prefix)
    {
        var folder = Directory.CreateTempSubdirectory(prefix).FullName;
        _folders.Add(folder);
        return folder;
    }

    private async Task<T> Own<T>(Task<T> starting) where T : IAsyncDisposable
    {
        var owned = await starting;
        _owned.Insert(0, owned);
        return owned;
    }

    public async Task DisposeAsync()
    {
        await OwnedResources.DisposeAllAsync(_owned);

        _assertionKeys.Dispose();
        _linkKeys.Dispose();
        foreach (var folder in _folders)
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
