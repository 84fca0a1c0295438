using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Chirp.Gateway.Federation;
using Chirp.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Polly.Timeout;

namespace Chirp.Federation.Tests;

/// <summary>
/// The gateway's subgraph HTTP client against a real HTTP server on loopback: which failures it retries, which it
/// never does, and how the retry budget caps retries when everything fails.
/// </summary>
public sealed class SubgraphRetryTests : IAsyncLifetime
{
    private readonly ConcurrentDictionary<string, int> _hits = new();
    private readonly string _id = Guid.NewGuid().ToString("N");
    private readonly List<ServiceProvider> _providers = [];
    private ServiceHost _stub = null!;

    public async Task InitializeAsync() =>
        _stub = await ServiceHost.StartAsync("SubgraphStub", new Dictionary<string, string?>(), b => b, app =>
        {
            app.MapPost("/{kind}/{id}", async (string kind, string id, HttpContext context) =>
            {
                var hit = _hits.AddOrUpdate(id, 1, (_, n) => n + 1);
                switch (kind)
                {
                    case "bad-gateway":
                        return Results.StatusCode(502);
                    case "overloaded":
                        return Results.StatusCode(503);
                    case "slow":
                        await Task.Delay(TimeSpan.FromSeconds(2), context.RequestAborted);
                        return Results.Text("""{"data":{}}""", "application/json");
                    default:
                        // "flaky": a 502 first, then an answer.
                        return hit == 1 ? Results.StatusCode(502) : Results.Text("""{"data":{}}""", "application/json");
                }
            });
            return app;
        });

    public async Task DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        await _stub.DisposeAsync();
    }

    [Fact]
    public async Task QueryFetchAnsweredWithA502IsRetriedUntilItSucceeds()
    {
        using var http = Client();

        using var response = await SendAsync(http, "flaky", idempotent: true);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, Hits());
    }

    [Fact]
    public async Task QueryFetchWhoseConnectionIsResetIsRetriedTwice()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accepted = 0;
        var resetter = Task.Run(async () =>
        {
            while (true)
            {
                using var socket = await listener.AcceptSocketAsync();
                Interlocked.Increment(ref accepted);
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }
        });
        using var http = Client();
        using var request = Request(new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/graphql"), true);

        // SocketsHttpHandler reports a reset during connection set-up as a bare SocketException, else wrapped.
        var thrown = await Assert.ThrowsAnyAsync<Exception>(() => http.SendAsync(request));
        Assert.True(thrown is HttpRequestException or SocketException, thrown.ToString());

        Assert.Equal(3, Volatile.Read(ref accepted));
        listener.Stop();
        await Assert.ThrowsAnyAsync<Exception>(() => resetter);
    }

    [Fact]
    public async Task MutationFetchIsNeverRetried()
    {
        using var http = Client();

        using var response = await SendAsync(http, "flaky", idempotent: false);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(1, Hits());
    }

    [Fact]
    public async Task OverloadedSubgraphIsNeverRetried()
    {
        using var http = Client();

        using var response = await SendAsync(http, "overloaded", idempotent: true);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, Hits());
    }

    [Fact]
    public async Task AttemptThatTimesOutIsNotRetried()
    {
        using var http = Client(("AttemptTimeout", "00:00:00.300"));
        var started = System.Diagnostics.Stopwatch.StartNew();

        await Assert.ThrowsAsync<TimeoutRejectedException>(() => SendAsync(http, "slow", idempotent: true));

        Assert.InRange(started.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1.5));
        Assert.Equal(1, Hits());
    }

    [Fact]
    public async Task SpentRetryBudgetStopsRetriesWhileEverythingFails()
    {
        // Three retries in the budget and none earned: five failing fetches make 5 + 3 attempts, not 5 x 3.
        using var http = Client(("RetryBudgetCapacity", "3"), ("RetryBudgetRatio", "0"));
        for (var i = 0; i < 5; i++)
        {
            using var response = await SendAsync(http, "bad-gateway", idempotent: true, id: "budget");
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        }

        Assert.Equal(8, Hits("budget"));
    }

    [Fact]
    public void RetryBudgetEarnsItsRatioPerFetchUpToItsCapacity()
    {
        var budget = new RetryBudget(0.5, 2);
        Assert.True(budget.TryWithdraw());
        Assert.True(budget.TryWithdraw());
        Assert.False(budget.TryWithdraw());
        budget.Deposit();
        Assert.False(budget.TryWithdraw());
        budget.Deposit();
        Assert.True(budget.TryWithdraw());
        for (var i = 0; i < 100; i++)
        {
            budget.Deposit();
        }

        Assert.True(budget.TryWithdraw());
        Assert.True(budget.TryWithdraw());
        Assert.False(budget.TryWithdraw());
    }

    [Fact]
    public void AnAttemptTimeoutOutOfRangeIsRefusedAtStart()
    {
        using var services = Services(("AttemptTimeout", "00:10:00"));

        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SubgraphFetchOptions>>().Value);
    }

    private int Hits(string? id = null) => _hits.GetValueOrDefault(id ?? _id);

    private Task<HttpResponseMessage> SendAsync(HttpClient http, string kind, bool idempotent, string? id = null)
    {
        var request = Request(new Uri(_stub.BaseAddress, $"{kind}/{id ?? _id}"), idempotent);
        return http.SendAsync(request);
    }

    private static HttpRequestMessage Request(Uri uri, bool idempotent)
    {
        return new SubgraphFetchMessage(uri)
        {
            Content = new StringContent("""{"query":"{__typename}"}""", Encoding.UTF8, "application/json"),
            IsIdempotent = idempotent,
        };
    }

    private HttpClient Client(params (string Key, string Value)[] settings)
    {
        var services = Services(settings);
        _providers.Add(services);
        return services.GetRequiredService<IHttpClientFactory>().CreateClient(SubgraphHttpClient.Name);
    }

    private static ServiceProvider Services(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create($"{SubgraphFetchOptions.SectionName}:{s.Key}", (string?)s.Value)))
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSubgraphHttpClient(4);
        return services.BuildServiceProvider();
    }
}
