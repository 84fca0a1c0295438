using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chirp.EmailWorker.Events;

/// <summary>
/// The one Redis multiplexer of the process, opened on first use with <c>abortConnect=false</c> so that a Redis
/// that is down at start (or restarts later) only delays the consumer: the multiplexer keeps reconnecting and
/// re-subscribes its channels by itself.
/// </summary>
public sealed class RedisConnection(IOptions<ConnectionStringsOptions> options) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ConnectionMultiplexer? _multiplexer;

    /// <summary>The connected (or reconnecting) multiplexer.</summary>
    public async Task<IConnectionMultiplexer> GetAsync(CancellationToken cancellationToken)
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
                var configuration = ConfigurationOptions.Parse(options.Value.Redis);
                configuration.AbortOnConnectFail = false;
                _multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
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
