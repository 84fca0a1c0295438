using Chirp.Contracts;
using Chirp.EmailWorker.Data;
using Chirp.EmailWorker.Events;
using Chirp.EmailWorker.Links;
using Chirp.EmailWorker.Mail;
using Chirp.EmailWorker.Schema;
using Chirp.Hosting;
using Chirp.Subgraphs;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chirp.EmailWorker;

/// <summary>
/// The email worker: a web app that serves the <c>notifications</c> subgraph and health probes, and runs
/// <see cref="RetweetMailConsumer"/> in the background (docs/architecture.md sections 1, 3 and 5).
/// </summary>
public static class EmailWorkerService
{
    /// <summary>Service name for telemetry and logs.</summary>
    public const string ServiceName = "chirp-email-worker";

    /// <summary>
    /// Registers options (validated on start: <c>ConnectionStrings:Email</c>, <c>ConnectionStrings:Redis</c>,
    /// <c>Smtp:Host</c>, <c>Smtp:Port</c>, <c>Smtp:From</c>, <c>IdentityAssertion:KeyDirectory</c>, <c>EmailLinks:PublicBaseUrl</c>,
    /// <c>EmailLinks:KeyDirectory</c>, <c>Dkim:Domain</c>, <c>Dkim:Selector</c>,
    /// <c>Dkim:PrivateKeyFile</c>), the database, the subgraph, the identity assertions, the signed links, DKIM signing
    /// and the consumer.
    /// </summary>
    public static WebApplicationBuilder AddEmailWorker(this WebApplicationBuilder builder)
    {
        builder.AddChirpSubgraph<NotificationsSchema>(ServiceName, [AccessDirectives.RequiresScopes]);
        builder.AddChirpDatabase<EmailDbContext>("Email");
        builder.AddChirpRedis();
        var services = builder.Services;

        services.AddOptions<SmtpOptions>()
            .BindConfiguration(SmtpOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => SmtpOptions.IsValidFrom(o.From), "Smtp:From must be one mailbox, e.g. 'Chirp <no-reply@chirp.example>'.")
            .ValidateOnStart();
        services.AddOptions<EmailWorkerOptions>()
            .BindConfiguration(EmailWorkerOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.RetryMaxDelay <= o.ClaimIdleTime, "EmailWorker:RetryMaxDelay must not exceed EmailWorker:ClaimIdleTime.")
            .ValidateOnStart();

        services.AddOptions<EmailLinkOptions>()
            .BindConfiguration(EmailLinkOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => EmailLinkOptions.IsValidBaseUrl(o.PublicBaseUrl),
                "EmailLinks:PublicBaseUrl must be the gateway's absolute public URL, HTTPS unless the host is loopback, e.g. 'https://chirp.example.com'.")
            .Validate(o => Directory.Exists(o.KeyDirectory), "EmailLinks:KeyDirectory must name an existing folder of <kid>.key files.")
            .ValidateOnStart();
        services.AddOptions<DkimOptions>()
            .BindConfiguration(DkimOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<DkimOptions>, DkimOptionsValidation>();


        services.AddSingleton<EmailLinks>();
        services.AddSingleton<MailSigner>();
        services.AddSingleton<SmtpMailSender>();
        services.AddSingleton<ConfirmationSender>();
        services.AddHostedService<RetweetMailConsumer>();
        return builder;
    }

    /// <summary>
    /// Maps <c>/health/live</c>, <c>/health/ready</c>, <c>GET|POST /graphql</c> behind the identity assertion check, and
    /// the pages of the signed links <c>GET|POST /email/confirm</c> and <c>GET|POST /email/unsubscribe</c>.
    /// </summary>
    public static WebApplication MapEmailWorker(this WebApplication app)
    {
        app.MapChirpSubgraph();
        app.MapEmailLinks();
        return app;
    }

    /// <summary>
    /// <c>migrate</c> applies the EF Core migrations; <c>dead-letters list</c> prints the dead letters;
    /// <c>dead-letters replay &lt;id&gt;|--all</c> puts them back on <c>tweet-retweeted</c>.
    /// </summary>
    public static IReadOnlyDictionary<string, ServiceCommand> Commands { get; } = new Dictionary<string, ServiceCommand>
    {
        ["migrate"] = ChirpDatabase.MigrateAsync<EmailDbContext>,
        ["dead-letters"] = DeadLettersAsync,
    };

    private static async Task<int> DeadLettersAsync(IServiceProvider services, string[] args, CancellationToken cancellationToken)
    {
        const string usage = "Usage: dead-letters list | dead-letters replay <entry-id>|--all";
        var redis = services.GetRequiredService<RedisConnection>();
        switch (args)
        {
            case ["list"]:
                {
                    var db = (await redis.GetAsync(cancellationToken)).GetDatabase();
                    var entries = await DeadLetters.ListAsync(db);
                    foreach (var entry in entries)
                    {
                        Console.WriteLine($"{entry.Id}\t{entry[DeadLetters.FailedAtField]}\t{entry[DeadLetters.DeliveriesField]} deliveries\t{entry[DeadLetters.ReasonField]}");
                    }

                    Console.WriteLine($"{entries.Length} dead letter(s) in {TweetRetweetedStream.DeadLetterStreamName}.");
                    return 0;
                }

            case ["replay", var which]:
                {
                    var db = (await redis.GetAsync(cancellationToken)).GetDatabase();
                    string? id = which == "--all" ? null : which;
                    int replayed;
                    try
                    {
                        replayed = await DeadLetters.ReplayAsync(db, id);
                    }
                    catch (RedisServerException e)
                    {
                        await Console.Error.WriteLineAsync($"Cannot replay '{which}': {e.Message}");
                        return 1;
                    }

                    Console.WriteLine($"Replayed {replayed} dead letter(s) onto {TweetRetweetedStream.StreamName}.");
                    return id is not null && replayed == 0 ? 1 : 0;
                }

            default:
                await Console.Error.WriteLineAsync(usage);
                return 2;
        }
    }
}
