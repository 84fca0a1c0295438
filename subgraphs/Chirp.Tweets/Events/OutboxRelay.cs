using Chirp.Hosting;
using System.Diagnostics;
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
/// then <c>PUBLISH tweet-retweeted &lt;entry JSON&gt;</c> (<see cref="TweetRetweetedEntry"/>), then marks it sent.
/// When Redis fails it counts the attempt and backs the row off exponentially; it never gives up on a row.
/// Wakes on <see cref="OutboxSignal"/> after a commit, on a Redis reconnect, and every
/// <see cref="OutboxRelayOptions.PollInterval"/>. Delivery is at least once: a crash between <c>XADD</c> and the
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
    private static readonly ActivitySource Tracing = new(TweetsSubgraph.ServiceName);
    private int _retryNow;

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
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    // The database is unreachable or similar: try again at the next poll.
                    logger.LogWarning(e, "Outbox relay pass failed.");
                }

                await signal.WaitAsync(o.PollInterval, stoppingToken);
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
            .ToListAsync(cancellationToken);
        if (rows.Count == 0)
        {
            return BatchResult.Done;
        }

        var failed = false;
        foreach (var row in rows)
        {
            try
            {
                await SendAsync(redis, row);
                row.SentAt = time.GetUtcNow();
                row.LastError = null;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                row.Attempts++;
                row.NextAttemptAt = time.GetUtcNow() + RetryDelay(o, row.Attempts);
                row.LastError = e.Message.Length > 500 ? e.Message[..500] : e.Message;
                logger.LogWarning("Redis refused outbox message {MessageId} (attempt {Attempts}): {Error}. Retrying at {NextAttemptAt:o}.",
                    row.Id, row.Attempts, e.Message, row.NextAttemptAt);

                // Redis is failing: do not wait on it once per row. The rest of the batch keeps its place and is
                // tried at the next wake-up (a poll, or the reconnect).
                failed = true;
                break;
            }
        }

        // Not the stopping token: rows already in Redis must be marked sent even while the host stops.
        await db.SaveChangesAsync(CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
        return failed || rows.Count < o.BatchSize ? BatchResult.Done : BatchResult.Full;
    }

    private async Task SendAsync(IConnectionMultiplexer redis, OutboxMessage row)
    {
        using var activity = StartPublishActivity(row);
        var entryId = await redis.GetDatabase().StreamAddAsync(
            TweetRetweetedStream.StreamName,
            [
                new NameValueEntry(TweetRetweetedStream.TypeField, row.Type),
                new NameValueEntry(TweetRetweetedStream.VersionField, TweetRetweetedStream.Version),
                new NameValueEntry(TweetRetweetedStream.DataField, row.Payload),
            ]);
        var entry = new TweetRetweetedEntry(entryId.ToString(), row.Type, TweetRetweetedStream.Version, row.Payload);
        await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(TweetRetweetedStream.ChannelName), entry.ToJson());
        logger.LogInformation("Relayed outbox message {MessageId} as stream entry {EntryId}.", row.Id, entryId.ToString());
    }

    /// <summary>A producer span for one send, a child of the mutation's span named by the event's <c>traceparent</c>.</summary>
    private static Activity? StartPublishActivity(OutboxMessage row)
    {
        if (!Tracing.HasListeners())
        {
            return null;
        }

        string? traceparent = null;
        try
        {
            traceparent = JsonSerializer.Deserialize(row.Payload, ContractsJsonContext.Default.TweetRetweeted)?.Traceparent;
        }
        catch (JsonException)
        {
            // The payload is relayed as it is; only its trace link is lost.
        }

        var parent = ActivityContext.TryParse(traceparent, null, out var context) ? context : default;
        var activity = Tracing.StartActivity($"{TweetRetweetedStream.StreamName} publish", ActivityKind.Producer, parent);
        activity?.SetTag("messaging.system", "redis");
        activity?.SetTag("messaging.destination.name", TweetRetweetedStream.StreamName);
        activity?.SetTag("messaging.message.id", row.Id.ToString("D"));
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
