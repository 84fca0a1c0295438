using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Chirp.Tweets.Data;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without starting the app (it never connects).</summary>
internal sealed class TweetsDesignTimeDbContextFactory : IDesignTimeDbContextFactory<TweetsDbContext>
{
    public TweetsDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<TweetsDbContext>().UseNpgsql("Host=localhost;Database=tweets").Options);
}
