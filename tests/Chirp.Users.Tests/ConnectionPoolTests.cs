using System.Diagnostics.Metrics;
using Chirp.Testing;
using Microsoft.Extensions.Options;

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
        var (connectionString, application) = BlockedUsersTable.Tag(users.ConnectionString, "chirp-pool");
        await using var host = await users.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Users"] = connectionString,
            [ServiceHost.DatabaseMaxPoolSizeKey] = PoolSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Database:MinPoolSize"] = "0",
            ["Database:Timeout"] = "00:02:00",
        });
        using var client = host.CreateClient();
        await using var table = await BlockedUsersTable.LockAsync(users.ConnectionString);

        using var pending = new PendingConnectionRequests(application);
        var requests = Enumerable.Range(0, Requests)
            .Select(i => client.PostGraphQLAsync("query($h: String!) { userByHandle(handle: $h) { id } }", new { h = $"nobody{i}" }))
            .ToList();

        // Wait until the pool is used up: its connections sit on the lock, and the other requests wait in Npgsql's pool
        // for one of them (its metric of requests waiting for a connection counts them).
        var blocked = 0L;
        await BlockedUsersTable.WaitAsync(async () =>
            (blocked = await table.CountAsync(application, onlyWaitingOnLock: true)) >= PoolSize && pending.Read() >= Requests - PoolSize);

        Assert.Equal(PoolSize, blocked);
        Assert.Equal(Requests - PoolSize, pending.Read());
        Assert.Equal(PoolSize, await table.CountAsync(application, onlyWaitingOnLock: false));
        Assert.All(requests, r => Assert.False(r.IsCompleted, "no request may finish (or fail) while the pool is used up"));

        await table.ReleaseAsync();
        var answers = await Task.WhenAll(requests);

        Assert.All(answers, a =>
        {
            Assert.Equal(200, a.Status);
            Assert.Empty(a.Errors);
            Assert.Null(a.Data!["userByHandle"]);
        });
        Assert.Equal(0, pending.Read());
    }

    [Fact]
    public async Task ARequestThatGetsNoConnectionWithinTheTimeoutIsUnavailableNotInternal()
    {
        var (connectionString, application) = BlockedUsersTable.Tag(users.ConnectionString, "chirp-pool");
        await using var host = await users.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Users"] = connectionString,
            [ServiceHost.DatabaseMaxPoolSizeKey] = "1",
            ["Database:MinPoolSize"] = "0",
            ["Database:Timeout"] = "00:00:01",
        });
        using var client = host.CreateClient();
        await using var table = await BlockedUsersTable.LockAsync(users.ConnectionString);

        var holder = client.PostGraphQLAsync("{ userByHandle(handle: \"nobody\") { id } }");
        await BlockedUsersTable.WaitAsync(async () => await table.CountAsync(application, onlyWaitingOnLock: true) > 0);

        var starved = await client.PostGraphQLAsync("{ userByHandle(handle: \"nobody\") { id } }");
        await table.ReleaseAsync();

        Assert.Equal(294, starved.Status);
        Assert.Equal(["UNAVAILABLE"], starved.ErrorCodes);
        Assert.DoesNotContain("Npgsql", starved.Body.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(200, (await holder).Status);
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

    /// <summary>
    /// Npgsql's <c>db.client.connection.npgsql.pending_requests</c> (an up-down counter: +1 when an open starts waiting
    /// for a free connection, -1 when it gets one) summed for the pool whose name holds the given application name.
    /// </summary>
    private sealed class PendingConnectionRequests : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _pending;

        public PendingConnectionRequests(string application)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Npgsql" && instrument.Name == "db.client.connection.npgsql.pending_requests")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "db.client.connection.pool.name" && tag.Value is string pool && pool.Contains(application, StringComparison.Ordinal))
                    {
                        Interlocked.Add(ref _pending, value);
                    }
                }
            }

            _listener.SetMeasurementEventCallback<int>((_, value, tags, _) => Record(value, tags));
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) => Record(value, tags));
            _listener.Start();
        }

        public long Read()
        {
            _listener.RecordObservableInstruments();
            return Interlocked.Read(ref _pending);
        }

        public void Dispose() => _listener.Dispose();
    }
}
