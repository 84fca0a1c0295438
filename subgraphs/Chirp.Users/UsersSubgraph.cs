using Chirp.Contracts;
using Chirp.GraphQL.AspNetCore.Federation;
using Chirp.Hosting;
using Chirp.Subgraphs;
using Chirp.Users.Data;
using Chirp.Users.Schema;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Chirp.Users;

/// <summary>
/// The users subgraph: accounts (id, handle, display name, password hash) in PostgreSQL, served as an Apollo
/// Federation 2.5 subgraph at <c>/graphql</c>, plus the gateway's password check at
/// <see cref="InternalRoutes.CredentialsVerify"/>.
/// Configuration: <c>ConnectionStrings:Users</c>, <c>IdentityAssertion:Keys:&lt;kid&gt;</c>.
/// </summary>
public static class UsersSubgraph
{
    /// <summary>The service name in traces and logs.</summary>
    public const string ServiceName = "chirp-users";

    /// <summary>
    /// The chores the binary runs instead of serving: <c>migrate</c> applies the EF Core migrations in
    /// <c>Data/Migrations</c> (the only place where the schema changes; requests never migrate).
    /// </summary>
    public static IReadOnlyDictionary<string, ServiceCommand> Commands { get; } =
        new Dictionary<string, ServiceCommand>(StringComparer.Ordinal) { ["migrate"] = MigrateAsync }.AsReadOnly();

    /// <summary>Registers the subgraph's services. Fails at start when <c>ConnectionStrings:Users</c> or the assertion keys are missing.</summary>
    public static WebApplicationBuilder AddUsersSubgraph(this WebApplicationBuilder builder)
    {
        builder.AddChirpSubgraph<UsersSchema>(ServiceName, [AccessDirectives.Authenticated],
            e => e is UserAccountException rule ? CodedErrors.Create(rule.Code, rule.Message) : null);
        builder.AddChirpDatabasePool();
        var services = builder.Services;

        services.AddOptions<UsersDatabaseOptions>()
            .Configure<IConfiguration>((o, configuration) => o.ConnectionString = configuration[UsersDatabaseOptions.ConfigurationKey])
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddPooledDbContextFactory<UsersDbContext>((sp, options) =>
            options.UseNpgsql(sp.WithPool(sp.GetRequiredService<IOptions<UsersDatabaseOptions>>().Value.ConnectionString!)));
        services.AddHealthChecks().AddDbContextCheck<UsersDbContext>("users-database", tags: [HostingExtensions.ReadyTag]);

        services.AddSingleton<IPasswordHasher<User>, PasswordHasher<User>>();
        services.AddSingleton<UserAccounts>();
        services.AddHttpContextAccessor();
        services.AddScoped<UsersByIdDataLoader>();
        return builder;
    }

    /// <summary>Maps <c>/graphql</c>, the credentials check and the health probes, behind the identity assertion check.</summary>
    public static WebApplication MapUsersSubgraph(this WebApplication app)
    {
        app.MapChirpSubgraph();
        app.MapCredentialsEndpoint();
        return app;
    }

    /// <summary>Applies the pending migrations of the users database. Returns 0, or 1 (after logging why) when that fails.</summary>
    public static async Task<int> MigrateAsync(IServiceProvider services, string[] args, CancellationToken cancellationToken)
    {
        var logger = services.GetRequiredService<ILogger<UsersDbContext>>();
        try
        {
            var factory = services.GetRequiredService<IDbContextFactory<UsersDbContext>>();
            await using var db = await factory.CreateDbContextAsync(cancellationToken);
            await db.Database.MigrateAsync(cancellationToken);
            logger.LogInformation("The users database is up to date");
            return 0;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Migrating the users database failed");
            return 1;
        }
    }
}
