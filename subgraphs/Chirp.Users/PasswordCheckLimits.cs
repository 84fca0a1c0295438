using System.ComponentModel.DataAnnotations;
using System.Threading.RateLimiting;
using Chirp.Hosting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Chirp.Users;

/// <summary>
/// How many password checks (<see cref="CredentialsEndpoint"/>) one users replica runs at once (section <c>Limits</c>).
/// A check is one PBKDF2 verification, which takes a core for tens of milliseconds; running more checks than there are
/// cores only makes every one of them slower, until all of them outlast the gateway's timeout.
/// </summary>
public sealed class PasswordCheckLimitsOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Limits";

    /// <summary><c>Limits:ConcurrentPasswordChecks</c>: checks run at once (default: the processor count).</summary>
    [Range(1, 10_000)]
    public int ConcurrentPasswordChecks { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// <c>Limits:QueuedPasswordChecks</c>: checks waiting for a turn, oldest first (default: 4 per processor, so a
    /// queued check waits for about four checks' time); beyond that a check is refused at once.
    /// </summary>
    [Range(0, 100_000)]
    public int QueuedPasswordChecks { get; set; } = 4 * Environment.ProcessorCount;
}

/// <summary>
/// The concurrency limit of the password check: an ASP.NET Core rate-limiting policy on the credentials route, next to
/// the replica-wide limit of <see cref="RequestLimits"/>. A check beyond the limit and the queue is answered at once with
/// 503, <c>Retry-After</c> (<c>Limits:RetryAfter</c>) and a problem details body; the gateway tells its client that the
/// token service is busy (README.md "Capacity").
/// </summary>
public static class PasswordCheckLimits
{
    /// <summary>The rate-limiting policy of the credentials route.</summary>
    public const string PolicyName = "password-checks";

    /// <summary>Registers the policy from <see cref="PasswordCheckLimitsOptions"/> (validated at start) and its 503 answer.</summary>
    public static IServiceCollection AddPasswordCheckLimits(this IServiceCollection services)
    {
        services.AddOptions<PasswordCheckLimitsOptions>().BindConfiguration(PasswordCheckLimitsOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<PasswordCheckLimitsOptions>>((rate, limits) =>
            rate.AddConcurrencyLimiter(PolicyName, o =>
            {
                o.PermitLimit = limits.Value.ConcurrentPasswordChecks;
                o.QueueLimit = limits.Value.QueuedPasswordChecks;
                o.QueueProcessingOrder = QueueProcessingOrder.OldestFirst;
            }));
        services.AddRateLimitRejection(new RateLimitRejection(PolicyName, (_, wait) =>
            RequestLimits.Busy(wait, "Too many password checks are running")));
        return services;
    }
}
