using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chirp.Hosting;

/// <summary>Where Redis is: <c>ConnectionStrings:Redis</c>, a StackExchange.Redis configuration string.</summary>
public sealed class RedisOptions
{
    /// <summary>The configuration string, e.g. <c>redis:6379,password=...</c>.</summary>
    [Required(ErrorMessage = "ConnectionStrings:Redis is required (a StackExchange.Redis configuration string).")]
    public string? Configuration { get; set; }

    /// <summary>True when StackExchange.Redis can parse <paramref name="configuration"/>.</summary>
    public static bool IsValid(string? configuration)
    {
        try
        {
            _ = ConfigurationOptions.Parse(configuration ?? "");
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}

/// <summary>
/// The process's one Redis connection (<see cref="RedisOptions"/>), opened on first use and never at start, so a
/// service starts and is ready while Redis is down; <c>abortConnect</c> is forced off so the multiplexer keeps
/// reconnecting on its own.
/// </summary>
public sealed class RedisConnection(IOptions<RedisOptions> options) : IAsyncDisposable
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
                var configuration = ConfigurationOptions.Parse(options.Value.Configuration!);
                configuration.AbortOnConnectFail = false;
                _multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
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

/// <summary>The recipe of a service's Redis: one validated setting, one connection.</summary>
public static class ChirpRedis
{
    /// <summary>
    /// Registers <see cref="RedisOptions"/> from <c>ConnectionStrings:Redis</c>, validated at start (the app does not
    /// start without a parseable value: <see cref="OptionsValidationException"/>), and the one
    /// <see cref="RedisConnection"/>. Nothing here connects.
    /// </summary>
    public static IHostApplicationBuilder AddChirpRedis(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RedisOptions>()
            .Configure<IConfiguration>((o, configuration) => o.Configuration = configuration.GetConnectionString("Redis"))
            .ValidateDataAnnotations()
            .Validate(o => RedisOptions.IsValid(o.Configuration), "ConnectionStrings:Redis is not a StackExchange.Redis configuration string.")
            .ValidateOnStart();
        builder.Services.TryAddSingleton<RedisConnection>();
        return builder;
    }
}
