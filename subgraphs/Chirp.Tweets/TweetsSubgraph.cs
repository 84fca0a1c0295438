using Chirp.Hosting;
using Chirp.Subgraphs;
using Chirp.Tweets.Data;
using Chirp.Tweets.Events;
using Chirp.Tweets.Schema;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Chirp.Tweets;

/// <summary>
/// The tweets subgraph: tweets and retweets (PostgreSQL), the <c>TweetRetweeted</c> outbox and its relay to Redis,
/// and the <c>tweetRetweeted</c> subscription (docs/architecture.md sections 1, 3 and 5).
/// </summary>
public static class TweetsSubgraph
{
    /// <summary>The OpenTelemetry <c>service.name</c> of the tweets subgraph.</summary>
    public const string ServiceName = "chirp-tweets";

    /// <summary>The database's name: its connection string is <c>ConnectionStrings:Tweets</c>.</summary>
    public const string DatabaseName = "Tweets";

    /// <summary>The subcommands: <c>migrate</c> applies the EF Core migrations to <c>ConnectionStrings:Tweets</c>.</summary>
    public static IReadOnlyDictionary<string, ServiceCommand> Commands { get; } = new Dictionary<string, ServiceCommand>
    {
        ["migrate"] = ChirpDatabase.MigrateAsync<TweetsDbContext>,
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
        // EF Core logs every failed command as an error with a stack trace, including the unique violation of two
        // concurrent retweets by one user, which TweetStore expects and handles. Failures that are not handled
        // reach the caller and are logged there (ErrorShaping), so these two events stay at Debug.
        builder.AddChirpDatabase<TweetsDbContext>(DatabaseName, options => options
            .ConfigureWarnings(w => w.Log((RelationalEventId.CommandError, LogLevel.Debug), (CoreEventId.SaveChangesFailed, LogLevel.Debug))));
        builder.AddChirpRedis();
        var services = builder.Services;

        services.AddOptions<OutboxRelayOptions>().BindConfiguration(OutboxRelayOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();

        services.AddSingleton<TweetStore>();

        // Events: Redis is optional at start (abortConnect=false) and never needed for readiness.
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
    public static WebApplication MapTweetsSubgraph(this WebApplication app) => app.MapChirpSubgraph();
}
