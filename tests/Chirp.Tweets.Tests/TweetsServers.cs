using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.IdentityAssertions;
using Chirp.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using StackExchange.Redis;

namespace Chirp.Tweets.Tests;

/// <summary>Test classes that share one PostgreSQL server, one Redis server and one tweets subgraph.</summary>
[CollectionDefinition(Name)]
public sealed class TweetsCollection : ICollectionFixture<TweetsServers>
{
    public const string Name = "tweets";
}

/// <summary>A user of the tests: a fresh id and handle per test, so tests never see each other's data.</summary>
public sealed record TestUser(Guid Id, string Handle, string DisplayName)
{
    public string IdText => Id.ToString("D");

    public static TestUser New(string name) =>
        new(Guid.CreateVersion7(), name + "_" + Guid.NewGuid().ToString("N")[..6], char.ToUpperInvariant(name[0]) + name[1..]);
}

/// <summary>
/// Real PostgreSQL and Redis servers plus one tweets subgraph started in-process the way <c>Program.cs</c> starts it
/// (same <c>AddTweetsSubgraph</c>/<c>MapTweetsSubgraph</c>), and helpers to start more subgraphs on other databases.
/// </summary>
public sealed class TweetsServers : IAsyncLifetime
{
    private readonly KeyFolder _keys = KeyFolder.Create();
    private int _databases;

    public PostgresServer Postgres { get; private set; } = null!;

    public RedisServer Redis { get; private set; } = null!;

    /// <summary>A client of <see cref="Redis"/> for assertions (XRANGE, SUBSCRIBE).</summary>
    public ConnectionMultiplexer RedisClient { get; private set; } = null!;

    /// <summary>The shared subgraph, on database <see cref="TweetsConnectionString"/> and <see cref="Redis"/>.</summary>
    public ServiceHost Tweets { get; private set; } = null!;

    public string TweetsConnectionString { get; private set; } = "";

    /// <summary>Signs identity assertions the way the gateway does, with the key the subgraphs trust.</summary>
    public IdentityAssertionCodec Assertions { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var postgres = PostgresServer.StartAsync();
        var redis = RedisServer.StartAsync();
        Postgres = await postgres;
        Redis = await redis;
        RedisClient = await ConnectionMultiplexer.ConnectAsync(Redis.ConnectionString);
        Assertions = _keys.Codec();
        TweetsConnectionString = await NewDatabaseAsync();
        Tweets = await StartTweetsAsync(TweetsConnectionString, Redis.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await Tweets.DisposeAsync();
        await RedisClient.DisposeAsync();
        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
        _keys.Dispose();
    }

    /// <summary>Subgraph settings: connection strings, the assertion key and a fast outbox poll.</summary>
    public Dictionary<string, string?> Settings(string tweetsConnectionString, string redisConnectionString) => new()
    {
        ["ConnectionStrings:Tweets"] = tweetsConnectionString,
        ["ConnectionStrings:Redis"] = redisConnectionString,
        [_keys.Setting().Key] = _keys.Setting().Value,
        ["Outbox:PollInterval"] = "00:00:00.200",
        ["Outbox:FirstRetryDelay"] = "00:00:00.100",
        ["Outbox:MaxRetryDelay"] = "00:00:01",
        [ServiceHost.DatabaseMaxPoolSizeKey] = ServiceHost.DatabaseMaxPoolSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Creates a database and applies the migrations with the subgraph's own <c>migrate</c> command.</summary>
    public async Task<string> NewDatabaseAsync()
    {
        var connectionString = await Postgres.CreateDatabaseAsync($"tweets_{Interlocked.Increment(ref _databases)}");
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(Settings(connectionString, Redis.ConnectionString));
        builder.AddTweetsSubgraph();
        await using var app = builder.Build();
        await using var scope = app.Services.CreateAsyncScope();
        Assert.Equal(0, await TweetsSubgraph.Commands["migrate"](scope.ServiceProvider, [], CancellationToken.None));
        return connectionString;
    }

    /// <summary>
    /// Starts another tweets subgraph in-process; <paramref name="overrides"/> change or add settings,
    /// <paramref name="configureServices"/> adds services (a log capture, say).
    /// </summary>
    public Task<ServiceHost> StartTweetsAsync(
        string tweetsConnectionString, string redisConnectionString, IDictionary<string, string?>? overrides = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var settings = Settings(tweetsConnectionString, redisConnectionString);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return ServiceHost.StartAsync("Chirp.Tweets", settings, b => b.AddTweetsSubgraph(), a => a.MapTweetsSubgraph(), configureServices);
    }

    /// <summary>An identity assertion for <paramref name="user"/> with the given scopes.</summary>
    public string AssertionFor(TestUser user, string scope = $"{ChirpScopes.TweetsWrite} {ChirpScopes.EmailManage}") =>
        Assertions.Sign(user.IdText, user.Handle, user.DisplayName, scope);

    /// <summary>POSTs a GraphQL request to <paramref name="host"/> (default: the shared subgraph) and returns the response body.</summary>
    public async Task<JsonObject> GraphQLAsync(string query, object? variables = null, TestUser? user = null,
        string? scope = null, ServiceHost? host = null)
    {
        using var http = (host ?? Tweets).CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "graphql")
        {
            Content = JsonContent.Create(new { query, variables }),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (user is not null)
        {
            request.Headers.Add(ChirpHeaders.Identity, scope is null ? AssertionFor(user) : AssertionFor(user, scope));
        }

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode is System.Net.HttpStatusCode.OK or (System.Net.HttpStatusCode)294,
            $"HTTP {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>Creates a tweet as <paramref name="user"/> and returns its id.</summary>
    public async Task<string> CreateTweetAsync(TestUser user, string text, ServiceHost? host = null)
    {
        var result = await GraphQLAsync("mutation($t: String!) { createTweet(input: {text: $t}) { tweet { id } } }", new { t = text }, user, host: host);
        return result.Data("createTweet", "tweet", "id");
    }

    /// <summary>Retweets as <paramref name="user"/>; returns (retweet id, created).</summary>
    public async Task<(string Id, bool Created)> RetweetAsync(TestUser user, string tweetId, ServiceHost? host = null)
    {
        var result = await GraphQLAsync("mutation($id: ID!) { retweet(input: {tweetId: $id}) { created tweet { id } } }", new { id = tweetId }, user, host: host);
        Assert.Null(result["errors"]);
        return (result.Data("retweet", "tweet", "id"), result["data"]!["retweet"]!["created"]!.GetValue<bool>());
    }

    /// <summary>Runs a scalar SQL query on a tweets database (default: the shared one).</summary>
    public async Task<T> ScalarAsync<T>(string sql, string? connectionString = null, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString ?? TweetsConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The entries of the <c>tweet-retweeted</c> stream whose data names <paramref name="retweetId"/>.</summary>
    public static async Task<StreamEntry[]> StreamEntriesForAsync(IConnectionMultiplexer redis, string retweetId)
    {
        var entries = await redis.GetDatabase().StreamRangeAsync(TweetRetweetedStream.StreamName);
        return entries.Where(e => ((string?)e[TweetRetweetedStream.DataField])?.Contains(retweetId, StringComparison.Ordinal) == true).ToArray();
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition())
            {
                return true;
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }
    }
}

/// <summary>Reading GraphQL responses.</summary>
public static class GraphQLResponse
{
    /// <summary>The string at <c>data.path...</c>.</summary>
    public static string Data(this JsonObject response, params string[] path)
    {
        JsonNode? node = response["data"];
        foreach (var p in path)
        {
            node = node?[p];
        }

        return node?.GetValue<string>() ?? throw new Xunit.Sdk.XunitException($"No data at {string.Join('.', path)}: {response.ToJsonString()}");
    }

    /// <summary>The <c>extensions.code</c> of the only error, after checking its path.</summary>
    public static string SingleErrorCode(this JsonObject response, params object[] path)
    {
        var errors = response["errors"]?.AsArray() ?? throw new Xunit.Sdk.XunitException("No errors: " + response.ToJsonString());
        var error = Assert.Single(errors)!;
        Assert.Equal(new JsonArray(path.Select(p => p is int i ? JsonValue.Create(i) : (JsonNode)JsonValue.Create((string)p)).ToArray()).ToJsonString(),
            error["path"]?.ToJsonString());
        return error["extensions"]!["code"]!.GetValue<string>();
    }

    /// <summary>A string of <paramref name="count"/> copies of <paramref name="unit"/>.</summary>
    public static string Repeat(string unit, int count) => new StringBuilder().Insert(0, unit, count).ToString();
}
