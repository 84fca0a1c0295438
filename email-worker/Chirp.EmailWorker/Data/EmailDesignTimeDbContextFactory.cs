using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Chirp.EmailWorker.Data;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without configuration or a running host.</summary>
public sealed class DesignTimeEmailDbContextFactory : IDesignTimeDbContextFactory<EmailDbContext>
{
    /// <inheritdoc />
    public EmailDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<EmailDbContext>().UseNpgsql("Host=localhost;Database=email").Options);
}
