using Npgsql;

namespace Chirp.Users.Tests;

/// <summary>
/// An exclusive lock on the <c>users</c> table, held in an open transaction until <see cref="ReleaseAsync"/>, so the
/// queries of a subgraph block inside PostgreSQL while holding their pooled connections. Connections are told apart
/// by their <c>application_name</c> (<see cref="Tag"/>); a second connection watches <c>pg_stat_activity</c>.
/// </summary>
internal sealed class BlockedUsersTable : IAsyncDisposable
{
    private readonly NpgsqlConnection _admin;
    private readonly NpgsqlTransaction _transaction;
    private readonly NpgsqlConnection _monitor;

    private BlockedUsersTable(NpgsqlConnection admin, NpgsqlTransaction transaction, NpgsqlConnection monitor)
    {
        _admin = admin;
        _transaction = transaction;
        _monitor = monitor;
    }

    /// <summary>The connection string with a fresh <c>application_name</c> (<c>prefix-xxxxxxxx</c>), and that name.</summary>
    public static (string ConnectionString, string Application) Tag(string connectionString, string prefix)
    {
        var application = prefix + "-" + Guid.NewGuid().ToString("N")[..8];
        return (new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = application }.ConnectionString, application);
    }

    /// <summary>Takes the lock (ACCESS EXCLUSIVE) on the database of <paramref name="connectionString"/>.</summary>
    public static async Task<BlockedUsersTable> LockAsync(string connectionString)
    {
        var admin = new NpgsqlConnection(connectionString);
        await admin.OpenAsync();
        var transaction = await admin.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE users IN ACCESS EXCLUSIVE MODE", admin, transaction))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        // pg_stat_activity is a snapshot per transaction, so it is read on a connection of its own.
        var monitor = new NpgsqlConnection(connectionString);
        await monitor.OpenAsync();
        return new BlockedUsersTable(admin, transaction, monitor);
    }

    /// <summary>Connections named <paramref name="application"/>: all of them, or only those waiting on a lock.</summary>
    public async Task<long> CountAsync(string application, bool onlyWaitingOnLock)
    {
        var sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = @app" +
            (onlyWaitingOnLock ? " AND wait_event_type = 'Lock'" : "");
        await using var command = new NpgsqlCommand(sql, _monitor);
        command.Parameters.AddWithValue("app", application);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Waits (up to 30 s) until <paramref name="until"/> holds, checking every 50 ms.</summary>
    public static async Task WaitAsync(Func<Task<bool>> until)
    {
        for (var attempt = 0; attempt < 600 && !await until(); attempt++)
        {
            await Task.Delay(50);
        }
    }

    /// <summary>Ends the transaction: the blocked queries go on.</summary>
    public Task ReleaseAsync() => _transaction.RollbackAsync();

    public async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync();
        await _admin.DisposeAsync();
        await _monitor.DisposeAsync();
    }
}
