using Chirp.Testing;
using MailKit.Net.Smtp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Npgsql;
using StackExchange.Redis;

namespace Chirp.Deployment.Tests;

/// <summary>The test fixtures that every other test project relies on.</summary>
public sealed class FixtureTests
{
    [Fact]
    public async Task PostgresServerStartsAndCreatesDatabases()
    {
        await using var server = await PostgresServer.StartAsync();

        var users = await server.CreateDatabaseAsync("users");
        var tweets = await server.CreateDatabaseAsync("tweets");

        foreach (var (connectionString, name) in new[] { (users, "users"), (tweets, "tweets") })
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT current_database(), current_setting('fsync'), current_setting('server_version_num')::int", connection);
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(name, reader.GetString(0));
            Assert.Equal("off", reader.GetString(1));
            Assert.InRange(reader.GetInt32(2), 150000, 159999);
        }

        Assert.Contains($"Port={server.Port}", users, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostgresServerDeletesItsFolderWhenDisposed()
    {
        var server = await PostgresServer.StartAsync();
        var port = server.Port;
        Assert.True(await FreePort.IsListeningAsync(port));

        await server.DisposeAsync();

        Assert.False(await FreePort.IsListeningAsync(port));
        var root = Environment.GetEnvironmentVariable("CHIRP_TEST_TMPDIR") is { Length: > 0 } custom ? custom : "/var/tmp/chirp-tests";
        Assert.DoesNotContain(Directory.EnumerateFiles(root, "postmaster.opts", SearchOption.AllDirectories),
            f => File.ReadAllText(f).Contains($"-p {port}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RedisServerRestartsOnTheSamePort()
    {
        await using var server = await RedisServer.StartAsync();
        var port = server.Port;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var db = redis.GetDatabase();
        await db.StringSetAsync("greeting", "hello");
        Assert.Equal("hello", (string?)await db.StringGetAsync("greeting"));

        await server.StopAsync();
        Assert.False(server.IsRunning);
        Assert.False(await FreePort.IsListeningAsync(port));
        await Assert.ThrowsAnyAsync<RedisException>(() => db.PingAsync());

        await server.StartAgainAsync();
        Assert.Equal(port, server.Port);
        await WaitUntilAsync(async () =>
        {
            try
            {
                await db.PingAsync();
                return true;
            }
            catch (RedisException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20));
        Assert.False((await db.StringGetAsync("greeting")).HasValue);
    }

    [Fact]
    public async Task SmtpSinkCapturesMailAndCanFailOnce()
    {
        await using var sink = await SmtpSink.StartAsync();
        sink.FailNext(1);
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Chirp", "chirp@localhost"));
        message.To.Add(new MailboxAddress("Zoë Ångström", "alice@example.test"));
        message.Subject = "Grüße ☕";
        message.Body = new TextPart("plain") { Text = "bob retweeted your tweet" };

        using var client = new SmtpClient();
        await client.ConnectAsync(sink.Host, sink.Port, MailKit.Security.SecureSocketOptions.None);
        var failure = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(message));
        Assert.Equal(451, (int)failure.StatusCode);
        Assert.Empty(sink.Messages);
        Assert.Equal(1, sink.RejectedCount);

        await client.SendAsync(message, new MailboxAddress("", "bounces@localhost"), [new MailboxAddress("", "alice@example.test"), new MailboxAddress("", "audit@example.test")]);
        await client.DisconnectAsync(quit: true);

        var mail = await sink.WaitForMailToAsync("alice@example.test", TimeSpan.FromSeconds(5));
        Assert.Equal("bounces@localhost", mail.MailFrom);
        Assert.Equal(["alice@example.test", "audit@example.test"], mail.RcptTo);
        Assert.Equal("Grüße ☕", mail.Subject);
        Assert.Equal("bob retweeted your tweet", mail.TextBody?.TrimEnd());
        Assert.All(mail.Raw, b => Assert.True(b < 128));
        await sink.AssertNoMailAsync(m => m.RcptTo.Contains("bob@example.test"), TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAsync<MailAssertionException>(() => sink.AssertNoMailAsync(m => m.Subject == "Grüße ☕", TimeSpan.FromMilliseconds(100)));
        await Assert.ThrowsAsync<MailAssertionException>(() => sink.WaitForMailToAsync("nobody@example.test", TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task ServiceHostServesTheAppOnAFreePortWithTheGivenSettings()
    {
        await using var host = await ServiceHost.StartAsync(
            "Chirp.Fixture",
            new Dictionary<string, string?> { ["Greeting"] = "hello" },
            b => b,
            app =>
            {
                app.MapGet("/greeting", (IConfiguration config, IHostEnvironmentProbe probe) => Results.Text($"{config["Greeting"]} from {probe.Name}"));
                return app;
            },
            services => services.AddSingleton<IHostEnvironmentProbe>(new HostEnvironmentProbe("Testing")));

        Assert.Equal("127.0.0.1", host.BaseAddress.Host);
        Assert.NotEqual(0, host.BaseAddress.Port);
        using var client = host.CreateClient();
        Assert.Equal("hello from Testing", await client.GetStringAsync("/greeting"));

        await host.StopAsync();
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetStringAsync("/greeting"));
    }

    [Fact]
    public void RepoPathsFindsTheSchemaFiles()
    {
        Assert.True(File.Exists(Path.Combine(RepoPaths.Root, "Chirp.sln")));
        Assert.True(File.Exists(RepoPaths.Combine("schema", "supergraph.graphql")));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not become true in time.");
            await Task.Delay(100);
        }
    }

    private interface IHostEnvironmentProbe
    {
        string Name { get; }
    }

    private sealed record HostEnvironmentProbe(string Name) : IHostEnvironmentProbe;
}
