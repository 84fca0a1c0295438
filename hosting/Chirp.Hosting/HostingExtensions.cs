using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Chirp.Hosting;

/// <summary>What every Chirp service wires the same way.</summary>
public static class HostingExtensions
{
    /// <summary>Tag of health checks that gate readiness (<c>/health/ready</c>).</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// Problem details (RFC 9457) for every error response, the request limits of
    /// <see cref="RequestLimits.AddChirpRequestLimits"/> (pair with <see cref="RequestLimits.UseChirpServiceDefaults"/>), health checks, OpenTelemetry traces, metrics and logs
    /// (<see cref="Telemetry.AddChirpTelemetry"/>) and a <see cref="TimeProvider"/>.
    /// </summary>
    public static IHostApplicationBuilder AddChirpServiceDefaults(this IHostApplicationBuilder builder, string serviceName)
    {
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
            context.ProblemDetails.Detail ??= DefaultDetail(context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode));
        builder.AddChirpRequestLimits();
        builder.Services.AddHealthChecks();
        builder.Services.AddSingleton(TimeProvider.System);

        builder.AddChirpTelemetry(serviceName);
        return builder;
    }

    /// <summary>
    /// The message of a problem that ASP.NET writes without one (routing's 404, 405 and 415, an unhandled exception's
    /// 500), so every error answer says what went wrong; never the exception's own text, which may name internals.
    /// </summary>
    public static string DefaultDetail(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "The request is malformed.",
        StatusCodes.Status404NotFound => "Nothing is at this address.",
        StatusCodes.Status405MethodNotAllowed => "This route does not take this method; see the Allow header.",
        StatusCodes.Status413PayloadTooLarge => "The request body is too large for this route.",
        StatusCodes.Status415UnsupportedMediaType => "This route does not read a body of this Content-Type; send application/json.",
        StatusCodes.Status431RequestHeaderFieldsTooLarge => "The request headers are too large.",
        StatusCodes.Status503ServiceUnavailable => "Chirp is busy or a service it needs is down; try again after Retry-After.",
        >= 500 => "The request failed inside Chirp; try again later.",
        _ => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase + "." : "The request failed.",
    };

    /// <summary>
    /// <c>/health/live</c> (the process answers) and <c>/health/ready</c> (every check tagged
    /// <see cref="ReadyTag"/> passes).
    /// </summary>
    public static IEndpointRouteBuilder MapChirpHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag) });
        return endpoints;
    }

    /// <summary>Adds a readiness check from a delegate.</summary>
    public static IHealthChecksBuilder AddReadinessCheck(this IServiceCollection services, string name, Func<CancellationToken, Task<bool>> check) =>
        services.AddHealthChecks().AddAsyncCheck(name, async ct => await check(ct) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy(), [ReadyTag]);
}
