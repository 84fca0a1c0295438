using System.ComponentModel.DataAnnotations;
using Chirp.GraphQL.AspNetCore.Federation;
using Chirp.Hosting;
using Chirp.Subgraphs;
using Chirp.Tweets.Data;
using Chirp.Tweets.Events;
using Chirp.Tweets.Schema;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace Chirp.Tweets;

/// <summary>Connection strings of the tweets subgraph (section <c>ConnectionStrings</c>).</summary>
public sealed class TweetsConnectionStrings
{
    public const string SectionName = "ConnectionStrings";

    /// <summary><c>ConnectionStrings:Tweets</c>: Npgsql connection string of the tweets database.</summary>
    [Required]
    public string Tweets { get; set; } = "";

    /// <summary><c>ConnectionStrings:Redis</c>: StackExchange.Redis configuration string.</summary>
    [Required]
    public string Redis { get; set; } = "";
}

/// <summary>
/// The tweets subgraph: tweets and retweets (PostgreSQL), the <c>TweetRetweeted</c> outbox and its relay to Redis,
/// and the <c>tweetRetweeted</c> subscription (docs/architecture.md sections 1, 3 and 5).
/// </summary>
public static class TweetsSubgraph
{
    /// <summary>The OpenTelemetry <c>service.name</c> of the tweets subgraph.</summary>
    public const string ServiceName = "chirp-tweets";

    /// <summary>The subcommands: <c>migrate</c> applies the EF Core migrations to <c>ConnectionStrings:Tweets</c>.</summary>
    public static IReadOnlyDictionary<string, ServiceCommand> Commands { get; } = new Dictionary<string, ServiceCommand>
    {
        ["migrate"] = MigrateAsync,
    };

    /// <summary>
    /// Registers everything the subgraph needs. Reads <c>ConnectionStrings:Tweets</c>, <c>ConnectionStrings:Redis</c>,
    /// <c>IdentityAssertion:Keys:*</c> and optionally <c>Outbox:*</c> (<see cref="OutboxRelayOptions"/>); the app fails
    /// to start when a required one is missing. Nothing here touches the database or needs Redis to be up.
    /// </summary>
    public static WebApplicationBuilder AddTweetsSubgraph(this WebApplicationBuilder builder)
    {
        TweetText.EnsureNormalizationWorks();
        builder.AddChirpSubgraph<TweetsSchema>(ServiceName, [AccessDirectives.Authenticated, AccessDirectives.RequiresScopes]);
        builder.AddChirpDatabasePool();
        var services = builder.Services;

        services.AddOptions<TweetsConnectionStrings>().BindConfiguration(TweetsConnectionStrings.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<OutboxRelayOptions>().BindConfiguration(OutboxRelayOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();

        // Data
        services.AddDbContextFactory<TweetsDbContext>((sp, options) => options
            .UseNpgsql(sp.WithPool(sp.GetRequiredService<IOptions<TweetsConnectionStrings>>().Value.Tweets))
            // EF Core logs every failed command as an error with a stack trace, including the unique violation of two
            // concurrent retweets by one user, which TweetStore expects and handles. Failures that are not handled
            // reach the caller and are logged there (ErrorShaping), so these two events stay at Debug.
            .ConfigureWarnings(w => w.Log((RelationalEventId.CommandError, LogLevel.Debug), (CoreEventId.SaveChangesFailed, LogLevel.Debug))));
        services.AddSingleton<TweetStore>();
        services.AddHealthChecks().AddDbContextCheck<TweetsDbContext>("tweets-db", tags: [HostingExtensions.ReadyTag]);

        // Events: Redis is optional at start (abortConnect=false) and never needed for readiness.
        services.AddSingleton<RedisConnection>();
        services.AddSingleton<OutboxSignal>();
        services.AddHostedService<OutboxRelay>();
        services.AddHostedService<OutboxListener>();
        services.AddSingleton<RetweetFeed>();
        services.AddHostedService(sp => sp.GetRequiredService<RetweetFeed>());

        // GraphQL
        services.AddScoped<TweetsByIdDataLoader>();
        services.AddScoped<RetweetCountsByTweetIdDataLoader>();
        return builder;
    }

    /// <summary>Problem details and request limits, identity assertions, health probes and <c>GET/POST /graphql</c>.</summary>
    public static WebApplication MapTweetsSubgraph(this WebApplication app)
    {
        return app.MapChirpSubgraph();
    }

    /// <summary>Applies pending EF Core migrations (<c>Data/Migrations</c>); returns 0, or 1 when the database refuses.</summary>
    public static async Task<int> MigrateAsync(IServiceProvider services, string[] args, CancellationToken cancellationToken)
    {
        var contexts = services.GetRequiredService<IDbContextFactory<TweetsDbContext>>();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.Database.MigrateAsync(cancellationToken);
        return 0;
    }
}

