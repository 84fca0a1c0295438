using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Chirp.Testing;

/// <summary>
/// A Chirp service running in-process on a free loopback port, wired by the same <c>AddXxx</c>/<c>MapXxx</c>
/// extension methods that its <c>Program.cs</c> calls, so tests exercise the real pipeline over real HTTP.
/// </summary>
public sealed class ServiceHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _stopped;

    private ServiceHost(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>The configuration key of a service's PostgreSQL pool maximum (<c>Chirp.Hosting.DatabasePoolOptions</c>).</summary>
    public const string DatabaseMaxPoolSizeKey = "Database:MaxPoolSize";

    /// <summary>
    /// The tests' connection budget per service instance, set unless the settings say otherwise: a test PostgreSQL
    /// server (<c>max_connections = 300</c>) serves at most a handful of instances at once.
    /// </summary>
    public const int DatabaseMaxPoolSize = 10;

    /// <summary>Where the service listens, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The built application's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Builds and starts a web application named <paramref name="applicationName"/> in environment <c>Testing</c>.
    /// <paramref name="settings"/> are added as in-memory configuration after every other source, so they win,
    /// together with <c>urls=http://127.0.0.1:0</c> (a free port; a <c>urls</c> entry in the settings replaces it) and
    /// <see cref="DatabaseMaxPoolSizeKey"/> = <see cref="DatabaseMaxPoolSize"/>.
    /// Then runs <paramref name="add"/> (e.g. <c>b => b.AddUsers()</c>), <paramref name="configureServices"/>
    /// (test doubles), builds, runs <paramref name="map"/> and starts the server. Throws what the app throws on
    /// start, e.g. <c>OptionsValidationException</c> for missing settings.
    /// </summary>
    public static async Task<ServiceHost> StartAsync(
        string applicationName,
        IDictionary<string, string?> settings,
        Func<WebApplicationBuilder, WebApplicationBuilder> add,
        Func<WebApplication, WebApplication> map,
        Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = applicationName,
            EnvironmentName = "Testing",
            ContentRootPath = AppContext.BaseDirectory,
        });

        var merged = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
            [DatabaseMaxPoolSizeKey] = DatabaseMaxPoolSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in settings)
        {
            merged[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(merged);
        builder = add(builder);
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        try
        {
            app = map(app);
            await app.StartAsync();
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses
                ?? throw new InvalidOperationException("The server does not report its addresses.");
            var address = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal)) ?? addresses.First();
            return new ServiceHost(app, new Uri(address.TrimEnd('/') + "/"));
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>A new client whose base address is <see cref="BaseAddress"/>; the caller disposes it.</summary>
    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress };

    /// <summary>Stops the server gracefully (hosted services get their stop call) and releases the app.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _app.StopAsync(timeout.Token);
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }

    /// <summary>Same as <see cref="StopAsync"/>.</summary>
    public async ValueTask DisposeAsync() => await StopAsync();
}
