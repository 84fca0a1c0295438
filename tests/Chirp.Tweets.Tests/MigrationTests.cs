using Chirp.Tweets.Data;
using Microsoft.EntityFrameworkCore;

namespace Chirp.Tweets.Tests;

/// <summary>The checked-in migrations create exactly the model the code maps (an index or column added to one but not the other fails here).</summary>
public sealed class MigrationTests
{
    [Fact]
    public void MigrationsHoldEveryChangeOfTheModel()
    {
        // No connection is opened: the model is compared with the last migration's snapshot.
        using var db = new TweetsDbContext(new DbContextOptionsBuilder<TweetsDbContext>().UseNpgsql("Host=127.0.0.1").Options);

        Assert.False(db.Database.HasPendingModelChanges(), "The model has changes no migration holds: add one with dotnet ef migrations add.");
    }
}
