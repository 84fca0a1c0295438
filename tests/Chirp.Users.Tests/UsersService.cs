using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.IdentityAssertions;
using Chirp.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Chirp.Users.Tests;

/// <summary>
/// One real PostgreSQL server with a migrated <c>users</c> database and one users subgraph running in-process
/// against it, shared by the tests of <see cref="UsersCollection"/>. Tests create their own users with unique
/// handles, so they do not depend on each other.
/// </summary>
public sealed class UsersService : IAsyncLifetime
{
    private readonly KeyFolder _keys = KeyFolder.Create();

    public PostgresServer Postgres { get; private set; } = null!;

    public ServiceHost Host { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public string ConnectionString { get; private set; } = null!;

    /// <summary>SQL texts of the commands the subgraph ran, in order (EF Core's command log).</summary>
    public SqlLog Sql { get; } = new();

    /// <summary>Signs assertions as the gateway would, with the key the subgraph trusts.</summary>
    public IdentityAssertionCodec Assertions { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Postgres = await PostgresServer.StartAsync();
        ConnectionString = await Postgres.CreateDatabaseAsync("users");
        Host = await StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Users"] = ConnectionString,
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore.Database.Command"] = "Information",
        }, services => services.AddSingleton<ILoggerProvider>(Sql));
        await UsersSubgraph.Commands["migrate"](Host.Services, [], CancellationToken.None);
        Client = Host.CreateClient();
        Assertions = _keys.Codec();
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
        await Postgres.DisposeAsync();
        _keys.Dispose();
    }

    /// <summary>
    /// Starts another users subgraph with these settings on top of the trusted assertion key folder (so each test can
    /// point one at a broken database, another key folder, or leave a setting out).
    /// </summary>
    public Task<ServiceHost> StartAsync(IDictionary<string, string?> settings, Action<IServiceCollection>? configureServices = null)
    {
        var all = new Dictionary<string, string?> { [_keys.Setting().Key] = _keys.Setting().Value };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        return ServiceHost.StartAsync("Chirp.Users", all, b => b.AddUsersSubgraph(), a => a.MapUsersSubgraph(), configureServices);
    }

    /// <summary>Signs with the trusted key, as a gateway whose clock shows <paramref name="time"/>.</summary>
    public IdentityAssertionCodec AssertionsAt(TimeProvider time) => _keys.Codec(time);

    /// <summary>The gateway's assertion for a signed-in user.</summary>
    public string UserAssertion(TestUser user, string scope = "tweets:write email:manage") =>
        Assertions.Sign(user.Id, user.Handle, user.DisplayName, scope);

    /// <summary>The gateway's own service assertion, as it sends it for the credentials check.</summary>
    public string ServiceAssertion(string scope = ChirpScopes.CredentialsVerify) =>
        Assertions.Sign("chirp-gateway", "chirp-gateway", "Chirp gateway", scope);

    /// <summary>Signs up a new user through the graph and returns it; fails the test if that does not work.</summary>
    public async Task<TestUser> SignUpAsync(string? handle = null, string displayName = "Test User", string password = "correct horse")
    {
        handle ??= NewHandle();
        var response = await Client.PostGraphQLAsync(
            "mutation($input: SignUpInput!) { signUp(input: $input) { user { id handle displayName createdAt } } }",
            new { input = new { handle, displayName, password } });
        Assert.Equal(200, response.Status);
        var user = response.Data!["signUp"]!["user"]!;
        return new TestUser((string)user["id"]!, (string)user["handle"]!, (string)user["displayName"]!, password);
    }

    /// <summary>A handle no other test uses: "t" and 12 random letters and digits.</summary>
    public static string NewHandle() => "t" + RandomNumberGenerator.GetHexString(12, lowercase: true);

    /// <summary>Runs one scalar SQL query against the users database.</summary>
    public async Task<T> QueryScalarAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }
}

/// <summary>A user a test signed up, with the password it chose.</summary>
public sealed record TestUser(string Id, string Handle, string DisplayName, string Password);

[CollectionDefinition(nameof(UsersCollection))]
public sealed class UsersCollection : ICollectionFixture<UsersService>;

/// <summary>Keeps the SQL of every database command the service logs (EF Core event 20101, CommandExecuted).</summary>
public sealed class SqlLog : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _commands = new();

    public IReadOnlyList<string> Commands => [.. _commands];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName == "Microsoft.EntityFrameworkCore.Database.Command" ? _commands : null);

    public void Dispose()
    {
    }

    private sealed class Logger(ConcurrentQueue<string>? commands) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => commands is not null;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (commands is not null && eventId.Id == 20101)
            {
                commands.Enqueue(formatter(state, exception));
            }
        }
    }
}

/// <summary>A GraphQL response as the test sees it.</summary>
public sealed record GraphQLResponse(int Status, JsonObject Body)
{
    public JsonNode? Data => Body["data"];

    public JsonArray Errors => Body["errors"]?.AsArray() ?? [];

    /// <summary>The <c>extensions.code</c> of each error, in order.</summary>
    public IReadOnlyList<string?> ErrorCodes => [.. Errors.Select(e => (string?)e!["extensions"]?["code"])];
}

public static class GraphQLHttpClientExtensions
{
    /// <summary>POSTs a GraphQL request to <c>/graphql</c>, with a <c>Chirp-Identity</c> header when given.</summary>
    public static async Task<GraphQLResponse> PostGraphQLAsync(this HttpClient client, string query, object? variables = null, string? assertion = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "graphql") { Content = JsonContent.Create(new { query, variables }) };
        if (assertion is not null)
        {
            request.Headers.Add(ChirpHeaders.Identity, assertion);
        }

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return new GraphQLResponse((int)response.StatusCode, JsonNode.Parse(body)!.AsObject());
    }
}
