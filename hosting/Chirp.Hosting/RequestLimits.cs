using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Chirp.Hosting;

/// <summary>
/// How much work one replica takes on at once (section <c>Limits</c>). Beyond <see cref="ConcurrentRequests"/>,
/// requests wait in a queue of <see cref="QueuedRequests"/>; beyond that they are answered 503 with
/// <c>Retry-After</c> at once instead of piling up until something times out (README.md "Capacity").
/// </summary>
public sealed class RequestLimitsOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Limits";

    /// <summary><c>Limits:ConcurrentRequests</c>: requests served at once (default 64).</summary>
    [Range(1, 100_000)]
    public int ConcurrentRequests { get; set; } = 64;

    /// <summary><c>Limits:QueuedRequests</c>: requests waiting for a turn, oldest first (default 2048).</summary>
    [Range(0, 1_000_000)]
    public int QueuedRequests { get; set; } = 2048;

    /// <summary><c>Limits:RetryAfter</c>: the <c>Retry-After</c> of a 503 for a full queue (default 1 s, whole seconds).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary><c>Limits:MaxConnections</c>: open client connections Kestrel accepts (default 10000); more are closed.</summary>
    [Range(1, 1_000_000)]
    public long MaxConnections { get; set; } = 10_000;
}

/// <summary>
/// The answer to a request that a limit refused: its status and body; <see cref="RequestLimits.Reject"/> adds
/// <c>Retry-After</c> (RFC 9110 section 10.2.3) in whole seconds.
/// </summary>
/// <param name="Policy">The limit's name (<see cref="RequestLimits.ConcurrencyPolicy"/>, or one an endpoint names).</param>
/// <param name="Answer">Builds the response from the wait, rounded up to whole seconds.</param>
public sealed record RateLimitRejection(string Policy, Func<HttpContext, TimeSpan, IResult> Answer);

/// <summary>
/// Back-pressure shared by every Chirp service: Kestrel's connection limit, ASP.NET Core's rate-limiting middleware
/// with one concurrency limiter per replica (queue, then 503 + <c>Retry-After</c>), a rejection response per limit
/// (<see cref="RateLimitRejection"/>), and problem details without internals for unhandled exceptions.
/// </summary>
public static class RequestLimits
{
    /// <summary>The replica-wide concurrency limit applied to every request except probes and live connections.</summary>
    public const string ConcurrencyPolicy = "concurrency";

    /// <summary>
    /// Registers the limits of <see cref="RequestLimitsOptions"/> (validated at start) and the 503 rejection of
    /// <see cref="ConcurrencyPolicy"/>. Health probes, WebSocket upgrades and <c>text/event-stream</c> requests are not
    /// counted: a probe must answer under load, and a live connection would hold its permit for hours (live
    /// connections have their own limits, <c>GraphQL:Live:*</c>).
    /// </summary>
    public static IHostApplicationBuilder AddChirpRequestLimits(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RequestLimitsOptions>().BindConfiguration(RequestLimitsOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<RequestLimitsOptions>>((kestrel, limits) =>
            kestrel.Limits.MaxConcurrentConnections = limits.Value.MaxConnections);
        services.AddRateLimitRejection(new RateLimitRejection(ConcurrencyPolicy, (_, wait) => Busy(wait)));
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<RequestLimitsOptions>>((rate, limits) =>
        {
            var o = limits.Value;
            rate.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context => IsCounted(context)
                ? RateLimitPartition.GetConcurrencyLimiter(ConcurrencyPolicy, _ => new ConcurrencyLimiterOptions
                {
                    PermitLimit = o.ConcurrentRequests,
                    QueueLimit = o.QueuedRequests,
                    QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                })
                : RateLimitPartition.GetNoLimiter("uncounted"));
            rate.OnRejected = async (rejected, cancellationToken) =>
            {
                var context = rejected.HttpContext;
                var policy = context.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName ?? ConcurrencyPolicy;
                var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : o.RetryAfter;
                await context.RequestServices.Reject(context, policy, wait).ExecuteAsync(context);
            };
        });
        return builder;
    }

    /// <summary>
    /// The answer of <see cref="ConcurrencyPolicy"/>: 503 with a problem details body that says when to try again
    /// (<see cref="Reject"/> adds the <c>Retry-After</c> header). A service that answers some routes in another shape
    /// registers its own rejection for the policy and returns this one for the rest.
    /// </summary>
    /// <param name="wait">How long to wait; said in whole seconds (<see cref="WholeSeconds"/>).</param>
    /// <param name="reason">What is busy, the start of the message.</param>
    public static IResult Busy(TimeSpan wait, string reason = "Chirp is busy") => Results.Problem(
        statusCode: StatusCodes.Status503ServiceUnavailable,
        title: "Service Unavailable",
        detail: $"{reason}; try again in {WholeSeconds(wait)} s.");

    /// <summary>Registers the answer for requests that <paramref name="rejection"/>'s policy refuses (the last one registered for a policy wins).</summary>
    public static IServiceCollection AddRateLimitRejection(this IServiceCollection services, RateLimitRejection rejection) =>
        services.AddSingleton(rejection);

    /// <summary>
    /// The answer to a request that <paramref name="policy"/> refused: its registered <see cref="RateLimitRejection"/>,
    /// with <c>Retry-After</c> set to <paramref name="wait"/> rounded up to whole seconds.
    /// </summary>
    /// <exception cref="InvalidOperationException">No rejection is registered for <paramref name="policy"/>.</exception>
    public static IResult Reject(this IServiceProvider services, HttpContext context, string policy, TimeSpan wait)
    {
        var rejection = services.GetServices<RateLimitRejection>().LastOrDefault(r => r.Policy == policy)
            ?? throw new InvalidOperationException($"No rate-limit rejection is registered for the policy '{policy}'.");
        context.Response.Headers.RetryAfter = WholeSeconds(wait).ToString(CultureInfo.InvariantCulture);
        return rejection.Answer(context, TimeSpan.FromSeconds(WholeSeconds(wait)));
    }

    /// <summary>
    /// The first middleware of every Chirp service: unhandled exceptions become a problem details 500 that names no
    /// exception, file or host (requests that ASP.NET itself refuses keep their 4xx), then the request limits.
    /// ASP.NET's WebSocket middleware runs before the limits, because only then can they tell a WebSocket upgrade
    /// (which holds its connection for as long as the socket lives, and must not hold a permit) from a request.
    /// </summary>
    public static IApplicationBuilder UseChirpServiceDefaults(this IApplicationBuilder app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = e => e is Microsoft.AspNetCore.Http.BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseWebSockets();
        app.UseRateLimiter();
        return app;
    }

    private static bool IsCounted(HttpContext context) =>
        !context.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal) &&
        !context.WebSockets.IsWebSocketRequest &&
        !context.Request.Headers.Accept.Any(a => a?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true);

    /// <summary>A wait as <c>Retry-After</c> says it (RFC 9110 section 10.2.3): whole seconds, rounded up, at least 1.</summary>
    public static long WholeSeconds(TimeSpan wait) => Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
}
