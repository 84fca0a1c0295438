using Chirp.Contracts;
using Chirp.Hosting;
using Chirp.Subgraphs;
using Chirp.Users.Data;
using Chirp.Users.Schema;
using Microsoft.AspNetCore.Identity;

namespace Chirp.Users;

/// <summary>
/// The users subgraph: accounts (id, handle, display name, password hash) in PostgreSQL, served as an Apollo
/// Federation 2.5 subgraph at <c>/graphql</c>, plus the gateway's password check at
/// <see cref="InternalRoutes.CredentialsVerify"/>.
/// Configuration: <c>ConnectionStrings:Users</c>, <c>IdentityAssertion:Keys:&lt;kid&gt;</c>, and the password-check limits
/// <c>Limits:ConcurrentPasswordChecks</c> and <c>Limits:QueuedPasswordChecks</c> (<see cref="PasswordCheckLimitsOptions"/>).
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
        new Dictionary<string, ServiceCommand>(StringComparer.Ordinal) { ["migrate"] = ChirpDatabase.MigrateAsync<UsersDbContext> }.AsReadOnly();

    /// <summary>Registers the subgraph's services. Fails at start when <c>ConnectionStrings:Users</c> or the assertion keys are missing.</summary>
    public static WebApplicationBuilder AddUsersSubgraph(this WebApplicationBuilder builder)
    {
        builder.AddChirpSubgraph<UsersSchema>(ServiceName, [AccessDirectives.Authenticated],
            e => e is UserAccountException rule ? CodedErrors.Create(rule.Code, rule.Message) : null);
        builder.AddChirpDatabase<UsersDbContext>("Users");
        var services = builder.Services;

        services.AddSingleton<IPasswordHasher<User>, PasswordHasher<User>>();
        services.AddSingleton<UserAccounts>();
        services.AddPasswordCheckLimits();
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
}
