using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Chirp.Contracts;
using Chirp.EmailWorker.Data;
using Chirp.EmailWorker.Links;
using Chirp.EmailWorker.Mail;
using Chirp.Hosting;
using Chirp.IdentityAssertions;
using Chirp.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chirp.EmailWorker.Tests;

/// <summary>
/// A real email worker wired to its own Redis, SMTP sink and freshly migrated database, plus the helpers tests
/// use to write events, read the consumer group and call the subgraph with a signed identity assertion.
/// </summary>
public sealed class EmailWorkerHarness : IAsyncDisposable
{
    public const string From = "Chirp <no-reply@chirp.test>";

    /// <summary>The gateway's public base URL as the worker is configured with it; <see cref="SendLinkAsync"/> maps it to the worker.</summary>
    public const string PublicBaseUrl = "https://chirp.test";

    /// <summary>DKIM signing domain and selector of the test key (<see cref="DkimKey"/>).</summary>
    public const string DkimDomain = "chirp.test";

    public const string DkimSelector = "test";

    /// <summary>The link key id the harness signs with by default.</summary>
    public const string LinkKeyId = "links-1";

    /// <summary>A link key for tests (32 bytes, base64), distinct from the identity key.</summary>
    public static readonly string LinkKey = Convert.ToBase64String(Encoding.ASCII.GetBytes("chirp-email-worker-tests-link-key-0123456789"));

    /// <summary>The RSA key the worker signs DKIM with, generated once per test run and written to a temporary PEM file.</summary>
    public static readonly RSA DkimKey = RSA.Create(2048);

    private static readonly Lazy<string> LazyDkimKeyFile = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), $"chirp-dkim-{Environment.ProcessId}.pem");
        File.WriteAllText(path, DkimKey.ExportPkcs8PrivateKeyPem());
        return path;
    });


    private readonly Dictionary<string, string?> _settings;

    /// <summary>Path of the PEM file holding <see cref="DkimKey"/>.</summary>
    public static string DkimKeyFile => LazyDkimKeyFile.Value;

    /// <summary>The DKIM options the harness configures the worker with.</summary>
    public static DkimOptions Dkim => new() { Domain = DkimDomain, Selector = DkimSelector, PrivateKeyFile = DkimKeyFile };

    private readonly KeyFolder _identityKeys;
    private readonly IdentityAssertionCodec _codec;

    private EmailWorkerHarness(
        RedisServer redis, SmtpSink smtp, string emailConnectionString, ConnectionMultiplexer client, KeyFolder identityKeys, KeyFolder linkKeys, Dictionary<string, string?> settings)
    {
        Redis = redis;
        Smtp = smtp;
        EmailConnectionString = emailConnectionString;
        RedisClient = client;
        _identityKeys = identityKeys;
        LinkKeys = linkKeys;
        _settings = settings;
        _codec = identityKeys.Codec();
    }

    /// <summary>The worker's link key folder (<c>EmailLinks:KeyDirectory</c>); it starts with <see cref="LinkKey"/> as <see cref="LinkKeyId"/>.</summary>
    public KeyFolder LinkKeys { get; }

    public RedisServer Redis { get; }

    public SmtpSink Smtp { get; }

    public string EmailConnectionString { get; }

    /// <summary>The test's own Redis client (reconnects by itself after a restart).</summary>
    public ConnectionMultiplexer RedisClient { get; }

    public IDatabase Db => RedisClient.GetDatabase();

    /// <summary>The running worker, or null while it is stopped.</summary>
    public ServiceHost? Worker { get; private set; }

    /// <summary>
    /// Starts Redis and an SMTP sink, creates and migrates a database on <paramref name="postgres"/>, and (unless
    /// <paramref name="startWorker"/> is false) starts the worker. <paramref name="settings"/> override the defaults,
    /// which use short delays so retries happen within a test. <paramref name="redisAppendOnly"/> gives Redis an
    /// append-only file, so it keeps the stream and the group across a restart.
    /// </summary>
    public static async Task<EmailWorkerHarness> StartAsync(
        PostgresServer postgres, IDictionary<string, string?>? settings = null, bool startWorker = true, bool redisAppendOnly = false)
    {
        var redis = await RedisServer.StartAsync(redisAppendOnly);
        var smtp = await SmtpSink.StartAsync();
        var email = await postgres.CreateDatabaseAsync("email_" + Guid.NewGuid().ToString("N")[..12]);
        await MigrateAsync(email);

        var identityKeys = KeyFolder.Create();
        var linkKeys = KeyFolder.Create(LinkKey, LinkKeyId);
        var merged = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Email"] = email,
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Smtp:Host"] = smtp.Host,
            ["Smtp:Port"] = smtp.Port.ToString(),
            ["Smtp:From"] = From,
            ["Smtp:Timeout"] = "00:00:05",
            [identityKeys.Setting().Key] = identityKeys.Setting().Value,
            ["EmailLinks:PublicBaseUrl"] = PublicBaseUrl,
            [linkKeys.Setting(EmailLinkOptions.SectionName).Key] = linkKeys.Setting(EmailLinkOptions.SectionName).Value,
            ["EmailLinks:ConfirmationResendInterval"] = "00:00:00",
            ["Dkim:Domain"] = DkimDomain,
            ["Dkim:Selector"] = DkimSelector,
            ["Dkim:PrivateKeyFile"] = DkimKeyFile,
            ["EmailWorker:PollInterval"] = "00:00:00.100",
            ["EmailWorker:RetryBaseDelay"] = "00:00:00.200",
            ["EmailWorker:RetryMaxDelay"] = "00:00:01",
            ["EmailWorker:ClaimIdleTime"] = "00:00:10",
            ["EmailWorker:MaxDeliveries"] = "5",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        var client = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var harness = new EmailWorkerHarness(redis, smtp, email, client, identityKeys, linkKeys, merged);
        if (startWorker)
        {
            await harness.StartWorkerAsync();
        }

        return harness;
    }

    /// <summary>Applies the migrations with the same code as the <c>migrate</c> command.</summary>
    public static async Task MigrateAsync(string connectionString)
    {
        var services = new ServiceCollection()
            .AddDbContextFactory<EmailDbContext>(o => o.UseNpgsql(connectionString))
            .BuildServiceProvider();
        await using (services)
        {
            Assert.Equal(0, await ChirpDatabase.MigrateAsync<EmailDbContext>(services, [], CancellationToken.None));
        }
    }

    public async Task StartWorkerAsync()
    {
        Assert.Null(Worker);
        Worker = await ServiceHost.StartAsync("Chirp.EmailWorker", _settings, b => b.AddEmailWorker(), a => a.MapEmailWorker());
    }

    /// <summary>
    /// Sends <paramref name="method"/> to a link the worker mailed (<c>{PublicBaseUrl}/email/...</c>) at the worker itself,
    /// as the gateway forwards it; a POST carries RFC 8058's body <c>List-Unsubscribe=One-Click</c>. Returns the status and page.
    /// </summary>
    public async Task<(int Status, string Page)> SendLinkAsync(HttpMethod method, string link)
    {
        Assert.StartsWith(PublicBaseUrl + "/email/", link, StringComparison.Ordinal);
        var worker = Worker ?? throw new InvalidOperationException("The worker is not running.");
        using var http = worker.CreateClient();
        using var request = new HttpRequestMessage(method, link[(PublicBaseUrl.Length + 1)..]);
        if (method == HttpMethod.Post)
        {
            request.Content = new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]);
        }

        using var response = await http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// A link signer as a worker whose only link key is <paramref name="kid"/> = <paramref name="key"/> would be at
    /// <paramref name="now"/>: issues links dated in the past or signed by another key. Disposed with the harness.
    /// </summary>
    public EmailLinks LinksAt(DateTimeOffset now, string kid = LinkKeyId, string? key = null)
    {
        var folder = _identityKeys.Own(KeyFolder.Create(key ?? LinkKey, kid));
        return folder.Own(new EmailLinks(
            Options.Create(new EmailLinkOptions { PublicBaseUrl = PublicBaseUrl, KeyDirectory = folder.Directory }),
            _codec,
            new FixedTime(now),
            NullLogger<EmailLinks>.Instance));
    }

    /// <summary>The first <c>{PublicBaseUrl}/email/...</c> link in <paramref name="text"/>.</summary>
    public static string LinkIn(string? text)
    {
        var match = Regex.Match(text ?? "", Regex.Escape(PublicBaseUrl) + @"/email/[A-Za-z]+\?token=[A-Za-z0-9_.%-]+");
        Assert.True(match.Success, $"no link in: {text}");
        return match.Value;
    }

    /// <summary>The settings row of <paramref name="userId"/>, or null.</summary>
    public async Task<EmailSettings?> SettingsAsync(Guid userId)
    {
        await using var db = CreateDbContext();
        return await db.EmailSettings.AsNoTracking().FirstOrDefaultAsync(s => s.UserId == userId);
    }

    /// <summary>
    /// Starts the worker as a child process (<see cref="ServiceProcess"/>) with the harness settings, once it is ready, so
    /// a test can kill it with SIGKILL like a crashed pod.
    /// </summary>
    public Task<ServiceProcess> StartWorkerProcessAsync() =>
        ServiceProcess.StartAsync("email-worker/Chirp.EmailWorker",
            _settings.Where(s => s.Value is not null).ToDictionary(s => s.Key, s => s.Value!));

    public async Task StopWorkerAsync()
    {
        if (Worker is { } worker)
        {
            Worker = null;
            await worker.StopAsync();
        }
    }

    public EmailDbContext CreateDbContext() =>
        new(new DbContextOptionsBuilder<EmailDbContext>().UseNpgsql(EmailConnectionString).Options);

    /// <summary>The user that <see cref="StartWithAliceAsync"/> opted in to retweet mail at the verified <c>alice@example.test</c>.</summary>
    public Guid Alice { get; private set; }

    /// <summary>
    /// <see cref="StartAsync"/>, then opts <see cref="Alice"/> in to retweet mail with the verified address
    /// <c>alice@example.test</c>: the arrange step of most consumer tests.
    /// </summary>
    public static async Task<EmailWorkerHarness> StartWithAliceAsync(PostgresServer postgres, IDictionary<string, string?>? settings = null, bool startWorker = true)
    {
        var harness = await StartAsync(postgres, settings, startWorker);
        try
        {
            harness.Alice = Guid.CreateVersion7();
            await harness.SetSettingsAsync(harness.Alice, "alice@example.test");
            return harness;
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stores a user's settings directly, as they would be after updates and a confirmation.</summary>
    public async Task SetSettingsAsync(Guid userId, string? address, bool verified = true, bool notifyOnRetweet = true)
    {
        await using var db = CreateDbContext();
        db.EmailSettings.Add(new EmailSettings
        {
            UserId = userId,
            Address = address,
            Verified = verified,
            NotifyOnRetweet = notifyOnRetweet,
            UpdatedAt = DateTimeOffset.UtcNow,
        });
        await db.SaveChangesAsync();
    }

    /// <summary>A new retweet event of a tweet by <paramref name="authorId"/>.</summary>
    public static TweetRetweeted NewEvent(Guid authorId, string displayName = "Carol", string handle = "carol", string text = "Hello, Chirp!") =>
        new(
            EventId: Guid.CreateVersion7().ToString(),
            OccurredAt: DateTimeOffset.UtcNow,
            RetweetId: Guid.CreateVersion7().ToString(),
            TweetId: Guid.CreateVersion7().ToString(),
            TweetAuthorId: authorId.ToString(),
            TweetText: text,
            RetweetedById: Guid.CreateVersion7().ToString(),
            RetweetedByHandle: handle,
            RetweetedByDisplayName: displayName,
            Traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

    /// <summary>Writes <paramref name="e"/> as the tweets subgraph's relay does: <c>XADD</c>, then <c>PUBLISH</c>.</summary>
    public async Task<RedisValue> AddEventAsync(TweetRetweeted e)
    {
        var data = JsonSerializer.Serialize(e, ContractsJsonContext.Default.TweetRetweeted);
        return await AddEntryAsync(
            new NameValueEntry(TweetRetweetedStream.TypeField, TweetRetweetedStream.EventType),
            new NameValueEntry(TweetRetweetedStream.VersionField, TweetRetweetedStream.Version),
            new NameValueEntry(TweetRetweetedStream.DataField, data));
    }

    /// <summary>Adds a raw entry to <c>tweet-retweeted</c> and publishes on its channel; retries while Redis reconnects.</summary>
    public async Task<RedisValue> AddEntryAsync(params NameValueEntry[] fields)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                var id = await Db.StreamAddAsync(TweetRetweetedStream.StreamName, fields);
                await Db.PublishAsync(RedisChannel.Literal(TweetRetweetedStream.ChannelName), id.ToString());
                return id;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Waits until the worker's group exists, so the worker is past its start.</summary>
    public async Task WaitForGroupAsync(TimeSpan? timeout = null)
    {
        await Eventually(async () =>
        {
            try
            {
                var groups = await Db.StreamGroupInfoAsync(TweetRetweetedStream.StreamName);
                return groups.Any(g => g.Name == TweetRetweetedStream.EmailWorkerGroup);
            }
            catch (RedisServerException)
            {
                return false;
            }
        }, timeout ?? TimeSpan.FromSeconds(15), "the consumer group was not created");
    }

    /// <summary>Waits until the group has delivered <paramref name="entryId"/> and nothing is pending.</summary>
    public async Task WaitUntilAcknowledgedAsync(RedisValue entryId, TimeSpan? timeout = null)
    {
        await Eventually(async () =>
        {
            var group = await GroupAsync();
            return group is { } g && CompareIds(g.LastDeliveredId, entryId) >= 0 && g.PendingMessageCount == 0;
        }, timeout ?? TimeSpan.FromSeconds(15), $"entry {entryId} was not delivered and acknowledged");
    }

    /// <summary>The number of unacknowledged entries in the group (0 when there is no group).</summary>
    public async Task<long> PendingCountAsync() => (await GroupAsync())?.PendingMessageCount ?? 0;

    public async Task<StreamEntry[]> DeadLettersAsync() => await Db.StreamRangeAsync(TweetRetweetedStream.DeadLetterStreamName);

    public async Task<StreamEntry> WaitForDeadLetterAsync(TimeSpan? timeout = null)
    {
        StreamEntry[] dead = [];
        await Eventually(async () => (dead = await DeadLettersAsync()).Length > 0, timeout ?? TimeSpan.FromSeconds(15), "no dead letter appeared");
        return Assert.Single(dead);
    }

    public async Task<List<SentMail>> SentLogAsync()
    {
        await using var db = CreateDbContext();
        return await db.SentMail.AsNoTracking().ToListAsync();
    }

    /// <summary>A signed <c>Chirp-Identity</c> assertion for <paramref name="userId"/>.</summary>
    public string IdentityFor(Guid userId, string scope = "tweets:write email:manage") =>
        _codec.Sign(userId.ToString(), "user" + userId.ToString("N")[..8], "Test User", scope);

    /// <summary>Runs <c>updateEmailSettings</c> as <paramref name="userId"/> with <paramref name="input"/>; returns the status and body.</summary>
    public Task<(int Status, JsonObject Body)> UpdateSettingsAsync(Guid userId, JsonObject input) =>
        GraphQLAsync(
            "mutation ($input: UpdateEmailSettingsInput!) { updateEmailSettings(input: $input) { emailSettings { address verified notifyOnRetweet } } }",
            new JsonObject { ["input"] = input },
            IdentityFor(userId));

    /// <summary>POSTs a GraphQL request to the worker; returns the status and the parsed body.</summary>
    public async Task<(int Status, JsonObject Body)> GraphQLAsync(string query, JsonObject? variables = null, string? identity = null)
    {
        var worker = Worker ?? throw new InvalidOperationException("The worker is not running.");
        using var http = worker.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "graphql")
        {
            Content = new StringContent(new JsonObject { ["query"] = query, ["variables"] = variables?.DeepClone() }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/graphql-response+json"));
        if (identity is not null)
        {
            request.Headers.Add(ChirpHeaders.Identity, identity);
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonNode.Parse(text) as JsonObject ?? new JsonObject { ["raw"] = text });
    }

    public async ValueTask DisposeAsync()
    {
        await StopWorkerAsync();
        await RedisClient.DisposeAsync();
        await Smtp.DisposeAsync();
        await Redis.DisposeAsync();
        LinkKeys.Dispose();
        _identityKeys.Dispose();
    }

    public static async Task Eventually(Func<Task<bool>> condition, TimeSpan timeout, string failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (RedisException) when (DateTime.UtcNow < deadline)
            {
                // Redis is restarting; ask again.
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Within {timeout.TotalSeconds:0.#} s: {failure}.");
            }

            await Task.Delay(50);
        }
    }

    private async Task<StreamGroupInfo?> GroupAsync()
    {
        try
        {
            var groups = await Db.StreamGroupInfoAsync(TweetRetweetedStream.StreamName);
            return groups.Cast<StreamGroupInfo?>().FirstOrDefault(g => g!.Value.Name == TweetRetweetedStream.EmailWorkerGroup);
        }
        catch (RedisServerException)
        {
            return null;
        }
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    /// <summary>Orders stream ids (<c>ms-seq</c>) numerically.</summary>
    private static int CompareIds(RedisValue a, RedisValue b)
    {
        static (long, long) Parse(RedisValue id)
        {
            var text = id.ToString();
            var dash = text.IndexOf('-', StringComparison.Ordinal);
            return dash < 0 ? (long.Parse(text), 0) : (long.Parse(text[..dash]), long.Parse(text[(dash + 1)..]));
        }

        return Parse(a).CompareTo(Parse(b));
    }
}
