using System.Globalization;
using Chirp.Federation;
using Chirp.Federation.Schema;
using Chirp.Gateway.Auth;
using Chirp.Gateway.Federation;
using Chirp.Gateway.Rest;
using Chirp.Gateway.Transport;
using Chirp.GraphQL.AspNetCore;
using Chirp.Hosting;
using Chirp.IdentityAssertions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Trace;

namespace Chirp.Gateway;

/// <summary>
/// The gateway: token service, identity-tagging reverse proxy and federation gateway in one deployable.
/// </summary>
public static class GatewayService
{
    /// <summary>Configuration key: HTTP connections the gateway opens to each subgraph (default 64).</summary>
    public const string ConnectionsPerSubgraphKey = "Limits:ConnectionsPerSubgraph";

    /// <summary>Registers everything the gateway needs; fails at start when keys, supergraph or required settings are missing.</summary>
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        builder.AddChirpServiceDefaults("chirp-gateway");
        builder.AddIdentityAssertionCodec();
        builder.AddTokenService();
        builder.AddFederationGateway();
        builder.Services.AddHttpForwarder();
        builder.Services.AddOpenApi();
        return builder;
    }

    /// <summary>Maps every route of docs/architecture.md section 6.</summary>
    public static WebApplication MapGateway(this WebApplication app)
    {
        app.UseChirpServiceDefaults();
        app.UseStatusCodePages();
        app.UseGraphQLIde();
        app.UseSingleAuthorizationHeader();
        app.UseChirpBearerTokens();
        app.MapChirpHealth();
        app.MapTokenEndpoints();
        app.MapGraphQLHttp("/graphql");
        app.MapTweetsShim();
        app.MapEmailForwarding();
        app.MapOpenApi("/openapi/{documentName}.json");
        return app;
    }

    private static void AddTokenService(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<TokenOptions>()
            .BindConfiguration(TokenOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<SigningKeys>();
        builder.Services.AddSingleton<TokenIssuer>();
        builder.Services.AddSingleton<RefreshTokenStore>();
        builder.AddChirpRedis();
        builder.Services.AddHttpClient<CredentialsClient>(c => c.Timeout = TimeSpan.FromSeconds(10));
        builder.Services.AddChirpBearerTokens();
        builder.Services.AddOptions<LoginThrottleOptions>()
            .BindConfiguration(LoginThrottleOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.TrustedProxies.All(n => System.Net.IPNetwork.TryParse(n.Trim(), out _)),
                $"{LoginThrottleOptions.SectionName}:TrustedProxies must hold networks like 10.0.0.0/8.")
            .ValidateOnStart();
        builder.Services.AddSingleton<LoginThrottle>();
        builder.Services.AddRateLimitRejection(TokenEndpoints.LoginRejection);
        builder.Services.AddRateLimitRejection(TokenEndpoints.OverloadRejection);
        builder.Services.AddSingleton<GatewayReadiness>();
        builder.Services.AddHealthChecks().AddCheck<GatewayReadiness>(GatewayReadiness.Name, tags: [HostingExtensions.ReadyTag]);
        builder.Services.AddHostedService<StartupVerification>();
        builder.Services.AddSingleton<RevocationState>();
        builder.Services.AddSingleton<RevocationFeed>();
        builder.Services.AddSingleton<Sessions>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RevocationFeed>());

        // Fail closed: a replica that has never read the deny lists could accept revoked access tokens.
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            "revocation-state",
            sp => new RevocationReadiness(sp.GetRequiredService<RevocationState>()),
            HealthStatus.Unhealthy,
            [HostingExtensions.ReadyTag]));
    }

    private static void AddFederationGateway(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp =>
        {
            var path = sp.GetRequiredService<IConfiguration>()["Supergraph:Path"] ?? Path.Combine(AppContext.BaseDirectory, "schema", "supergraph.graphql");
            return File.Exists(path)
                ? Supergraph.Parse(File.ReadAllText(path))
                : throw new InvalidOperationException($"Supergraph:Path '{path}' does not exist.");
        });
        // Shape limits on client operations; a limit below 1 fails the executor's construction at start.
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IConfiguration>().GetSection(FederationLimits.SectionName).Get<FederationLimits>() ?? new FederationLimits());
        builder.Services.AddSingleton<FederatedExecutor>();
        builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddSource(FederationActivity.SourceName));
        builder.Services.AddSingleton<SubgraphUrls>();
        builder.Services.AddSingleton<IGraphQLExecutor, GatewayGraphQLExecutor>();
        builder.Services.AddGraphQLTransports();
        builder.Services.AddSingleton<ILiveConnectionAuthenticator, BearerLiveAuthenticator>();
        // Bounded connections per subgraph: under a spike, fetches wait for a connection here (within the timeout)
        // instead of opening hundreds of sockets that the subgraph would only queue or refuse (README.md "Capacity").
        var connectionsPerSubgraph = builder.Configuration.GetValue(ConnectionsPerSubgraphKey, 64);
        if (connectionsPerSubgraph < 1)
        {
            throw new InvalidOperationException($"{ConnectionsPerSubgraphKey} must be at least 1.");
        }

        builder.Services.AddSubgraphHttpClient(connectionsPerSubgraph);
    }

    /// <summary>
    /// <c>/email/*</c> goes to the email worker unchanged (unsubscribe and confirmation links). When the worker cannot
    /// be reached, the person who opened the link gets 503 with <c>Retry-After</c> and a page that says so, like every
    /// other route whose service is down, instead of the forwarder's bare 502.
    /// </summary>
    private static void MapEmailForwarding(this WebApplication app)
    {
        var urls = app.Services.GetRequiredService<SubgraphUrls>();
        var worker = urls.Get("notifications");
        app.UseWhen(c => c.Request.Path.StartsWithSegments("/email"), branch => branch.Use(async (context, next) =>
        {
            await next(context);
            if (context.GetForwarderErrorFeature() is not null && !context.Response.HasStarted)
            {
                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = EmailWorkerRetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                context.Response.ContentType = "text/html; charset=utf-8";
                await context.Response.WriteAsync(EmailWorkerDownPage, context.RequestAborted);
            }
        }));
        app.MapForwarder("/email/{**rest}", worker.GetLeftPart(UriPartial.Authority)).ExcludeFromDescription();
    }

    private const int EmailWorkerRetryAfterSeconds = 30;

    private const string EmailWorkerDownPage = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Chirp: try again shortly</title></head>
        <body><h1>Chirp's email service is not answering</h1>
        <p>Nothing was changed. Open the link from your email again in a minute.</p></body></html>
        """;

    /// <summary>Ready once the revocation state has been loaded from Redis (it stays ready while Redis is down afterwards).</summary>
    private sealed class RevocationReadiness(RevocationState state) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(state.IsLoaded ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("The revocation state has not been loaded from Redis yet."));
    }

    /// <summary>
    /// Runs the readiness verification once at start, so a bad key folder, key or supergraph stops the process at
    /// once with the reason instead of leaving a replica that is never ready.
    /// </summary>
    private sealed class StartupVerification(GatewayReadiness readiness) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => readiness.VerifyAsync();

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
