using Chirp.Hosting;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Chirp.Contracts;
using Chirp.Tweets.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chirp.Tweets.Events;

/// <summary>
/// Moves committed outbox rows to Redis (docs/architecture.md section 5). In a loop it claims due unsent rows with
/// <c>SELECT ... FOR UPDATE SKIP LOCKED</c> inside a transaction (so several replicas share the rows and none sends
/// a row another holds), and for each row runs <c>XADD tweet-retweeted * type tweet-retweeted v 1 data &lt;json&gt;</c>,
/// then <c>PUBLISH tweet-retweeted &lt;entry JSON&gt;</c> (<see cref="TweetRetweetedEnvelope"/>), then marks it sent (one
/// <c>UPDATE</c> for all the sent rows of a batch). The
/// pair is one server-side script per row (the channel message needs the id <c>XADD</c> returns) and the scripts of
/// a whole batch go out pipelined, so a batch costs one round trip to Redis however many rows it holds.
/// When Redis fails it counts the attempt and backs the row off exponentially; it never gives up on a row.
/// Every <see cref="OutboxRelayOptions.CleanupInterval"/> it deletes rows sent more than
/// <see cref="OutboxRelayOptions.Retention"/> ago, <see cref="OutboxRelayOptions.CleanupBatchSize"/> at a time so no
/// statement holds many row locks or runs long.
/// Wakes on <see cref="OutboxSignal"/> after a commit of any replica (<see cref="OutboxListener"/>), on a Redis reconnect, and every
/// <see cref="OutboxRelayOptions.PollInterval"/>, then lingers <see cref="OutboxRelayOptions.Linger"/> so that commits arriving
/// together share a batch: under load the per-batch cost (a transaction, a Redis round trip) is paid once for many rows. Delivery is at least once: a crash between <c>XADD</c> and the
/// commit of <c>sent_at</c> sends the row again, and consumers dedupe by <c>eventId</c>.
/// </summary>
public sealed class OutboxRelay(
    IDbContextFactory<TweetsDbContext> contexts,
    RedisConnection redisConnection,
    OutboxSignal signal,
    IOptions<OutboxRelayOptions> options,
    TimeProvider time,
    ILogger<OutboxRelay> logger) : BackgroundService
{
    /// <summary>Unpublished rows at the last pass of this process's relay ({message}); -1 until the first pass.</summary>
    private static long _backlog = -1;

    /// <summary>When the oldest unpublished row occurred (Unix milliseconds), or 0 when none is waiting.</summary>
    private static long _oldestUnpublishedAt;

    // Both report nothing before the first pass: a 0 then would claim an empty outbox nobody has looked at.
    private static readonly ObservableGauge<long> BacklogGauge = Telemetry.Meter.CreateObservableGauge(
        "chirp.outbox.backlog",
        () => Interlocked.Read(ref _backlog) is var backlog and >= 0 ? [new Measurement<long>(backlog)] : Array.Empty<Measurement<long>>(),
        "{message}", "Outbox rows not yet published to Redis.");

    private static readonly ObservableGauge<double> OldestAgeGauge = Telemetry.Meter.CreateObservableGauge(
        "chirp.outbox.oldest_age", ObserveOldestAge, "s", "Age of the oldest outbox row not yet published to Redis; 0 when none waits.");

    private static readonly Counter<long> Published = Telemetry.Meter.CreateCounter<long>(
        "chirp.outbox.published", "{message}", "Outbox rows published to Redis, and (with error.type) attempts Redis refused.");

    /// <summary>
    /// KEYS[1] the stream; ARGV: type, version, data, channel, and the channel message split around the entry id.
    /// Returns the entry id.
    /// </summary>
    private static readonly string XaddAndPublish = $"""
        local id = redis.call('XADD', KEYS[1], '*', '{TweetRetweetedStream.TypeField}', ARGV[1], '{TweetRetweetedStream.VersionField}', ARGV[2], '{TweetRetweetedStream.DataField}', ARGV[3])
        redis.call('PUBLISH', ARGV[4], ARGV[5] .. id .. ARGV[6])
        return id
        """;

    /// <summary>Stands for the entry id in the channel message until the script knows it; written first, so found first.</summary>
    private const string IdMarker = "@@chirp-entry-id@@";

    private int _retryNow;
    private DateTimeOffset _nextCleanup = DateTimeOffset.MinValue;
    private DateTimeOffset _nextBacklogMeasure = DateTimeOffset.MinValue;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!o.Enabled)
        {
            return;
        }

        await Task.Yield();
        var redis = await redisConnection.GetAsync(stoppingToken).WaitAsync(stoppingToken);
        redis.ConnectionRestored += OnConnectionRestored;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    // Drain: keep claiming while whole batches go out.
                    while (await RelayBatchAsync(redis, o, stoppingToken) == BatchResult.Full)
                    {
                    }

                    await MeasureBacklogAsync(stoppingToken);
                    await CleanUpIfDueAsync(o, stoppingToken);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    // The database is unreachable or similar: try again at the next poll.
                    logger.LogWarning(e, "Outbox relay pass failed.");
                }

                await signal.WaitAsync(o.PollInterval, stoppingToken);
                if (o.Linger > TimeSpan.Zero)
                {
                    await Task.Delay(o.Linger, time, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            redis.ConnectionRestored -= OnConnectionRestored;
        }
    }

    private enum BatchResult
    {
        /// <summary>Fewer rows than a batch were due, or Redis failed: wait for the next wake-up.</summary>
        Done,

        /// <summary>A whole batch went out: more may be due.</summary>
        Full,
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        // Rows backed off while Redis was down are due again at once.
        Interlocked.Exchange(ref _retryNow, 1);
        signal.Notify();
    }

    /// <summary>Claims, sends and marks one batch in one database transaction.</summary>
    private async Task<BatchResult> RelayBatchAsync(IConnectionMultiplexer redis, OutboxRelayOptions o, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var dueBy = Interlocked.Exchange(ref _retryNow, 0) == 1 ? now.AddYears(100) : now;

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var rows = await db.OutboxMessages
            .FromSql($"""
                SELECT * FROM outbox_messages
                WHERE sent_at IS NULL AND next_attempt_at <= {dueBy}
                ORDER BY next_attempt_at, id
                LIMIT {o.BatchSize}
                FOR UPDATE SKIP LOCKED
                """)
            .AsNoTracking()
            .ToListAsync(cancellationToken);
        if (rows.Count == 0)
        {
            return BatchResult.Done;
        }

        var failed = await SendAsync(redis, rows, o);

        // Not the stopping token: rows already in Redis must be marked sent even while the host stops. The sent rows
        // take one statement however many there are; failed rows (rare) one each, as each has its own backoff.
        var sentAt = time.GetUtcNow();
        var sent = rows.Where(r => r.SentAt is not null).Select(r => r.Id).ToArray();
        if (sent.Length > 0)
        {
            await db.Database.ExecuteSqlAsync(
                $"UPDATE outbox_messages SET sent_at = {sentAt}, last_error = NULL WHERE id = ANY({sent})", CancellationToken.None);
        }

        foreach (var row in rows.Where(r => r.SentAt is null))
        {
            await db.Database.ExecuteSqlAsync(
                $"UPDATE outbox_messages SET attempts = {row.Attempts}, next_attempt_at = {row.NextAttemptAt}, last_error = {row.LastError} WHERE id = {row.Id}",
                CancellationToken.None);
        }

        await transaction.CommitAsync(CancellationToken.None);
        return failed || rows.Count < o.BatchSize ? BatchResult.Done : BatchResult.Full;
    }

    /// <summary>
    /// Sends every row of a claimed batch in one pipelined round trip and marks each row by its own outcome: sent, or
    /// (when Redis refused it or went away) one more attempt with backoff. Returns true when any row failed.
    /// </summary>
    private async Task<bool> SendAsync(IConnectionMultiplexer redis, List<OutboxMessage> rows, OutboxRelayOptions o)
    {
        var batch = redis.GetDatabase().CreateBatch();
        var sends = new List<(OutboxMessage Row, Activity? Activity, Task<RedisResult> Send)>(rows.Count);
        foreach (var row in rows)
        {
            var message = new TweetRetweetedEnvelope(IdMarker, row.Type, TweetRetweetedStream.Version, row.Payload).ToChannelMessage();
            var at = message.IndexOf(IdMarker, StringComparison.Ordinal);
            sends.Add((row, StartPublishActivity(row), batch.ScriptEvaluateAsync(
                XaddAndPublish,
                [TweetRetweetedStream.StreamName],
                [row.Type, TweetRetweetedStream.Version, row.Payload, TweetRetweetedStream.ChannelName, message[..at], message[(at + IdMarker.Length)..]])));
        }

        batch.Execute();
        var failed = false;
        foreach (var (row, activity, send) in sends)
        {
            using (activity)
            {
                try
                {
                    var entryId = (string?)await send;
                    row.SentAt = time.GetUtcNow();
                    row.LastError = null;
                    activity?.SetTag("messaging.message.id", entryId);
                    Published.Add(1);
                    logger.LogDebug("Relayed outbox message {MessageId} as stream entry {EntryId}.", row.Id, entryId);
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    row.Attempts++;
                    row.NextAttemptAt = time.GetUtcNow() + RetryDelay(o, row.Attempts);
                    row.LastError = e.Message.Length > 500 ? e.Message[..500] : e.Message;
                    activity.RecordFailure(e);
                    Published.Add(1, new KeyValuePair<string, object?>("error.type", e.GetType().FullName));
                    if (!failed)
                    {
                        logger.LogWarning("Redis refused outbox message {MessageId} (attempt {Attempts}): {Error}. Retrying at {NextAttemptAt:o}.",
                            row.Id, row.Attempts, e.Message, row.NextAttemptAt);
                    }

                    failed = true;
                }
            }
        }

        if (failed)
        {
            logger.LogWarning("{Failed} of {Count} outbox messages were not relayed; they are retried with backoff.",
                sends.Count(s => s.Row.SentAt is null), rows.Count);
        }
        else
        {
            logger.LogDebug("Relayed {Count} outbox message(s).", rows.Count);
        }

        return failed;
    }

    private static IEnumerable<Measurement<double>> ObserveOldestAge()
    {
        if (Interlocked.Read(ref _backlog) < 0)
        {
            return [];
        }

        var at = Interlocked.Read(ref _oldestUnpublishedAt);
        return [new Measurement<double>(at == 0 ? 0 : Math.Max(0, (DateTimeOffset.UtcNow - DateTimeOffset.FromUnixTimeMilliseconds(at)).TotalSeconds))];
    }

    /// <summary>
    /// Counts the unpublished rows and finds the oldest, for <c>chirp.outbox.backlog</c> and <c>chirp.outbox.oldest_age</c>;
    /// at most once a second, since under load the relay passes far more often than any export reads the gauges.
    /// </summary>
    private async Task MeasureBacklogAsync(CancellationToken cancellationToken)
    {
        if (time.GetUtcNow() < _nextBacklogMeasure)
        {
            return;
        }

        _nextBacklogMeasure = time.GetUtcNow() + TimeSpan.FromSeconds(1);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var waiting = db.OutboxMessages.Where(m => m.SentAt == null);
        var backlog = await waiting.LongCountAsync(cancellationToken);
        var oldest = backlog == 0 ? null : await waiting.MinAsync(m => (DateTimeOffset?)m.OccurredAt, cancellationToken);
        Interlocked.Exchange(ref _backlog, backlog);
        Interlocked.Exchange(ref _oldestUnpublishedAt, oldest?.ToUnixTimeMilliseconds() ?? 0);
    }

    /// <summary>Deletes sent rows older than the retention in small batches, once per cleanup interval; failures wait for the next one.</summary>
    private async Task CleanUpIfDueAsync(OutboxRelayOptions o, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (now < _nextCleanup)
        {
            return;
        }

        _nextCleanup = now + o.CleanupInterval;
        var cutoff = now - o.Retention;
        var deleted = 0;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        while (!cancellationToken.IsCancellationRequested)
        {
            // SKIP LOCKED: another replica cleaning at the same moment takes other rows instead of waiting.
            var count = await db.Database.ExecuteSqlAsync($"""
                DELETE FROM outbox_messages WHERE id IN (
                    SELECT id FROM outbox_messages
                    WHERE sent_at IS NOT NULL AND sent_at < {cutoff}
                    LIMIT {o.CleanupBatchSize}
                    FOR UPDATE SKIP LOCKED)
                """, cancellationToken);
            deleted += count;
            if (count < o.CleanupBatchSize)
            {
                break;
            }
        }

        if (deleted > 0)
        {
            logger.LogInformation("Deleted {Count} outbox message(s) sent before {Cutoff:o}.", deleted, cutoff);
        }
    }

    /// <summary>
    /// A producer span for one send, a child of the mutation's span named by the event's <c>traceparent</c>, so the
    /// retweet, this publish and the worker's consume form one trace (OpenTelemetry messaging conventions).
    /// </summary>
    private static Activity? StartPublishActivity(OutboxMessage row)
    {
        if (!Telemetry.ActivitySource.HasListeners())
        {
            return null;
        }

        TweetRetweeted? e = null;
        try
        {
            e = JsonSerializer.Deserialize(row.Payload, ContractsJsonContext.Default.TweetRetweeted);
        }
        catch (JsonException)
        {
            // The payload is relayed as it is; only its place in the trace is lost.
        }

        var activity = Telemetry.StartActivity($"publish {TweetRetweetedStream.StreamName}", ActivityKind.Producer, e?.Traceparent);
        activity?.SetTag("messaging.system", "redis");
        activity?.SetTag("messaging.operation.type", "send");
        activity?.SetTag("messaging.destination.name", TweetRetweetedStream.StreamName);
        activity?.SetTag("chirp.outbox.id", row.Id.ToString("D"));
        activity?.SetTag("chirp.event_id", e?.EventId);
        return activity;
    }

    /// <summary><see cref="OutboxRelayOptions.FirstRetryDelay"/> doubled per earlier attempt, capped, with up to 20% jitter so replicas spread out.</summary>
    private static TimeSpan RetryDelay(OutboxRelayOptions o, int attempts)
    {
        var exponent = Math.Min(attempts - 1, 20);
        var delay = TimeSpan.FromTicks(Math.Min(o.FirstRetryDelay.Ticks * (1L << exponent), o.MaxRetryDelay.Ticks));
        return delay + TimeSpan.FromTicks((long)(delay.Ticks * 0.2 * Random.Shared.NextDouble()));
    }
}
