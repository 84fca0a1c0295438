using Npgsql;

namespace Chirp.Testing;

/// <summary>
/// A throw-away PostgreSQL 15 server on a free loopback port, for tests that need real PostgreSQL behaviour.
/// Its data lives under <c>/var/tmp/chirp-tests</c> (override with <c>CHIRP_TEST_TMPDIR</c>), tuned for speed
/// over durability (<c>fsync=off</c>), and is deleted when the server is disposed. Runs the server as the
/// <c>postgres</c> user when the tests run as root (PostgreSQL refuses root).
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    /// <summary>The test server's <c>max_connections</c>, the budget of the test fixtures' pools.</summary>
    public const int MaxConnections = 300;

    /// <summary>Where the server binaries are looked for unless <c>CHIRP_PG_BIN</c> names another folder.</summary>
    public const string DefaultBinDirectory = "/usr/lib/postgresql/15/bin";

    private const string ReadyLine = "chirp-postgres-ready";

    // Waits for end-of-file on stdin (the fixture closed it, or the test process died), then stops the
    // server at once and deletes its folder.
    private const string GuardScript = """
        pg_ctl="$1"; data="$2"; port="$3"; sock="$4"; log="$5"; dir="$6"; shift 6
        "$@" "$pg_ctl" -D "$data" -l "$log" -w -t 60 -o "-p $port -k $sock" start </dev/null || exit 1
        echo chirp-postgres-ready
        cat >/dev/null
        "$@" "$pg_ctl" -D "$data" -m immediate -w stop </dev/null >/dev/null 2>&1
        rm -rf "$dir"
        """;

    private readonly GuardedScript _guard;
    private readonly string _directory;
    private int _disposed;

    private PostgresServer(GuardedScript guard, string directory, int port)
    {
        _guard = guard;
        _directory = directory;
        Port = port;
    }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Connection string for the <c>postgres</c> maintenance database (user postgres, no password).</summary>
    public string AdminConnectionString => ConnectionStringFor("postgres");

    /// <summary>
    /// Creates a fresh database with the folder's PostgreSQL 15 binaries, starts it and waits until it accepts
    /// connections (about a second). Throws <see cref="InvalidOperationException"/> when the binaries are
    /// missing or the server does not start, with the server's log in the message.
    /// </summary>
    public static async Task<PostgresServer> StartAsync(CancellationToken ct = default)
    {
        var bin = Environment.GetEnvironmentVariable("CHIRP_PG_BIN") is { Length: > 0 } custom ? custom : DefaultBinDirectory;
        var initdb = Path.Combine(bin, "initdb");
        var pgCtl = Path.Combine(bin, "pg_ctl");
        if (!File.Exists(initdb) || !File.Exists(pgCtl))
        {
            throw new InvalidOperationException(
                $"PostgreSQL 15 server binaries (initdb, pg_ctl) were not found in '{bin}'. " +
                "Install them with 'apt-get install -y postgresql' on Debian 12 (scripts/test does this), " +
                "or set CHIRP_PG_BIN to a folder that holds them.");
        }

        var root = TestFolders.Root();
        await CleanUpAbandonedServersAsync(root, pgCtl);

        var directory = Path.Combine(root, "pg-" + Guid.NewGuid().ToString("N")[..12]);
        var data = Path.Combine(directory, "data");
        var sockets = Path.Combine(directory, "sock");
        var log = Path.Combine(directory, "server.log");
        try
        {
            Directory.CreateDirectory(sockets);
            await TestFolders.ClaimForPostgresAsync(directory, ct);

            // initdb costs about a second of CPU; copying a cluster made once per test process costs a tenth.
            var template = await Template.GetAsync(root, initdb, ct);
            await ChildProcesses.RunCheckedAsync("cp", ["-a", template, data], ct);

            string? lastOutput = null;
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var port = FreePort.Next();
                var prefix = ChildProcesses.IsRoot ? new[] { "runuser", "-u", "postgres", "--" } : [];
                var guard = GuardedScript.Start(GuardScript, [pgCtl, data, port.ToString(), sockets, log, directory, .. prefix]);
                if (await guard.WaitForLineAsync(ReadyLine, TimeSpan.FromSeconds(90), ct))
                {
                    return new PostgresServer(guard, directory, port);
                }

                // Most likely another process took the port between FreePort.Next() and the bind: try another.
                lastOutput = guard.Output + Environment.NewLine + ReadTail(log);
                await guard.DisposeAsync();
            }

            throw new InvalidOperationException($"PostgreSQL did not start in '{data}':{Environment.NewLine}{lastOutput}");
        }
        catch
        {
            TryDelete(directory);
            throw;
        }
    }

    /// <summary>
    /// Creates the database <paramref name="name"/> (quoted as given; fails when it exists) and returns an Npgsql
    /// connection string for it: <c>Host=127.0.0.1;Port=...;Database=name;Username=postgres</c>.
    /// </summary>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"CREATE DATABASE \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
        await command.ExecuteNonQueryAsync(ct);
        return ConnectionStringFor(name);
    }

    /// <summary>The connection string of an existing database on this server.</summary>
    public string ConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Database = database,
        Username = "postgres",
        IncludeErrorDetail = true,
    }.ConnectionString;

    /// <summary>Stops the server immediately (<c>pg_ctl stop -m immediate</c>) and deletes its folder.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _guard.DisposeAsync();
        TryDelete(_directory);
    }

    /// <summary>
    /// Stops servers whose test process died without disposing them (a killed test host) and deletes their
    /// folders, so abandoned servers do not pile up on developer machines.
    /// </summary>
    private static async Task CleanUpAbandonedServersAsync(string root, string pgCtl)
    {
        foreach (var directory in Directory.EnumerateDirectories(root, "pg-*"))
        {
            try
            {
                var ownerFile = Path.Combine(directory, TestFolders.OwnerFile);
                if (File.Exists(ownerFile)
                    ? int.TryParse(await File.ReadAllTextAsync(ownerFile), out var owner) && TestFolders.IsAlive(owner)
                    : Directory.GetLastWriteTimeUtc(directory) > DateTime.UtcNow.AddHours(-1))
                {
                    // Still in use, or (without an owner file) possibly being created right now.
                    continue;
                }

                var data = Path.Combine(directory, "data");
                if (File.Exists(Path.Combine(data, "postmaster.pid")))
                {
                    var (file, args) = ChildProcesses.AsUser("postgres", pgCtl, "-D", data, "-m", "immediate", "-w", "stop");
                    await ChildProcesses.RunAsync(file, args);
                }

                TryDelete(directory);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                // Best effort: another test process may be cleaning up the same folder.
            }
        }
    }

    private static string ReadTail(string path)
    {
        try
        {
            return File.Exists(path) ? string.Join(Environment.NewLine, File.ReadLines(path).TakeLast(30)) : "";
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static void TryDelete(string directory) => TestFolders.TryDelete(directory);
}

/// <summary>A freshly initialised, never started cluster that <see cref="PostgresServer"/> copies.</summary>
internal static class Template
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _path;

    // Held for the life of the process: its pipe closing is what deletes the template.
    private static GuardedScript? _remover;

    /// <summary>Runs initdb once per test process and returns the data folder.</summary>
    public static async Task<string> GetAsync(string root, string initdb, CancellationToken ct)
    {
        await Gate.WaitAsync(ct);
        try
        {
            if (_path is not null && Directory.Exists(_path))
            {
                return _path;
            }

            var directory = Path.Combine(root, "pg-template-" + Guid.NewGuid().ToString("N")[..12]);
            var data = Path.Combine(directory, "data");
            Directory.CreateDirectory(directory);
            await TestFolders.ClaimForPostgresAsync(directory, ct);

            var (file, args) = ChildProcesses.AsUser("postgres", initdb,
                "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions");
            await ChildProcesses.RunCheckedAsync(file, args, ct);

            // Speed over durability: the data is thrown away after the test run.
            await File.AppendAllTextAsync(Path.Combine(data, "postgresql.conf"), $"""

                listen_addresses = '127.0.0.1'
                fsync = off
                synchronous_commit = off
                full_page_writes = off
                wal_level = minimal
                max_wal_senders = 0
                max_connections = {PostgresServer.MaxConnections}
                shared_buffers = 32MB
                log_min_messages = warning
                timezone = 'UTC'

                """, ct);
            // Deleted by a separate process once this one exits (however it exits): the pipe to it closes then.
            // A ProcessExit handler is not enough, the test host may be killed while it runs.
            _remover = GuardedScript.Start("cat >/dev/null; rm -rf \"$1\"", directory);
            _path = data;
            return data;
        }
        finally
        {
            Gate.Release();
        }
    }
}

/// <summary>The scratch folder that fixtures put server data in.</summary>
internal static class TestFolders
{
    /// <summary>rwxr-xr-x: the <c>postgres</c> user must be able to traverse every parent of its data folder.</summary>
    public const UnixFileMode Traversable =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>
    /// <c>$CHIRP_TEST_TMPDIR</c> or <c>/var/tmp/chirp-tests</c>, created world-writable with the sticky bit
    /// (like <c>/tmp</c>) so that root and non-root runs can share it.
    /// </summary>
    public static string Root()
    {
        var root = Environment.GetEnvironmentVariable("CHIRP_TEST_TMPDIR") is { Length: > 0 } custom ? custom : "/var/tmp/chirp-tests";
        if (!Directory.Exists(root))
        {
            Directory.CreateDirectory(root);
            try
            {
                if (OperatingSystem.IsWindows())
                {
                    return root;
                }

                File.SetUnixFileMode(root, Traversable | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.StickyBit);
            }
            catch (UnauthorizedAccessException)
            {
                // Created concurrently by another user: its mode is already right.
            }
        }

        return root;
    }

    /// <summary>The file in a server folder that names the test process owning it.</summary>
    public const string OwnerFile = "owner";

    /// <summary>
    /// Makes the new folder <paramref name="directory"/> a server folder: traversable, with an <see cref="OwnerFile"/>
    /// naming this process (the next run's clean-up spares folders of live owners), and owned by the <c>postgres</c>
    /// user when running as root, since PostgreSQL refuses to run as root.
    /// </summary>
    public static async Task ClaimForPostgresAsync(string directory, CancellationToken ct)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory, Traversable);
        }

        await File.WriteAllTextAsync(Path.Combine(directory, OwnerFile), Environment.ProcessId.ToString(), ct);
        if (ChildProcesses.IsRoot)
        {
            await ChildProcesses.RunCheckedAsync("chown", ["-R", "postgres:postgres", directory], ct);
        }
    }

    /// <summary>
    /// Deletes a server folder, its <c>owner</c> file last, so that a deletion cut short (a test host killed
    /// while exiting) still leaves the marker the next run's clean-up looks for.
    /// </summary>
    public static void TryDelete(string directory)
    {
        try
        {
            if (!Directory.Exists(directory))
            {
                return;
            }

            foreach (var child in Directory.EnumerateDirectories(directory))
            {
                Directory.Delete(child, recursive: true);
            }

            foreach (var file in Directory.EnumerateFiles(directory).OrderBy(f => Path.GetFileName(f) == OwnerFile))
            {
                File.Delete(file);
            }

            Directory.Delete(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next run's clean-up.
        }
    }

    /// <summary>True when a process with this id exists.</summary>
    public static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}");
}
