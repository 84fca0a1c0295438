// The pipeline benchmark (bench/README.md, section pipeline): writes outbox rows into the tweets database at a steady
// rate, each in its own transaction with the same NOTIFY the tweets service sends, and measures
//   commit -> XADD: from the writer's COMMIT returning to the time in the stream entry id Redis assigned, and
//   commit -> SMTP accept: from COMMIT to the email worker's sent-log row, for the events addressed to a user with a
//   confirmed address and retweet mail on (one event in --mail-every).
// It counts events that never reached the stream (lost) or reached it twice (repeated), and mails that never went out.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
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
var commits = new ConcurrentDictionary<Guid, double>();
var arrivals = new ConcurrentDictionary<Guid, List<long>>();
var mailed = new ConcurrentDictionary<Guid, bool>();
var clock = Stopwatch.StartNew();
var epochMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - clock.Elapsed.TotalMilliseconds;
double NowMs() => epochMs + clock.Elapsed.TotalMilliseconds;

await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(TweetRetweetedStream.ChannelName), (_, message) =>
{
    using var doc = JsonDocument.Parse((string)message!);
    var entryId = doc.RootElement.GetProperty("id").GetString()!;
    var data = JsonSerializer.Deserialize(doc.RootElement.GetProperty(TweetRetweetedStream.DataField).GetString()!, ContractsJsonContext.Default.TweetRetweeted)!;
    var entryMs = long.Parse(entryId[..entryId.IndexOf('-', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
    var list = arrivals.GetOrAdd(Guid.Parse(data.EventId), _ => []);
    lock (list)
    {
        list.Add(entryMs);
    }
});

Console.WriteLine($"Writing {total} events at {options.Rate}/s ({options.Warmup} s warm-up, {options.Seconds} s measured) " +
    $"with {options.Writers} writers; {(mailUser is null ? "no mailed events (no user with a confirmed address and retweet mail on)" : $"one in {options.MailEvery} mailed")}.");
var next = -1;
var start = NowMs() + 200;
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

        var id = Guid.CreateVersion7();
        var mail = mailUser is not null && i % options.MailEvery == 0;
        var e = new TweetRetweeted(id.ToString(), DateTimeOffset.UtcNow, Guid.CreateVersion7().ToString(), Guid.CreateVersion7().ToString(),
            (mail ? mailUser!.Value : Guid.CreateVersion7()).ToString(), "bench", Guid.CreateVersion7().ToString(), "bench", "Bench", null);
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var batch = new NpgsqlBatch(connection, transaction))
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

        await transaction.CommitAsync();
        commits[id] = NowMs();
        if (mail)
        {
            mailed[id] = true;
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
    while (true)
    {
        sentAt.Clear();
        await using (var read = email.CreateCommand("SELECT event_id, sent_at FROM sent_mail WHERE event_id = ANY($1)"))
        {
            read.Parameters.Add(new() { Value = mailed.Keys.ToArray() });
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
    mailLatencies.AddRange(sentAt.Where(s => measured.Contains(s.Key)).Select(s => Math.Max(0, s.Value - commits[s.Key])).Order());
}

static string Percentiles(IReadOnlyList<double> sorted) => sorted.Count == 0
    ? "no samples"
    : string.Create(CultureInfo.InvariantCulture, $"p50 {sorted[(int)(sorted.Count * 0.50)]:0.0} ms, p99 {sorted[Math.Min(sorted.Count - 1, (int)(sorted.Count * 0.99))]:0.0} ms, max {sorted[^1]:0.0} ms ({sorted.Count} samples)");

var goalMet = sustained >= options.Rate * 0.98 && xadd.Length > 0 && xadd[Math.Min(xadd.Length - 1, (int)(xadd.Length * 0.99))] <= 50 && lost == 0;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
    offered            {options.Rate} events/s; committed {committed:0} events/s; writers late by > 50 ms: {late} times
    sustained          {sustained:0} events/s from commit to XADD over the measured {options.Seconds} s
    commit -> XADD     {Percentiles(xadd)}
    commit -> SMTP     {Percentiles(mailLatencies)}
    lost               {lost} events never reached the stream; {mailsMissing} of {mailed.Count} mails not accepted within the drain time
    repeated           {repeated} events reached the stream more than once
    goal (>= {options.Rate} events/s, p99 commit -> XADD <= 50 ms, 0 lost): {(goalMet ? "met" : "missed")}
    """));
return goalMet ? 0 : 1;

/// <summary>Command-line options of the pipeline benchmark.</summary>
internal sealed record BenchOptions(string Tweets, string Email, string Redis, int Rate, int Seconds, int Warmup, int Writers, int MailEvery, int Drain)
{
    public const string Usage =
        "Usage: --tweets <npgsql cs> --email <npgsql cs> --redis <redis cs> [--rate 2000] [--seconds 20] [--warmup 5] [--writers 16] [--mail-every 50] [--drain 30]";

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
            ? new BenchOptions(t, e, r, Int("rate", 2000), Int("seconds", 20), Int("warmup", 5), Int("writers", 16), Int("mail-every", 50), Int("drain", 30))
            : null;
    }
}
