using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Chirp.EmailWorker;
using Chirp.Gateway;
using Chirp.Gateway.Federation;
using Chirp.Hosting;
using Chirp.Testing;
using Chirp.Tweets;
using Chirp.Users;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// The whole system on real servers: PostgreSQL, Redis and an SMTP sink on loopback, the three services and the
/// gateway in-process on free ports, wired exactly as in production. Tests talk to <see cref="Gateway"/>.
/// </summary>
public sealed class ChirpCluster : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];

    private Dictionary<string, string?> _gatewaySettings = [];

    private Dictionary<string, string?> _shared = [];

    public PostgresServer Postgres { get; private set; } = null!;

    public RedisServer Redis { get; private set; } = null!;

    public SmtpSink Smtp { get; private set; } = null!;

    public ServiceHost Users { get; private set; } = null!;

    public ServiceHost Tweets { get; private set; } = null!;

    public ServiceHost EmailWorker { get; private set; } = null!;

    public ServiceHost Gateway { get; private set; } = null!;

    /// <summary>Every request the gateway sent to a subgraph, in order.</summary>
    public SubgraphRequestLog SubgraphLog { get; } = new();

    public string TweetsConnectionString { get; private set; } = "";

    /// <summary>The gateway's access-token key folder; it holds one EC P-256 key, <c>test-key.pem</c> (kid <c>test-key</c>).</summary>
    public string KeyDirectory { get; private set; } = "";

    public string UsersConnectionString { get; private set; } = "";

    /// <summary>The identity-assertion key folder shared by the gateway and the services.</summary>
    public KeyFolder AssertionKeys { get; } = KeyFolder.Create();
    /// <summary>
    /// The public base URL in the links the email worker mails; <see cref="FollowMailedLinkAsync"/> sends them to the
    /// gateway instead, as a reverse proxy in front of it would.
    /// </summary>
    public const string PublicBaseUrl = "https://chirp.test";


    /// <summary>The email worker's link key folder.</summary>
    public KeyFolder LinkKeys { get; } = KeyFolder.Create();

    public async Task InitializeAsync()
    {
        Postgres = await PostgresServer.StartAsync();
        _owned.Add(Postgres);
        Redis = await RedisServer.StartAsync();
        _owned.Add(Redis);
        Smtp = await SmtpSink.StartAsync();
        _owned.Add(Smtp);

        UsersConnectionString = await Postgres.CreateDatabaseAsync("users");
        TweetsConnectionString = await Postgres.CreateDatabaseAsync("tweets");
        var emailDb = await Postgres.CreateDatabaseAsync("email");

        var keyDirectory = Directory.CreateTempSubdirectory("chirp-token-keys-").FullName;
        KeyDirectory = keyDirectory;
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            await File.WriteAllTextAsync(Path.Combine(keyDirectory, "test-key.pem"), key.ExportPkcs8PrivateKeyPem());
        }

        var dkimKeyFile = Path.Combine(keyDirectory, "..", Path.GetFileName(keyDirectory) + "-dkim.pem");
        using (var dkim = RSA.Create(2048))
        {
            await File.WriteAllTextAsync(dkimKeyFile, dkim.ExportPkcs8PrivateKeyPem());
        }

        var shared = new Dictionary<string, string?>
        {
            [AssertionKeys.Setting().Key] = AssertionKeys.Setting().Value,
            ["IdentityAssertion:KeyPollInterval"] = "00:00:00.500",
            ["ConnectionStrings:Redis"] = Redis.ConnectionString,
            ["Logging:LogLevel:Default"] = "Warning",
        };

        Users = await StartAsync("Chirp.Users", shared, new() { ["ConnectionStrings:Users"] = UsersConnectionString },
            b => b.AddUsersSubgraph(), a => a.MapUsersSubgraph(), UsersSubgraph.Commands);
        _shared = shared;
        Tweets = await StartTweetsAsync();
        EmailWorker = await StartAsync("Chirp.EmailWorker", shared, new()
        {
            ["ConnectionStrings:Email"] = emailDb,
            ["Smtp:Host"] = "127.0.0.1",
            ["Smtp:Port"] = Smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Smtp:From"] = "chirp@example.test",
            ["EmailLinks:PublicBaseUrl"] = PublicBaseUrl,
            [LinkKeys.Setting("EmailLinks").Key] = LinkKeys.Directory,
            ["EmailLinks:ConfirmationResendInterval"] = "00:00:00",
            ["Dkim:Domain"] = "example.test",
            ["Dkim:Selector"] = "test",
            ["Dkim:PrivateKeyFile"] = dkimKeyFile,
        },
            b => b.AddEmailWorker(), a => a.MapEmailWorker(), EmailWorkerService.Commands);

        _gatewaySettings = new Dictionary<string, string?>(shared)
        {
            ["Tokens:KeyDirectory"] = keyDirectory,
            ["Supergraph:Path"] = Path.Combine(RepoPaths.Root, "schema", "supergraph.graphql"),
            ["Subgraphs:users:Url"] = new Uri(Users.BaseAddress, "/graphql").ToString(),
            ["Subgraphs:tweets:Url"] = new Uri(Tweets.BaseAddress, "/graphql").ToString(),
            ["Subgraphs:notifications:Url"] = new Uri(EmailWorker.BaseAddress, "/graphql").ToString(),
        };
        Gateway = await StartGatewayAsync(new Dictionary<string, string?>());
    }

    /// <summary>Starts another gateway over the same services, with some settings changed (e.g. a subgraph URL).</summary>
    public async Task<ServiceHost> StartGatewayAsync(Dictionary<string, string?> overrides)
    {
        var settings = new Dictionary<string, string?>(_gatewaySettings);
        foreach (var (k, v) in overrides)
        {
            settings[k] = v;
        }

        var gateway = await ServiceHost.StartAsync("Chirp.Gateway", settings, b => b.AddGateway(), a => a.MapGateway(),
            services => services.AddHttpClient(HttpSubgraphTransport.HttpClientName).AddHttpMessageHandler(() => new RecordingHandler(SubgraphLog)));
        _owned.Insert(0, gateway);
        return gateway;
    }

    /// <summary>Starts another tweets subgraph replica on the same database and Redis; the caller may dispose it early.</summary>
    public async Task<ServiceHost> StartTweetsAsync()
    {
        var tweets = await StartAsync("Chirp.Tweets", _shared, new() { ["ConnectionStrings:Tweets"] = TweetsConnectionString },
            b => b.AddTweetsSubgraph(), a => a.MapTweetsSubgraph(), TweetsSubgraph.Commands);
        await tweets.Services.GetRequiredService<Chirp.Tweets.Events.RetweetFeed>().Subscribed.WaitAsync(TimeSpan.FromSeconds(30));
        return tweets;
    }

    /// <summary>Starts another users subgraph replica on the same database, with some settings changed (e.g. its limits).</summary>
    public Task<ServiceHost> StartUsersAsync(Dictionary<string, string?> overrides)
    {
        var own = new Dictionary<string, string?>(overrides) { ["ConnectionStrings:Users"] = UsersConnectionString };
        return StartAsync("Chirp.Users", _shared, own, b => b.AddUsersSubgraph(), a => a.MapUsersSubgraph(), UsersSubgraph.Commands);
    }

    private async Task<ServiceHost> StartAsync(
        string name,
        Dictionary<string, string?> shared,
        Dictionary<string, string?> own,
        Func<WebApplicationBuilder, WebApplicationBuilder> add,
        Func<WebApplication, WebApplication> map,
        IReadOnlyDictionary<string, ServiceCommand> commands)
    {
        var settings = new Dictionary<string, string?>(shared);
        foreach (var (k, v) in own)
        {
            settings[k] = v;
        }

        var host = await ServiceHost.StartAsync(name, settings, add, map);
        _owned.Insert(0, host);
        await using var scope = host.Services.CreateAsyncScope();
        var exit = await commands["migrate"](scope.ServiceProvider, [], CancellationToken.None);
        Assert.Equal(0, exit);
        return host;
    }

    public async Task DisposeAsync()
    {
        await OwnedResources.DisposeAllAsync(_owned);

        AssertionKeys.Dispose();
        LinkKeys.Dispose();
    }

    /// <summary>A client of the gateway, optionally with a bearer token.</summary>
    public HttpClient Client(string? accessToken = null)
    {
        var client = Gateway.CreateClient();
        if (accessToken is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }

        return client;
    }

    /// <summary>A fresh, unique handle (3-15 chars) with a readable prefix.</summary>
    public static string NewHandle(string prefix) => (prefix + "_" + Guid.NewGuid().ToString("N"))[..15];

    /// <summary>Posts a GraphQL operation to the gateway; returns status and body.</summary>
    public async Task<(HttpStatusCode Status, JsonObject Body)> GraphQLAsync(string? accessToken, string query, object? variables = null)
    {
        using var client = Client(accessToken);
        using var response = await client.PostAsJsonAsync("/graphql", new { query, variables });
        var body = await response.Content.ReadFromJsonAsync<JsonObject>() ?? [];
        return (response.StatusCode, body);
    }

    /// <summary>Signs a user up through the gateway and returns the id.</summary>
    public async Task<string> SignUpAsync(string handle, string displayName, string password = "correct horse battery")
    {
        var (status, body) = await GraphQLAsync(null,
            "mutation($input: SignUpInput!) { signUp(input: $input) { user { id handle } } }",
            new { input = new { handle, displayName, password } });
        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        return body["data"]!["signUp"]!["user"]!["id"]!.GetValue<string>();
    }

    /// <summary>Logs in with the password grant (at <paramref name="gateway"/>, by default the cluster's) and returns the access token.</summary>
    public async Task<string> LogInAsync(string handle, string password = "correct horse battery", ServiceHost? gateway = null)
    {
        using var client = (gateway ?? Gateway).CreateClient();
        using var response = await client.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["username"] = handle,
            ["password"] = password,
        }));
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        return body!["access_token"]!.GetValue<string>();
    }

    /// <summary>A signed-up, logged-in user.</summary>
    public async Task<TestUser> NewUserAsync(string prefix, string? displayName = null, string? email = null, bool notifyOnRetweet = false)
    {
        var handle = NewHandle(prefix);
        var id = await SignUpAsync(handle, displayName ?? prefix);
        var token = await LogInAsync(handle);
        if (email is not null || notifyOnRetweet)
        {
            var (status, body) = await GraphQLAsync(token,
                "mutation($input: UpdateEmailSettingsInput!) { updateEmailSettings(input: $input) { emailSettings { address verified notifyOnRetweet } } }",
                new { input = new { address = email, notifyOnRetweet } });
            Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        }

        if (email is not null)
        {
            // As a new user would: open the mailed link (a page with a button), then press the button.
            var mail = await Smtp.WaitForMailAsync(m => m.RcptTo.Contains(email) && m.Subject == "Confirm your address for Chirp mail", TimeSpan.FromSeconds(20));
            var link = System.Text.RegularExpressions.Regex.Match(mail.TextBody ?? "", "https://chirp\\.test/email/confirm\\?token=\\S+").Value;
            var (getStatus, _) = await FollowMailedLinkAsync(HttpMethod.Get, link);
            var (postStatus, page) = await FollowMailedLinkAsync(HttpMethod.Post, link);
            Assert.True(getStatus == HttpStatusCode.OK && postStatus == HttpStatusCode.OK, page);
        }

        return new TestUser(id, handle, displayName ?? prefix, token, email);
    }

    /// <summary>Sends a link the worker mailed (<c>https://chirp.test/email/...</c>) to the gateway, without a token; a POST carries RFC 8058's body.</summary>
    public async Task<(HttpStatusCode Status, string Page)> FollowMailedLinkAsync(HttpMethod method, string link)
    {
        Assert.StartsWith(PublicBaseUrl + "/email/", link, StringComparison.Ordinal);
        using var http = Gateway.CreateClient();
        using var request = new HttpRequestMessage(method, link[(PublicBaseUrl.Length + 1)..]);
        if (method == HttpMethod.Post)
        {
            request.Content = new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]);
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Posts a tweet over the REST shim and returns its id.</summary>
    public async Task<string> TweetAsync(TestUser user, string text)
    {
        using var client = Client(user.AccessToken);
        using var response = await client.PostAsJsonAsync("/tweets", new { text });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        return body!["id"]!.GetValue<string>();
    }

    /// <summary>Retweets over the REST shim and returns the retweet's id.</summary>
    public async Task<string> RetweetAsync(TestUser user, string tweetId)
    {
        using var client = Client(user.AccessToken);
        using var response = await client.PostAsync($"/tweets/{tweetId}/retweet", null);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        return body!["id"]!.GetValue<string>();
    }

    /// <summary>
    /// An access token signed with the gateway's test key for a user who need not exist, without a log-in: bulk
    /// tests use it to hold many subscriptions cheaply.
    /// </summary>
    public string MintAccessToken(string userId, string handle) =>
        Gateway.Services.GetRequiredService<Chirp.Gateway.Auth.TokenIssuer>()
            .Issue(new Chirp.Gateway.Auth.TokenSubject(userId, handle, handle, "tweets:write email:manage"), Guid.NewGuid().ToString("N")).Token;
}

/// <summary>A user created by a test, with a valid access token.</summary>
public sealed record TestUser(string Id, string Handle, string DisplayName, string AccessToken, string? Email);

/// <summary>One request the gateway sent to a subgraph.</summary>
public sealed record SubgraphCall(Uri Uri, string Body, IReadOnlyDictionary<string, string> Headers);

/// <summary>Thread-safe record of the gateway's subgraph requests.</summary>
public sealed class SubgraphRequestLog
{
    private readonly ConcurrentQueue<SubgraphCall> _calls = new();

    public IReadOnlyList<SubgraphCall> Calls => [.. _calls];

    public void Add(SubgraphCall call) => _calls.Enqueue(call);

    /// <summary>Calls made while <paramref name="action"/> ran (tests in one collection run one at a time).</summary>
    public async Task<IReadOnlyList<SubgraphCall>> DuringAsync(Func<Task> action)
    {
        var before = _calls.Count;
        await action();
        return [.. _calls.Skip(before)];
    }
}

internal sealed class RecordingHandler(SubgraphRequestLog log) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        var headers = request.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        log.Add(new SubgraphCall(request.RequestUri!, body, headers));
        return await base.SendAsync(request, cancellationToken);
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ChirpCluster>
{
    public const string Name = "cluster";
}
