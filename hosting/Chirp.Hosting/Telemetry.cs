using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Chirp.Hosting;

/// <summary>
/// The one OpenTelemetry recipe of every Chirp service (docs/architecture.md section 8, "Telemetry"): traces, metrics
/// and logs of ASP.NET Core, <see cref="HttpClient"/>, Npgsql, Redis, the .NET runtime and Chirp's own sources, exported
/// over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (protocol from <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, gRPC by
/// default). Without an endpoint nothing is exported and a service answers exactly the same: it then collects no metrics
/// or log records for export and records spans only for a caller whose <c>traceparent</c> asks for a sampled trace,
/// while trace context still flows to the subgraphs and into stored events.
/// </summary>
public static class Telemetry
{
    /// <summary>
    /// Name of the <see cref="ActivitySource"/> and <see cref="Meter"/> of Chirp's own spans and metrics in every
    /// service; <c>service.name</c> tells the services apart.
    /// </summary>
    public const string SourceName = "Chirp";

    /// <summary>Chirp's own spans: operation, fetch, token, relay, consume and SMTP send.</summary>
    public static readonly ActivitySource ActivitySource = new(SourceName);

    /// <summary>Chirp's own metrics (names follow OpenTelemetry's semantic conventions; units in UCUM).</summary>
    public static readonly Meter Meter = new(SourceName);

    /// <summary>The configuration key that turns export on (the OpenTelemetry SDKs' standard variable).</summary>
    public const string EndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// Registers the recipe with <c>service.name</c> = <paramref name="serviceName"/> (an <c>OTEL_SERVICE_NAME</c>
    /// setting wins, as the specification says) and <c>service.instance.id</c> = host name and process id.
    /// </summary>
    public static IHostApplicationBuilder AddChirpTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        var exporting = !string.IsNullOrEmpty(builder.Configuration[EndpointKey]);
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(
                builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } configured ? configured : serviceName,
                serviceInstanceId: $"{Environment.MachineName}-{Environment.ProcessId}"))
            .WithTracing(t => t
                .AddSource(SourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !ctx.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal))
                .AddHttpClientInstrumentation()
                .AddNpgsql()
                .AddRedisInstrumentation()
                // RedisConnection opens its multiplexer on first use, after the tracer provider exists.
                .ConfigureRedisInstrumentation((services, redis) => services.GetService<RedisConnection>()?.OnConnected(m => redis.AddConnection(m))));

        if (!exporting)
        {
            // Spans, metrics and log records that no exporter reads cost CPU and memory on every request (ten spans
            // per deep query at the gateway). Dropped spans still carry the trace id downstream and into stored events
            // (OpenTelemetry's "propagation only"), and a caller's decision to sample passes on unchanged.
            otel.WithTracing(t => t.SetSampler(new ParentBasedSampler(new AlwaysOffSampler())));
            return builder;
        }

        builder.Logging.AddOpenTelemetry(o =>
        {
            o.IncludeFormattedMessage = true;
            o.IncludeScopes = true;
        });
        otel.WithMetrics(m => m
                .AddMeter(SourceName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation())
            .UseOtlpExporter();
        return builder;
    }

    /// <summary>
    /// Starts a span of Chirp's own source as a child of <paramref name="traceparent"/> (a W3C <c>traceparent</c>
    /// header value, e.g. the one stored with an event), or as the root of a new trace when it is missing or malformed:
    /// never under whatever span happens to be current (in a relay's loop, the previous event's).
    /// </summary>
    public static Activity? StartActivity(string name, ActivityKind kind, string? traceparent)
    {
        if (!ActivitySource.HasListeners())
        {
            return null;
        }

        if (ActivityContext.TryParse(traceparent, null, out var parent))
        {
            return ActivitySource.StartActivity(name, kind, parent);
        }

        // A default parent context means "the current span"; only clearing it first starts a new trace.
        Activity.Current = null;
        return ActivitySource.StartActivity(name, kind);
    }

    /// <summary>Marks <paramref name="activity"/> failed with the exception's type as <c>error.type</c>, never its message.</summary>
    public static void RecordFailure(this Activity? activity, Exception e)
    {
        activity?.SetStatus(ActivityStatusCode.Error);
        activity?.SetTag("error.type", e.GetType().FullName);
    }
}
