using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Telemetry;
using Polly.Timeout;

namespace Chirp.Gateway.Federation;

/// <summary>Timeouts and retries of subgraph fetches, bound from <see cref="SectionName"/> and validated on start.</summary>
public sealed class SubgraphFetchOptions
{
    /// <summary>The configuration section: <c>Subgraphs:Fetch</c>.</summary>
    public const string SectionName = "Subgraphs:Fetch";

    /// <summary>
    /// Longest one attempt may take. An attempt that times out is not retried, so a fetch takes at most this times
    /// (<see cref="MaxRetries"/> + 1), plus retry delays of well under a second.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:05:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries of one idempotent fetch after the first attempt (0 turns retries off).</summary>
    [Range(0, 5)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>Retries the budget earns per fetch: over time, retries stay below this share of all fetches.</summary>
    [Range(0.0, 1.0)]
    public double RetryBudgetRatio { get; set; } = 0.1;

    /// <summary>Retries the budget holds at most (and starts with), so a quiet gateway may still retry a few blips.</summary>
    [Range(0, 10_000)]
    public int RetryBudgetCapacity { get; set; } = 20;
}

/// <summary>
/// A retry budget: each fetch deposits <c>ratio</c> of a retry and each retry withdraws one, the balance capped at a
/// capacity. When every subgraph call fails (a subgraph down or drowning), retries stay a small share of the traffic
/// instead of multiplying it, as gRPC's retry throttling and Finagle's retry budgets do. Thread-safe.
/// </summary>
public sealed class RetryBudget
{
    private readonly double _ratio;
    private readonly double _capacity;
    private readonly Lock _gate = new();
    private double _balance;

    /// <summary>A full budget of <paramref name="capacity"/> retries that earns <paramref name="ratio"/> per fetch.</summary>
    public RetryBudget(double ratio, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ratio);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _ratio = ratio;
        _capacity = capacity;
        _balance = capacity;
    }

    /// <summary>Counts one fetch (its first attempt).</summary>
    public void Deposit()
    {
        lock (_gate)
        {
            _balance = Math.Min(_capacity, _balance + _ratio);
        }
    }

    /// <summary>Takes one retry from the budget; false when it is spent.</summary>
    public bool TryWithdraw()
    {
        lock (_gate)
        {
            if (_balance < 1)
            {
                return false;
            }

            _balance--;
            return true;
        }
    }
}

/// <summary>
/// The <see cref="HttpClient"/> of subgraph fetches: pooled keep-alive connections, a total and a per-attempt timeout,
/// and retries for idempotent fetches only (a <see cref="SubgraphFetchMessage"/> marked
/// <see cref="SubgraphFetchMessage.IsIdempotent"/>: query fetches, never a mutation's root fetch) on failures that mean the request did not reach a working subgraph (connection refused or
/// reset, 502), within a <see cref="RetryBudget"/>. Never retried: 503 (the subgraph sheds load; another attempt adds
/// to it), an attempt that timed out (a slow subgraph under overload gets slower with more work), any other status.
/// </summary>
public static class SubgraphHttpClient
{
    /// <summary>The name of the client; tests add handlers to it to see every fetch.</summary>
    public const string Name = "subgraphs";


    /// <summary>Registers the client with <paramref name="connectionsPerSubgraph"/> connections per subgraph at most.</summary>
    public static IHttpClientBuilder AddSubgraphHttpClient(this IServiceCollection services, int connectionsPerSubgraph)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(connectionsPerSubgraph, 1);
        services.AddOptions<SubgraphFetchOptions>()
            .BindConfiguration(SubgraphFetchOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // No per-fetch log scopes and messages, and nothing a LAN hop to a subgraph does not need (cookies, proxy
        // lookup, decompression). The attempt timeout bounds each try in place of HttpClient's timeout; a timeout over
        // all attempts as well would cost a timer and a strategy on every fetch and bind only when set below
        // (MaxRetries + 1) x AttemptTimeout.
        var client = services.AddHttpClient(Name, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers()
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                MaxConnectionsPerServer = connectionsPerSubgraph,
                PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
                UseCookies = false,
                UseProxy = false,
                AutomaticDecompression = DecompressionMethods.None,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            });
        services.Configure<TelemetryOptions>(o => o.SeverityProvider = FetchEventSeverity);
        client.AddResilienceHandler(PipelineName, (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<SubgraphFetchOptions>>().Value;
            var budget = new RetryBudget(options.RetryBudgetRatio, options.RetryBudgetCapacity);
            if (options.MaxRetries > 0)
            {
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = options.MaxRetries,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(25),
                    ShouldRetryAfterHeader = false,
                    ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Context, args.Outcome, args.AttemptNumber, options.MaxRetries, budget)),
                });
            }

            pipeline.AddTimeout(options.AttemptTimeout);
        });
        return client;
    }

    /// <summary>The resilience pipeline's name (with the client's, <c>subgraphs-subgraph-fetch</c> in telemetry).</summary>
    public const string PipelineName = "subgraph-fetch";

    // Polly reports every attempt and every pipeline run, as a log line and a metric each: several per fetch, seven
    // fetches per deep query, and more CPU than the engine's own work under load. Only what is news is kept: retries,
    // timeouts and attempts a retry handled; the fetch span and metrics (docs/architecture.md section 8) already time
    // each fetch and count its outcome.
    private static ResilienceEventSeverity FetchEventSeverity(SeverityProviderArguments args) =>
        args.Source.PipelineName?.EndsWith(PipelineName, StringComparison.Ordinal) == true
        && args.Event.EventName is "ExecutionAttempt" or "PipelineExecuting" or "PipelineExecuted"
        && args.Event.Severity <= ResilienceEventSeverity.Information
            ? ResilienceEventSeverity.None
            : args.Event.Severity;

    // Polly asks after every attempt, the last one included: only a retry that will happen takes from the budget.
    private static bool ShouldRetry(ResilienceContext context, Outcome<HttpResponseMessage> outcome, int attempt, int maxRetries, RetryBudget budget)
    {
        if (attempt == 0)
        {
            budget.Deposit();
        }

        // A connection reset while it is being set up can surface as a bare SocketException, not wrapped.
        var transient = outcome.Exception is HttpRequestException { StatusCode: null } or SocketException
            || outcome.Result?.StatusCode == HttpStatusCode.BadGateway;
        return transient
            && attempt < maxRetries
            && outcome.Exception is not TimeoutRejectedException
            && context.GetRequestMessage() is SubgraphFetchMessage { IsIdempotent: true }
            && budget.TryWithdraw();
    }
}

/// <summary>
/// A POST of one subgraph fetch. It says whether it may be retried as a property rather than through
/// <see cref="HttpRequestMessage.Options"/>, which would cost a dictionary on every fetch.
/// </summary>
/// <param name="uri">The subgraph's GraphQL endpoint.</param>
public sealed class SubgraphFetchMessage(Uri uri) : HttpRequestMessage(HttpMethod.Post, uri)
{
    /// <summary>True for a request that may be sent twice without harm (a query fetch); only those are retried.</summary>
    public bool IsIdempotent { get; init; }
}
