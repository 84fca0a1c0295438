using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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

/// <summary>Applies <see cref="DatabasePoolOptions"/> to Npgsql connection strings.</summary>
public static class DatabasePool
{
    /// <summary>
    /// Registers <see cref="DatabasePoolOptions"/> from the <c>Database</c> section, validated at start: the app does
    /// not start without <c>Database:MaxPoolSize</c> or with a minimum above the maximum.
    /// </summary>
    public static IHostApplicationBuilder AddChirpDatabasePool(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DatabasePoolOptions>()
            .BindConfiguration(DatabasePoolOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.MinPoolSize <= o.MaxPoolSize, "Database:MinPoolSize must not exceed Database:MaxPoolSize.")
            .Validate(o => o.ConnectionPruningInterval <= o.ConnectionIdleLifetime,
                "Database:ConnectionPruningInterval must not exceed Database:ConnectionIdleLifetime.")
            .ValidateOnStart();
        return builder;
    }

    /// <summary>
    /// <paramref name="connectionString"/> with the pool settings of <paramref name="services"/>' validated
    /// <see cref="DatabasePoolOptions"/>; they replace any pool keywords the connection string holds, so the budget
    /// has one source.
    /// </summary>
    /// <exception cref="OptionsValidationException">The <c>Database</c> section is missing or invalid.</exception>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is not an Npgsql connection string.</exception>
    public static string WithPool(this IServiceProvider services, string connectionString) =>
        Apply(connectionString, services.GetRequiredService<IOptions<DatabasePoolOptions>>().Value);

    /// <summary><paramref name="connectionString"/> with the pool settings of <paramref name="pool"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is not an Npgsql connection string.</exception>
    public static string Apply(string connectionString, DatabasePoolOptions pool)
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
