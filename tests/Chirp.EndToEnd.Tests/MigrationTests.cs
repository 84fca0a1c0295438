using Chirp.EmailWorker.Data;
using Chirp.Tweets.Data;
using Chirp.Users.Data;
using Microsoft.EntityFrameworkCore;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// Each service's checked-in migrations create exactly the model its code maps (an index or column added to one but not
/// the other fails here), read through the context that <c>dotnet ef</c> builds the model with.
/// </summary>
public sealed class MigrationTests
{
    public static TheoryData<string> Services => ["users", "tweets", "email"];

    [Theory]
    [MemberData(nameof(Services))]
    public void MigrationsHoldEveryChangeOfTheModel(string service)
    {
        // No connection is opened: the model is compared with the last migration's snapshot.
        using DbContext db = service switch
        {
            "users" => new UsersDesignTimeDbContextFactory().CreateDbContext([]),
            "tweets" => new TweetsDesignTimeDbContextFactory().CreateDbContext([]),
            _ => new EmailDesignTimeDbContextFactory().CreateDbContext([]),
        };

        Assert.False(db.Database.HasPendingModelChanges(), $"The {service} model has changes no migration holds: add one with dotnet ef migrations add.");
    }
}
