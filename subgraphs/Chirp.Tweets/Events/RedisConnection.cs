using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chirp.Tweets.Events;

/// <summary>
/// The process's one StackExchange.Redis <see cref="ConnectionMultiplexer"/>, created on first use with
/// <c>abortConnect=false</c> and asynchronously: with Redis down, <c>ConnectionMultiplexer.Connect</c> blocks for its
/// connect timeout (about 10 s), which must not delay the start of the web host. Once created, the multiplexer keeps
/// reconnecting by itself; commands fail fast while Redis is away.
/// </summary>
public sealed class RedisConnection(IOptions<TweetsConnectionStrings> options) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private Task<ConnectionMultiplexer>? _connecting;

    /// <summary>The multiplexer; the first call starts connecting, later calls share it.</summary>
    public async Task<IConnectionMultiplexer> GetAsync()
    {
        lock (_gate)
        {
            if (_connecting is null)
            {
                var configuration = ConfigurationOptions.Parse(options.Value.Redis);
                configuration.AbortOnConnectFail = false;
                _connecting = ConnectionMultiplexer.ConnectAsync(configuration);
            }
        }

        return await _connecting;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Task<ConnectionMultiplexer>? connecting;
        lock (_gate)
        {
            connecting = _connecting;
        }

        if (connecting is not null)
        {
            await (await connecting).DisposeAsync();
        }
    }
}
