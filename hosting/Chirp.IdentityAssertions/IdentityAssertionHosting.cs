using Chirp.Contracts;
using Chirp.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Chirp.IdentityAssertions;

/// <summary>The wiring of identity assertions into a service that the gateway calls (docs/architecture.md section 2).</summary>
public static class IdentityAssertionHosting
{
    /// <summary>
    /// Reads the gateway's <see cref="ChirpHeaders.Identity"/> assertion into <c>HttpContext.User</c>; an
    /// assertion that does not verify is answered with 401 before any endpoint runs (docs/architecture.md section 2).
    /// Loads the keys at start, so a missing or empty key folder stops the process with the reason, and reports
    /// ready only while the keys sign and verify an assertion.
    /// </summary>
    public static IHostApplicationBuilder AddChirpIdentityAssertions(this IHostApplicationBuilder builder)
    {
        builder.AddIdentityAssertionCodec();
        builder.Services.AddHostedService<IdentityKeysCheck>();
        builder.Services.AddHealthChecks().AddCheck<IdentityKeysCheck>("identity-keys", tags: [HostingExtensions.ReadyTag]);
        builder.Services.AddAuthentication(ChirpClaims.Scheme)
            .AddScheme<AuthenticationSchemeOptions, IdentityAssertionHandler>(ChirpClaims.Scheme, null);
        builder.Services.AddAuthorization();
        return builder;
    }

    /// <summary>
    /// Registers <see cref="IdentityAssertionCodec"/> over <see cref="IdentityAssertionOptions"/> (the key folder),
    /// validated at start.
    /// </summary>
    public static IHostApplicationBuilder AddIdentityAssertionCodec(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<IdentityAssertionOptions>()
            .BindConfiguration(IdentityAssertionOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => Directory.Exists(o.KeyDirectory), "IdentityAssertion:KeyDirectory must name an existing folder of <kid>.key files.")
            .ValidateOnStart();
        builder.Services.AddSingleton<IdentityAssertionCodec>();
        return builder;
    }

    /// <summary>
    /// Runs authentication and refuses, with a 401 problem, any request whose identity assertion is present
    /// but does not verify. Call after routing.
    /// </summary>
    public static IApplicationBuilder UseChirpIdentityAssertions(this IApplicationBuilder app)
    {
        app.UseAuthentication();
        app.Use(async (context, next) =>
        {
            if (context.Request.Headers.ContainsKey(ChirpHeaders.Identity) && context.User.Identity?.IsAuthenticated != true)
            {
                await Results.Problem(
                    statusCode: StatusCodes.Status401Unauthorized,
                    title: "Unauthorized",
                    detail: "The identity assertion does not verify.").ExecuteAsync(context);
                return;
            }

            await next(context);
        });
        app.UseAuthorization();
        return app;
    }

    /// <summary>
    /// Loads the identity keys when the host starts (a folder without a usable key stops it) and, as a readiness check,
    /// signs and verifies an assertion with them.
    /// </summary>
    private sealed class IdentityKeysCheck(IServiceProvider services) : IHostedService, IHealthCheck
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = services.GetRequiredService<IdentityAssertionCodec>();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var codec = services.GetRequiredService<IdentityAssertionCodec>();
            return Task.FromResult(codec.Verify(codec.Sign("readiness", "readiness", "readiness", "")) is null
                ? HealthCheckResult.Unhealthy($"An identity assertion signed with key '{codec.SigningKeyId}' does not verify.")
                : HealthCheckResult.Healthy());
        }
    }
}
