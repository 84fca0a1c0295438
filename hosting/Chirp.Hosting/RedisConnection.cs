using Microsoft.Extensions.Configuration;
using StackExchange.Redis;

namespace Chirp.Hosting;

/// <summary>
/// The process's one Redis connection (<c>ConnectionStrings:Redis</c>, StackExchange.Redis syntax), opened on first
/// use and never at start, so a service starts and is ready while Redis is down; <c>abortConnect</c> is forced off
/// so the multiplexer keeps reconnecting on its own.
/// </summary>
public sealed class RedisConnection(IConfiguration configuration) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ConnectionMultiplexer? _multiplexer;
    private Action<IConnectionMultiplexer>? _onConnected;

    /// <summary>
    /// Runs <paramref name="action"/> with the multiplexer once it exists (at once when it does already); the
    /// telemetry recipe uses it to trace Redis commands.
    /// </summary>
    public void OnConnected(Action<IConnectionMultiplexer> action)
    {
        _gate.Wait();
        try
        {
            if (_multiplexer is { } ready)
            {
                action(ready);
            }
            else
            {
                _onConnected += action;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The connected (or reconnecting) multiplexer.</summary>
    /// <exception cref="InvalidOperationException"><c>ConnectionStrings:Redis</c> is missing.</exception>
    public async Task<IConnectionMultiplexer> GetAsync(CancellationToken cancellationToken = default)
    {
        if (_multiplexer is { } ready)
        {
            return ready;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_multiplexer is null)
            {
                var options = ConfigurationOptions.Parse(configuration.GetConnectionString("Redis")
                    ?? throw new InvalidOperationException("ConnectionStrings:Redis is required."));
                options.AbortOnConnectFail = false;
                _multiplexer = await ConnectionMultiplexer.ConnectAsync(options);
                _onConnected?.Invoke(_multiplexer);
            }

            return _multiplexer;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_multiplexer is { } multiplexer)
        {
            await multiplexer.DisposeAsync();
        }

        _gate.Dispose();
    }
}
