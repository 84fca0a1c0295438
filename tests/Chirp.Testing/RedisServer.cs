using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Chirp.Testing;

/// <summary>
/// A throw-away Redis server (<c>redis-server</c> from the machine's packages) on a free loopback port, with
/// no persistence. It can be stopped and started again on the same port to test behaviour while Redis is down
/// or restarts (data does not survive a restart). The server stops when the fixture is disposed or the test
/// process dies.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    // The server runs in the background; a watcher waits for end-of-file on stdin (the fixture closed it, or
    // the test process died) and then stops it.
    private const string GuardScript = """
        exec 3<&0
        "$@" </dev/null 3<&- &
        child=$!
        { cat >/dev/null; kill -TERM "$child" 2>/dev/null; } <&3 >/dev/null 2>&1 &
        exec 3<&-
        wait "$child"
        """;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private GuardedScript? _guard;
    private string? _dataDirectory;

    private RedisServer(int port) => Port = port;

    /// <summary>The TCP port on 127.0.0.1; stays the same across <see cref="StopAsync"/> and <see cref="StartAgainAsync"/>.</summary>
    public int Port { get; private set; }

    /// <summary>StackExchange.Redis configuration string: <c>127.0.0.1:port,abortConnect=false</c>.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false";

    /// <summary>True between a start and a stop.</summary>
    public bool IsRunning => _guard is not null;

    /// <summary>
    /// Starts <c>redis-server</c> and waits until it answers <c>PING</c>. Throws
    /// <see cref="InvalidOperationException"/> when <c>redis-server</c> is missing or does not start.
    /// </summary>
    public static async Task<RedisServer> StartAsync(CancellationToken ct = default) => await StartAsync(appendOnly: false, ct);

    /// <summary>
    /// Like <see cref="StartAsync(CancellationToken)"/>; with <paramref name="appendOnly"/> the server keeps an append-only
    /// file (fsync on every write) in a folder of its own, so a stop and <see cref="StartAgainAsync"/> keep the data.
    /// </summary>
    public static async Task<RedisServer> StartAsync(bool appendOnly, CancellationToken ct = default)
    {
        string? lastOutput = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var server = new RedisServer(FreePort.Next())
            {
                _dataDirectory = appendOnly ? Directory.CreateTempSubdirectory("chirp-redis-aof-").FullName : null,
            };
            var (started, output) = await server.TryStartAsync(ct);
            if (started)
            {
                return server;
            }

            // Most likely another process took the port first: try another one.
            lastOutput = output;
        }

        throw new InvalidOperationException(
            "redis-server did not start. Install it with 'apt-get install -y redis-server' (scripts/test does this)." +
            Environment.NewLine + lastOutput);
    }

    /// <summary>Stops the server (SIGTERM; no data is saved unless it keeps an append-only file). Does nothing when it is stopped already.</summary>
    public async Task StopAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_guard is { } guard)
            {
                _guard = null;
                await guard.DisposeAsync();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Starts the server again on the same port, empty (or with the data of its append-only file), and waits until it answers <c>PING</c>. Does nothing
    /// when it runs already.
    /// </summary>
    public async Task StartAgainAsync(CancellationToken ct = default)
    {
        string? output = null;
        for (var attempt = 0; attempt < 20; attempt++)
        {
            bool started;
            (started, output) = await TryStartAsync(ct);
            if (started)
            {
                return;
            }

            await Task.Delay(250, ct);
        }

        throw new InvalidOperationException($"redis-server did not start again on port {Port}.{Environment.NewLine}{output}");
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _gate.Dispose();
    }

    private async Task<(bool Started, string Output)> TryStartAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (_guard is not null)
            {
                return (true, "");
            }

            GuardedScript guard;
            try
            {
                string[] persistence = _dataDirectory is null
                    ? ["--appendonly", "no"]
                    : ["--appendonly", "yes", "--appendfsync", "always", "--dir", _dataDirectory];
                guard = GuardedScript.Start(GuardScript,
                    ["redis-server", "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", .. persistence, "--loglevel", "warning"]);
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                return (false, e.Message);
            }

            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (DateTime.UtcNow < deadline && !guard.Exited.IsCompleted)
            {
                if (await PingAsync(Port, ct))
                {
                    _guard = guard;
                    return (true, "");
                }

                await Task.Delay(20, ct);
            }

            var output = guard.Output;
            await guard.DisposeAsync();
            return (false, output);
        }
        finally
        {
            _gate.Release();
        }
    }

    private static async Task<bool> PingAsync(int port, CancellationToken ct)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return false;
        }
    }
}
