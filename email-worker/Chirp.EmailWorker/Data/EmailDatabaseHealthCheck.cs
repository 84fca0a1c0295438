using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Chirp.EmailWorker.Data;

/// <summary>Ready when the email database answers; the subgraph needs it, the consumer waits for it on its own.</summary>
public sealed class EmailDatabaseHealthCheck(IDbContextFactory<EmailDbContext> databases) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Database.CanConnectAsync(cancellationToken)
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("The email database does not answer.");
    }
}
