using System.ComponentModel.DataAnnotations;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Chirp.Hosting;

/// <summary>
/// One replica's share of the PostgreSQL connection budget (section <c>Database</c>), applied to its Npgsql
/// connection string. The sum of <see cref="MaxPoolSize"/> over every replica of every service must stay below the
/// server's <c>max_connections</c>; README.md "Capacity" has the budget of each environment.
/// </summary>
public sealed class DatabasePoolOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Database";

    /// <summary>
    /// <c>Database:MaxPoolSize</c>: most connections this replica opens (Npgsql <c>Maximum Pool Size</c>). Required:
    /// Npgsql's default of 100 equals PostgreSQL's default <c>max_connections</c>, so one busy service could take them all.
    /// </summary>
    [Required(ErrorMessage = "Database:MaxPoolSize is required (this replica's share of PostgreSQL's max_connections).")]
    [Range(1, 1000)]
    public int? MaxPoolSize { get; set; }

    /// <summary><c>Database:MinPoolSize</c>: idle connections kept open (Npgsql <c>Minimum Pool Size</c>, default 1).</summary>
    [Range(0, 1000)]
    public int MinPoolSize { get; set; } = 1;

    /// <summary>
    /// <c>Database:Timeout</c>: how long a request waits for a free pooled connection (or for a new one to open)
    /// before it fails (Npgsql <c>Timeout</c>, whole seconds, default 10 s). Under more requests than connections
    /// they queue here instead of failing at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// <c>Database:ConnectionIdleLifetime</c>: an idle connection above <see cref="MinPoolSize"/> is closed after this
    /// (Npgsql <c>Connection Idle Lifetime</c>, whole seconds, default 10 s instead of Npgsql's 300 s), so a spike's
    /// connections go back to the server promptly and no service starves another afterwards.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ConnectionIdleLifetime { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// <c>Database:ConnectionPruningInterval</c>: how often idle connections are looked at (Npgsql
    /// <c>Connection Pruning Interval</c>, whole seconds, default 2 s; at most <see cref="ConnectionIdleLifetime"/>).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ConnectionPruningInterval { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Where one named database is: <c>ConnectionStrings:&lt;name&gt;</c>, an Npgsql connection string. Registered as
/// named options under the database's name by <see cref="ChirpDatabase.AddChirpDatabase{TDbContext}"/>.
/// </summary>
public sealed class DatabaseConnectionOptions
{
    /// <summary>The Npgsql connection string; pool keywords in it are replaced by <see cref="DatabasePoolOptions"/>.</summary>
    public string? ConnectionString { get; set; }
}

/// <summary>
/// The recipe of a service's PostgreSQL database: its connection string, the pool budget, the readiness check and the
/// <c>migrate</c> command.
/// </summary>
public static class ChirpDatabase
{
    /// <summary>
    /// Registers <typeparamref name="TDbContext"/> (an <see cref="IDbContextFactory{TContext}"/> over Npgsql) on
    /// <c>ConnectionStrings:&lt;<paramref name="name"/>&gt;</c> with the pool of <see cref="DatabasePoolOptions"/>, and the
    /// readiness check <c>&lt;name&gt;-database</c>. The app does not start without the connection string or
    /// <c>Database:MaxPoolSize</c> (<see cref="OptionsValidationException"/>); nothing here opens a connection.
    /// <paramref name="configure"/> adds the context's own options (e.g. log levels of EF Core events).
    /// </summary>
    public static IHostApplicationBuilder AddChirpDatabase<TDbContext>(this IHostApplicationBuilder builder, string name,
        Action<DbContextOptionsBuilder>? configure = null)
        where TDbContext : DbContext
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var services = builder.Services;
        services.AddOptions<DatabasePoolOptions>()
            .BindConfiguration(DatabasePoolOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.MinPoolSize <= o.MaxPoolSize, "Database:MinPoolSize must not exceed Database:MaxPoolSize.")
            .Validate(o => o.ConnectionPruningInterval <= o.ConnectionIdleLifetime,
                "Database:ConnectionPruningInterval must not exceed Database:ConnectionIdleLifetime.")
            .ValidateOnStart();
        services.AddOptions<DatabaseConnectionOptions>(name)
            .Configure<IConfiguration>((o, configuration) => o.ConnectionString = configuration.GetConnectionString(name))
            .Validate(o => !string.IsNullOrWhiteSpace(o.ConnectionString), $"ConnectionStrings:{name} is required (an Npgsql connection string).")
            .ValidateOnStart();
        services.AddDbContextFactory<TDbContext>((sp, options) =>
        {
            var connection = sp.GetRequiredService<IOptionsMonitor<DatabaseConnectionOptions>>().Get(name).ConnectionString!;
            options.UseNpgsql(Apply(connection, sp.GetRequiredService<IOptions<DatabasePoolOptions>>().Value));
            configure?.Invoke(options);
        });
        services.AddHealthChecks().AddDbContextCheck<TDbContext>($"{name.ToLowerInvariant()}-database", tags: [HostingExtensions.ReadyTag]);
        return builder;
    }

    /// <summary>
    /// The <c>migrate</c> command (<see cref="ServiceCommand"/>): applies the pending EF Core migrations of
    /// <typeparamref name="TDbContext"/>, the only place where a schema changes (requests never migrate). Returns 0 when
    /// the database is up to date, 1 (after logging why) when it cannot be reached or refuses a migration.
    /// </summary>
    public static async Task<int> MigrateAsync<TDbContext>(IServiceProvider services, string[] args, CancellationToken cancellationToken)
        where TDbContext : DbContext
    {
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger(typeof(TDbContext).FullName!) ?? NullLogger.Instance;
        try
        {
            var factory = services.GetRequiredService<IDbContextFactory<TDbContext>>();
            await using var db = await factory.CreateDbContextAsync(cancellationToken);
            await db.Database.MigrateAsync(cancellationToken);
            logger.LogInformation("The database of {Context} is up to date", typeof(TDbContext).Name);
            return 0;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Migrating the database of {Context} failed", typeof(TDbContext).Name);
            return 1;
        }
    }

    /// <summary><paramref name="connectionString"/> with the pool settings of <paramref name="pool"/>; they replace any pool keywords it holds, so the budget has one source.</summary>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is not an Npgsql connection string.</exception>
    private static string Apply(string connectionString, DatabasePoolOptions pool)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = true,
            MaxPoolSize = pool.MaxPoolSize ?? throw new ArgumentException("Database:MaxPoolSize is required.", nameof(pool)),
            MinPoolSize = pool.MinPoolSize,
            Timeout = Seconds(pool.Timeout),
            ConnectionIdleLifetime = Seconds(pool.ConnectionIdleLifetime),
            ConnectionPruningInterval = Seconds(pool.ConnectionPruningInterval),
        };
        return builder.ConnectionString;
    }

    private static int Seconds(TimeSpan span) => (int)Math.Ceiling(span.TotalSeconds);
}

/// <summary>
/// The context that <c>dotnet ef migrations add</c> builds a service's model with: Npgsql on a connection string to the
/// database <paramref name="database"/> on localhost that is never opened (adding a migration does not connect), so the
/// tools need neither the host nor its configuration. Each service derives one, parameterless, for its context; the
/// tools find it in the service's assembly.
/// </summary>
/// <param name="database">The database name, only so that generated code names it.</param>
/// <param name="create">The context's constructor over options.</param>
public abstract class DesignTimeDatabase<TDbContext>(string database, Func<DbContextOptions<TDbContext>, TDbContext> create)
    : IDesignTimeDbContextFactory<TDbContext>
    where TDbContext : DbContext
{
    /// <inheritdoc />
    public TDbContext CreateDbContext(string[] args) =>
        create(new DbContextOptionsBuilder<TDbContext>().UseNpgsql($"Host=localhost;Database={database}").Options);
}
