// The pipeline benchmark (bench/README.md, section pipeline): writes outbox rows into the tweets database at a steady
// rate, each in its own transaction with the same NOTIFY the tweets service sends, and measures
//   commit -> XADD: from the writer's COMMIT returning to the time in the stream entry id Redis assigned, and
//   commit -> SMTP accept: from COMMIT to the email worker's sent-log row, for the events addressed to a user with a
//   confirmed address and retweet mail on (one event in --mail-every).
// It counts events that never reached the stream (lost) or reached it twice (repeated), and mails that never went out.
// With --gateway the events come from the whole stack instead: retweets through the gateway's REST shim
// (POST /tweets/{id}/retweet) by bench users of tweets the setup posted; "commit" is then when the 201 came back, and
// with --smtp-api the mails the SMTP sink holds are counted too, so a worker killed during the run (bench/pipeline/run
// --kill-worker) shows as lost or repeated mails.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Npgsql;
using StackExchange.Redis;

var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

await using var tweets = NpgsqlDataSource.Create(options.Tweets);
await using var email = NpgsqlDataSource.Create(options.Email);
await using var redis = await ConnectionMultiplexer.ConnectAsync(options.Redis);

// A user whose mail is on and confirmed receives the mailed share of the events; everyone else's are skipped by the worker.
Guid? mailUser = null;
await using (var find = email.CreateCommand("SELECT user_id FROM email_settings WHERE verified AND notify_on_retweet ORDER BY user_id LIMIT 1"))
{
    if (await find.ExecuteScalarAsync() is Guid id)
    {
        mailUser = id;
    }
}

var total = options.Rate * (options.Warmup + options.Seconds);
var commits = new ConcurrentDictionary<string, double>();
var arrivals = new ConcurrentDictionary<string, List<long>>();
var eventIds = new ConcurrentDictionary<string, Guid>();
var mailed = new ConcurrentDictionary<string, bool>();
var requestLatencies = new ConcurrentBag<double>();
var failedRequests = 0;
var clock = Stopwatch.StartNew();
var epochMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - clock.Elapsed.TotalMilliseconds;
double NowMs() => epochMs + clock.Elapsed.TotalMilliseconds;

// Outbox rows are keyed by event id; retweets through the gateway by tweet and retweeter, which the client knows.
static string RetweetKey(string tweetId, string userId) => $"{tweetId}/{userId}";

await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(TweetRetweetedStream.ChannelName), (_, message) =>
{
    using var doc = JsonDocument.Parse((string)message!);
    var entryId = doc.RootElement.GetProperty("id").GetString()!;
    var data = JsonSerializer.Deserialize(doc.RootElement.GetProperty(TweetRetweetedStream.DataField).GetString()!, ContractsJsonContext.Default.TweetRetweeted)!;
    var entryMs = long.Parse(entryId[..entryId.IndexOf('-', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
    var key = options.Gateway is null ? data.EventId : RetweetKey(data.TweetId, data.RetweetedById);
    eventIds.TryAdd(key, Guid.Parse(data.EventId));
    var list = arrivals.GetOrAdd(key, _ => []);
    lock (list)
    {
        list.Add(entryMs);
    }
});

if (options.Backlog > 0)
{
    return await Backlog.RunAsync(options, tweets, redis, arrivals);
}

var stack = options.Gateway is null ? null : await GatewayStack.SetUpAsync(options, total);
if (options.Gateway is not null && stack is null)
{
    return 2;
}

Console.WriteLine($"{(stack is null ? "Writing" : "Retweeting through the gateway:")} {total} events at {options.Rate}/s ({options.Warmup} s warm-up, {options.Seconds} s measured) " +
    $"with {options.Writers} writers; {(stack is null && mailUser is null ? "no mailed events (no user with a confirmed address and retweet mail on)" : $"one in {options.MailEvery} mailed")}.");
var next = -1;
var start = NowMs() + 200;
var cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
var late = 0;
var writers = Enumerable.Range(0, options.Writers).Select(async _ =>
{
    await using var connection = await tweets.OpenConnectionAsync();
    while (true)
    {
        var i = Interlocked.Increment(ref next);
        if (i >= total)
        {
            return;
        }

        var due = start + i * 1000.0 / options.Rate;
        var wait = due - NowMs();
        if (wait > 1)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(wait));
        }
        else if (wait < -50)
        {
            Interlocked.Increment(ref late);
        }

        if (stack is not null)
        {
            var sent = NowMs();
            var (key, mailThis) = await stack.RetweetAsync(i);
            var done = NowMs();
            if (key is null)
            {
                Interlocked.Increment(ref failedRequests);
                continue;
            }

            requestLatencies.Add(done - sent);
            commits[key] = done;
            if (mailThis)
            {
                mailed[key] = true;
            }

            continue;
        }

        var id = Guid.CreateVersion7();
        var mail = mailUser is not null && i % options.MailEvery == 0;
        var e = new TweetRetweeted(id.ToString(), DateTimeOffset.UtcNow, Guid.CreateVersion7().ToString(), Guid.CreateVersion7().ToString(),
            (mail ? mailUser!.Value : Guid.CreateVersion7()).ToString(), "bench", Guid.CreateVersion7().ToString(), "bench", "Bench", null);
        // One batch without an explicit transaction is one implicit transaction (one round trip), so the row and its
        // NOTIFY commit together as the service's retweet commits them.
        await using (var batch = new NpgsqlBatch(connection))
        {
            var insert = new NpgsqlBatchCommand(
                "INSERT INTO outbox_messages (id, type, payload, occurred_at, sent_at, attempts, next_attempt_at, last_error) " +
                "VALUES ($1, $2, $3, now(), NULL, 0, now(), NULL)");
            insert.Parameters.Add(new() { Value = id });
            insert.Parameters.Add(new() { Value = TweetRetweetedStream.EventType });
            insert.Parameters.Add(new() { Value = JsonSerializer.Serialize(e, ContractsJsonContext.Default.TweetRetweeted) });
            batch.BatchCommands.Add(insert);
            batch.BatchCommands.Add(new NpgsqlBatchCommand("NOTIFY chirp_outbox"));
            await batch.ExecuteNonQueryAsync();
        }

        commits[id.ToString()] = NowMs();
        if (mail)
        {
            mailed[id.ToString()] = true;
        }
    }
}).ToList();
await Task.WhenAll(writers);
var writeEnd = NowMs();

// Drain: wait until every event arrived (or the drain time passed).
var drainUntil = NowMs() + options.Drain * 1000;
while (NowMs() < drainUntil && commits.Keys.Any(id => !arrivals.ContainsKey(id)))
{
    await Task.Delay(100);
}

var measuredFrom = start + options.Warmup * 1000.0;
var measured = commits.Where(c => c.Value >= measuredFrom).Select(c => c.Key).ToHashSet();
var xadd = measured.Where(arrivals.ContainsKey).Select(id => Math.Max(0, arrivals[id].Min() - commits[id])).Order().ToArray();
var lost = commits.Keys.Count(id => !arrivals.ContainsKey(id));
var repeated = arrivals.Values.Count(l => l.Count > 1);
var lastArrival = arrivals.Values.SelectMany(l => l).DefaultIfEmpty(0).Max();
var sustained = measured.Count(arrivals.ContainsKey) / ((Math.Max(lastArrival, writeEnd) - measuredFrom) / 1000.0);
var committed = measured.Count / ((commits.Values.DefaultIfEmpty(measuredFrom).Max() - measuredFrom) / 1000.0);

// Mail: the worker's sent log holds when the SMTP server accepted each mail.
var mailLatencies = new List<double>();
var mailsMissing = 0;
if (!mailed.IsEmpty)
{
    var sentAt = new Dictionary<Guid, double>();
    var mailUntil = NowMs() + options.Drain * 1000;
    var mailedEvents = mailed.Keys.Where(eventIds.ContainsKey).ToDictionary(k => eventIds[k], k => k);
    while (true)
    {
        sentAt.Clear();
        await using (var read = email.CreateCommand("SELECT event_id, sent_at FROM sent_mail WHERE event_id = ANY($1)"))
        {
            read.Parameters.Add(new() { Value = mailedEvents.Keys.ToArray() });
            await using var reader = await read.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                sentAt[reader.GetGuid(0)] = reader.GetFieldValue<DateTimeOffset>(1).ToUnixTimeMilliseconds();
            }
        }

        if (sentAt.Count == mailed.Count || NowMs() > mailUntil)
        {
            break;
        }

        await Task.Delay(250);
    }

    mailsMissing = mailed.Count - sentAt.Count;
    mailLatencies.AddRange(sentAt.Select(s => mailedEvents[s.Key]).Where(measured.Contains)
        .Select(key => Math.Max(0, sentAt[eventIds[key]] - commits[key])).Order());
}

// A mail the SMTP server accepted twice (a worker killed after the accept, before its sent log) shows as a repeated subject:
// every bench tweet's text is unique, so every retweet mail's subject is.
int? repeatedMails = stack is not null && options.SmtpApi is not null ? await stack.RepeatedMailsAsync(options.SmtpApi) : null;

static string Percentiles(IReadOnlyList<double> sorted) => sorted.Count == 0
    ? "no samples"
    : string.Create(CultureInfo.InvariantCulture, $"p50 {sorted[(int)(sorted.Count * 0.50)]:0.0} ms, p99 {sorted[Math.Min(sorted.Count - 1, (int)(sorted.Count * 0.99))]:0.0} ms, max {sorted[^1]:0.0} ms ({sorted.Count} samples)");

var goalMet = sustained >= options.Rate * 0.98 && xadd.Length > 0 && xadd[Math.Min(xadd.Length - 1, (int)(xadd.Length * 0.99))] <= 50
    && lost == 0 && mailsMissing == 0 && failedRequests == 0 && repeatedMails is null or 0;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
    offered            {options.Rate} events/s; committed {committed:0} events/s; writers late by > 50 ms: {late} times
    sustained          {sustained:0} events/s from commit to XADD over the measured {options.Seconds} s
    commit -> XADD     {Percentiles(xadd)}
    commit -> SMTP     {Percentiles(mailLatencies)}
    {(stack is null ? "" : $"requests           {Percentiles([.. requestLatencies.Order()])}; {failedRequests} failed\n")}lost               {lost} events never reached the stream; {mailsMissing} of {mailed.Count} mails not accepted within the drain time
    repeated           {repeated} events reached the stream more than once{(repeatedMails is { } r ? $"; {r} mails accepted by the SMTP server more than once" : "")}
    goal (>= {options.Rate} events/s, p99 commit -> XADD <= 50 ms, 0 lost): {(goalMet ? "met" : "missed")}
    bench CPU {(Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart).TotalMilliseconds / Math.Max(1, total):0.000} ms/event
    """));
return goalMet ? 0 : 1;

/// <summary>Command-line options of the pipeline benchmark.</summary>
internal sealed record BenchOptions(
    string Tweets, string Email, string Redis, int Rate, int Seconds, int Warmup, int Writers, int MailEvery, int Drain,
    string? Gateway, string? SmtpApi, string Password, int Backlog)
{
    public const string Usage =
        "Usage: --tweets <npgsql cs> --email <npgsql cs> --redis <redis cs> [--rate 2000] [--seconds 20] [--warmup 5] [--writers 16] [--mail-every 50] [--drain 30]" +
        " [--gateway <url> [--smtp-api <smtp4dev url>] [--password <alice's password>]] [--backlog N]";

    public static BenchOptions? Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                return null;
            }

            values[args[i][2..]] = args[i + 1];
        }

        int Int(string name, int fallback) => values.TryGetValue(name, out var v) && int.TryParse(v, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : fallback;
        return values.TryGetValue("tweets", out var t) && values.TryGetValue("email", out var e) && values.TryGetValue("redis", out var r)
            ? new BenchOptions(t, e, r, Int("rate", 2000), Int("seconds", 20), Int("warmup", 5), Int("writers", 16), Int("mail-every", 50), Int("drain", 30),
                values.GetValueOrDefault("gateway"), values.GetValueOrDefault("smtp-api"), values.GetValueOrDefault("password") ?? "chirp-demo-password", Int("backlog", 0))
            : null;
    }
}

/// <summary>
/// The relay's capacity without the load generator competing for the cores: <c>--backlog N</c> outbox rows committed in
/// one transaction (one <c>NOTIFY</c>), then the time until the last of them is in the stream, and until the email
/// worker has acknowledged all of them (it reads them while the relay is still sending).
/// </summary>
internal static class Backlog
{
    public static async Task<int> RunAsync(
        BenchOptions options, NpgsqlDataSource tweets, IConnectionMultiplexer redis, ConcurrentDictionary<string, List<long>> arrivals)
    {
        var n = options.Backlog;
        var before = await AcknowledgedAsync(redis);
        await using var connection = await tweets.OpenConnectionAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using (var copy = await connection.BeginBinaryImportAsync(
                "COPY outbox_messages (id, type, payload, occurred_at, sent_at, attempts, next_attempt_at, last_error) FROM STDIN (FORMAT BINARY)"))
            {
                var now = DateTimeOffset.UtcNow;
                for (var i = 0; i < n; i++)
                {
                    var id = Guid.CreateVersion7();
                    var e = new TweetRetweeted(id.ToString(), now, Guid.CreateVersion7().ToString(), Guid.CreateVersion7().ToString(),
                        Guid.CreateVersion7().ToString(), "bench", Guid.CreateVersion7().ToString(), "bench", "Bench", null);
                    await copy.StartRowAsync();
                    await copy.WriteAsync(id, NpgsqlTypes.NpgsqlDbType.Uuid);
                    await copy.WriteAsync(TweetRetweetedStream.EventType, NpgsqlTypes.NpgsqlDbType.Text);
                    await copy.WriteAsync(JsonSerializer.Serialize(e, ContractsJsonContext.Default.TweetRetweeted), NpgsqlTypes.NpgsqlDbType.Text);
                    await copy.WriteAsync(now, NpgsqlTypes.NpgsqlDbType.TimestampTz);
                    await copy.WriteNullAsync();
                    await copy.WriteAsync(0, NpgsqlTypes.NpgsqlDbType.Integer);
                    await copy.WriteAsync(now, NpgsqlTypes.NpgsqlDbType.TimestampTz);
                    await copy.WriteNullAsync();
                }

                await copy.CompleteAsync();
            }

            await using (var notify = new NpgsqlCommand("NOTIFY chirp_outbox", connection, transaction))
            {
                await notify.ExecuteNonQueryAsync();
            }

            await transaction.CommitAsync();
        }

        var committed = Stopwatch.StartNew();
        Console.WriteLine($"Committed a backlog of {n} outbox rows in one transaction.");
        TimeSpan? relayed = null;
        TimeSpan? consumed = null;
        while (committed.Elapsed < TimeSpan.FromSeconds(options.Drain) && consumed is null)
        {
            await Task.Delay(50);
            if (relayed is null && arrivals.Count >= n)
            {
                relayed = committed.Elapsed;
            }

            if (relayed is not null && await AcknowledgedAsync(redis) - before >= n)
            {
                consumed = committed.Elapsed;
            }
        }

        static string Rate(int count, TimeSpan? took) => took is { } t
            ? string.Create(CultureInfo.InvariantCulture, $"{count / t.TotalSeconds:0} events/s ({t.TotalSeconds:0.00} s)")
            : "did not finish within the drain time";
        Console.WriteLine($"""
            relayed            {Rate(n, relayed)} from the commit to the last XADD
            consumed           {Rate(n, consumed)} from the commit to the email worker's last acknowledgement
            """);
        return relayed is null || consumed is null ? 1 : 0;
    }

    /// <summary>Entries the email worker's group has read and acknowledged so far (<c>XINFO GROUPS</c>: entries-read minus pending).</summary>
    private static async Task<long> AcknowledgedAsync(IConnectionMultiplexer redis)
    {
        var groups = await redis.GetDatabase().StreamGroupInfoAsync(TweetRetweetedStream.StreamName);
        var group = groups.Single(g => g.Name == TweetRetweetedStream.EmailWorkerGroup);
        return (group.EntriesRead ?? 0) - group.PendingMessageCount;
    }
}

/// <summary>
/// The whole-stack source of events: bench users (signed up and logged in through the gateway) retweet tweets that the
/// setup posted, one (user, tweet) pair per event. One tweet in <c>--mail-every</c> is alice's, so its retweets are
/// mailed to her; the others belong to a bench author without email settings, whose retweets the worker skips.
/// </summary>
internal sealed class GatewayStack(HttpClient http, string[] userIds, string[] tokens, string[] tweetIds, bool[] mailedTweets, string runTag)
{
    /// <summary>Signs up and logs in the users, posts enough tweets for <paramref name="total"/> distinct retweets; null after printing why it could not.</summary>
    public static async Task<GatewayStack?> SetUpAsync(BenchOptions options, int total)
    {
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Writers * 2 })
        {
            BaseAddress = new Uri(options.Gateway!.TrimEnd('/') + "/"),
            Timeout = TimeSpan.FromSeconds(60),
        };
        var runTag = Guid.NewGuid().ToString("N")[..6];
        try
        {
            var alice = await LogInAsync(http, "alice", options.Password);
            var users = new List<(string Id, string Token)>();
            for (var i = 0; i <= options.Writers; i++)
            {
                var handle = $"bp{runTag}{i:00}";
                var signUp = await GraphQLAsync(http, null,
                    "mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }",
                    new JsonObject { ["input"] = new JsonObject { ["handle"] = handle, ["displayName"] = $"Bench {i}", ["password"] = options.Password } });
                var id = signUp["signUp"]!["user"]!["id"]!.GetValue<string>();
                users.Add((id, await LogInAsync(http, handle, options.Password)));
            }

            // The last bench user only writes the tweets nobody is mailed about.
            var author = users[^1];
            users.RemoveAt(users.Count - 1);
            var tweetCount = (total + users.Count - 1) / users.Count;
            var tweetIds = new string[tweetCount];
            var mailedTweets = new bool[tweetCount];
            Console.WriteLine($"Setting up: {users.Count} bench users, {tweetCount} tweets (run {runTag}).");
            for (var t = 0; t < tweetCount; t++)
            {
                mailedTweets[t] = t % options.MailEvery == 0;
                using var request = new HttpRequestMessage(HttpMethod.Post, "tweets")
                {
                    Content = JsonContent.Create(new JsonObject { ["text"] = $"Bench {runTag} tweet {t}" }),
                };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", mailedTweets[t] ? alice : author.Token);
                using var response = await http.SendAsync(request);
                response.EnsureSuccessStatusCode();
                tweetIds[t] = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
            }

            return new GatewayStack(http, [.. users.Select(u => u.Id)], [.. users.Select(u => u.Token)], tweetIds, mailedTweets, runTag);
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException or NullReferenceException or JsonException)
        {
            Console.Error.WriteLine($"Setting up the bench users and tweets through {options.Gateway} failed: {e.Message}");
            http.Dispose();
            return null;
        }
    }

    /// <summary>Event number <paramref name="index"/>: its user retweets its tweet. The event's key, or null when the answer was not 201.</summary>
    public async Task<(string? Key, bool Mailed)> RetweetAsync(int index)
    {
        var user = index % userIds.Length;
        var tweet = index / userIds.Length;
        using var request = new HttpRequestMessage(HttpMethod.Post, $"tweets/{tweetIds[tweet]}/retweet");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens[user]);
        try
        {
            using var response = await http.SendAsync(request);
            return response.StatusCode == HttpStatusCode.Created ? ($"{tweetIds[tweet]}/{userIds[user]}", mailedTweets[tweet]) : (null, false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return (null, false);
        }
    }

    /// <summary>Mails of this run that the SMTP sink (smtp4dev's API at <paramref name="smtpApi"/>) accepted more than once.</summary>
    public async Task<int?> RepeatedMailsAsync(string smtpApi)
    {
        try
        {
            var page = await http.GetFromJsonAsync<JsonNode>($"{smtpApi.TrimEnd('/')}/api/messages?searchTerms={runTag}&pageSize=100000");
            var messages = (page as JsonArray ?? page?["results"] as JsonArray ?? []).Select(m => m?["subject"]?.GetValue<string>() ?? "");
            return messages.Where(s => s.Contains(runTag, StringComparison.Ordinal)).GroupBy(s => s).Count(g => g.Count() > 1);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException)
        {
            Console.Error.WriteLine($"Could not read the SMTP sink's messages: {e.Message}");
            return null;
        }
    }

    private static async Task<string> LogInAsync(HttpClient http, string handle, string password)
    {
        using var response = await http.PostAsync("auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["username"] = handle,
            ["password"] = password,
        }));
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        return body?["access_token"]?.GetValue<string>() ?? throw new InvalidOperationException($"logging in {handle} got {(int)response.StatusCode}");
    }

    private static async Task<JsonNode> GraphQLAsync(HttpClient http, string? token, string query, JsonObject variables)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "graphql")
        {
            Content = JsonContent.Create(new JsonObject { ["query"] = query, ["variables"] = variables }),
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        return body?["data"] is JsonObject data && body["errors"] is null
            ? data
            : throw new InvalidOperationException($"GraphQL answered {(int)response.StatusCode}: {body?["errors"]?.ToJsonString()}");
    }
}
