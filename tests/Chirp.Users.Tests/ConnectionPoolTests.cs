using Chirp.Testing;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Chirp.Users.Tests;

/// <summary>
/// The connection budget (README.md "Capacity"): a replica never opens more than <c>Database:MaxPoolSize</c>
/// connections, and requests beyond them wait for a free one (Npgsql's pool <c>Timeout</c>) instead of failing.
/// </summary>
[Collection(nameof(UsersCollection))]
public sealed class ConnectionPoolTests(UsersService users)
{
    private const int PoolSize = 2;
    private const int Requests = 12;

    [Fact]
    public async Task RequestsBeyondThePoolWaitForAConnectionAndAllSucceed()
    {
        var application = "chirp-pool-" + Guid.NewGuid().ToString("N")[..8];
        await using var host = await users.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Users"] = new NpgsqlConnectionStringBuilder(users.ConnectionString) { ApplicationName = application }.ConnectionString,
            [ServiceHost.DatabaseMaxPoolSizeKey] = PoolSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Database:MinPoolSize"] = "0",
            ["Database:Timeout"] = "00:02:00",
        });
        using var client = host.CreateClient();

        // Hold every reader of the table: the requests' queries block inside PostgreSQL, holding their connections.
        await using var admin = new NpgsqlConnection(users.ConnectionString);
        await admin.OpenAsync();
        await using var transaction = await admin.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE users IN ACCESS EXCLUSIVE MODE", admin, transaction))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        // pg_stat_activity is a snapshot per transaction, so it is read on a connection of its own.
        await using var monitor = new NpgsqlConnection(users.ConnectionString);
        await monitor.OpenAsync();

        var requests = Enumerable.Range(0, Requests)
            .Select(i => client.PostGraphQLAsync("query($h: String!) { userByHandle(handle: $h) { id } }", new { h = $"nobody{i}" }))
            .ToList();

        // Wait until the pool is used up: its connections sit on the lock, the other requests wait for one of them.
        var blocked = 0L;
        for (var attempt = 0; attempt < 600 && blocked < PoolSize; attempt++)
        {
            blocked = await CountAsync(monitor, application, onlyWaitingOnLock: true);
            if (blocked < PoolSize)
            {
                await Task.Delay(50);
            }
        }

        Assert.Equal(PoolSize, blocked);
        Assert.Equal(PoolSize, await CountAsync(monitor, application, onlyWaitingOnLock: false));
        Assert.All(requests, r => Assert.False(r.IsCompleted, "no request may finish (or fail) while the pool is used up"));

        await transaction.RollbackAsync();
        var answers = await Task.WhenAll(requests);

        Assert.All(answers, a =>
        {
            Assert.Equal(200, a.Status);
            Assert.Empty(a.Errors);
            Assert.Null(a.Data!["userByHandle"]);
        });
    }

    [Fact]
    public async Task AMissingPoolMaximumStopsTheStart()
    {
        await Assert.ThrowsAsync<OptionsValidationException>(() => users.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Users"] = users.ConnectionString,
            [ServiceHost.DatabaseMaxPoolSizeKey] = null,
        }));
    }

    private static async Task<long> CountAsync(NpgsqlConnection monitor, string application, bool onlyWaitingOnLock)
    {
        var sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = @app" +
            (onlyWaitingOnLock ? " AND wait_event_type = 'Lock'" : "");
        await using var command = new NpgsqlCommand(sql, monitor);
        command.Parameters.AddWithValue("app", application);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
