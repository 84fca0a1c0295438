using Chirp.Hosting;

namespace Chirp.Users.Data;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without the host (<see cref="DesignTimeDatabase{TDbContext}"/>).</summary>
public sealed class UsersDesignTimeDbContextFactory() : DesignTimeDatabase<UsersDbContext>("users", options => new(options));
