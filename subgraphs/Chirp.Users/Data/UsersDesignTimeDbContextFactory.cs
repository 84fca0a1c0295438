using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Chirp.Users.Data;

/// <summary>
/// Lets <c>dotnet ef migrations add</c> build the model without the web host (and without a database:
/// adding a migration never connects).
/// </summary>
public sealed class UsersDesignTimeDbContextFactory : IDesignTimeDbContextFactory<UsersDbContext>
{
    /// <inheritdoc />
    public UsersDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<UsersDbContext>().UseNpgsql("Host=localhost;Database=users").Options);
}
