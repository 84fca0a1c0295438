using Chirp.Hosting;
using Chirp.Contracts;
using Chirp.EmailWorker.Data;
using Chirp.EmailWorker.Links;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chirp.EmailWorker.Events;

/// <summary>
/// Mails authors about retweets: reads <c>tweet-retweeted</c> in the consumer group <c>email-worker</c>
/// (docs/architecture.md section 5). StackExchange.Redis cannot block on <c>XREADGROUP</c>, so the loop polls every
/// <see cref="EmailWorkerOptions.PollInterval"/> and wakes early on the <c>tweet-retweeted</c> pub/sub channel.
/// Each round it retries its own pending entries whose backoff has passed (while it has any), reclaims entries that
/// other (dead) consumers left idle for <see cref="EmailWorkerOptions.ClaimIdleTime"/> (<c>XAUTOCLAIM</c>, every quarter
/// of that time), and reads new ones, so a round without failures costs one read, one query and one acknowledgement. An entry is acknowledged only after the mail was accepted, deliberately skipped, or dead-lettered.
/// </summary>
public sealed class RetweetMailConsumer(
    RedisConnection redis,
    IDbContextFactory<EmailDbContext> databases,
    SmtpMailSender sender,
    EmailLinks links,
    IOptions<EmailWorkerOptions> options,
    IOptions<SmtpOptions> smtpOptions,
    TimeProvider time,
    ILogger<RetweetMailConsumer> logger) : BackgroundService
{
    /// <summary>
    /// A consumer with nothing pending that has not polled for this long is a dead process (live ones poll every
    /// <see cref="EmailWorkerOptions.PollInterval"/>); it is removed so restarts do not grow the group forever.
    /// </summary>
    private static readonly TimeSpan ConsumerRetention = TimeSpan.FromHours(1);

    /// <summary>Longest pause between two rounds while Redis or the database keeps failing.</summary>
    private static readonly TimeSpan MaxErrorDelay = TimeSpan.FromSeconds(10);

    private static readonly RedisKey Stream = TweetRetweetedStream.StreamName;
    private static readonly RedisValue Group = TweetRetweetedStream.EmailWorkerGroup;

    private readonly EmailWorkerOptions _options = options.Value;
    private readonly MimeKit.MailboxAddress _from = smtpOptions.Value.ParseFrom();
    private readonly RedisValue _consumer = options.Value.EffectiveConsumerName;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private RedisValue _claimCursor = "0-0";

    /// <summary>
    /// True while this consumer may hold entries that wait for a retry; from the start, as a consumer with a configured
    /// name may find entries of its earlier run. Cleared when <c>XPENDING</c> shows none.
    /// </summary>
    private bool _mayHaveRetries = true;

    /// <summary>When to look for entries other consumers left idle next; entries only become idle after ClaimIdleTime.</summary>
    private DateTimeOffset _nextReclaim = DateTimeOffset.MinValue;
    private DateTimeOffset _lastPrune = DateTimeOffset.MinValue;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("Reading {Stream} as consumer {Consumer} of group {Group}.", Stream, _consumer, Group);
        IConnectionMultiplexer? multiplexer = null;
        var subscribed = false;
        var groupReady = false;
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var busy = false;
            try
            {
                multiplexer ??= await redis.GetAsync(stoppingToken);
                var db = multiplexer.GetDatabase();
                if (!subscribed)
                {
                    await multiplexer.GetSubscriber().SubscribeAsync(RedisChannel.Literal(TweetRetweetedStream.ChannelName), (_, _) => Wake());
                    subscribed = true;
                }

                if (!groupReady)
                {
                    await EnsureGroupAsync(db);
                    groupReady = true;
                }

                busy = await RunRoundAsync(db, stoppingToken);
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (RedisServerException e) when (e.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
            {
                // The stream (and its group) vanished, e.g. Redis restarted without persistence: create both again.
                logger.LogWarning("The consumer group is gone ({Message}); creating it again.", e.Message);
                groupReady = false;
                _claimCursor = "0-0";
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                failures++;
                _mayHaveRetries = true;
                logger.LogWarning("Redis is not reachable ({Message}); retrying.", e.Message);
            }
            catch (Exception e)
            {
                // Database down or a bug: the entries in hand stay pending and are retried with backoff.
                failures++;
                _mayHaveRetries = true;
                logger.LogError(e, "A round of the retweet mail consumer failed; retrying.");
            }

            if (!busy)
            {
                // After failures, wait longer each time (up to 10 s) so an outage does not flood the log.
                var wait = failures == 0 ? _options.PollInterval : _options.PollInterval * Math.Pow(2, Math.Min(failures - 1, 10));
                await WaitAsync(wait < MaxErrorDelay ? wait : MaxErrorDelay, stoppingToken);
            }
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    private void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (Exception e) when (e is SemaphoreFullException or ObjectDisposedException)
        {
            // Already signalled, or stopping.
        }
    }

    private async Task WaitAsync(TimeSpan delay, CancellationToken stoppingToken)
    {
        try
        {
            if (await _wake.WaitAsync(delay, stoppingToken) && _options.Linger > TimeSpan.Zero)
            {
                // Woken by a publish: let the entries published right after it join this round.
                await Task.Delay(_options.Linger, time, stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task EnsureGroupAsync(IDatabase db)
    {
        try
        {
            // From id 0 so entries written before this group first existed are mailed too.
            await db.StreamCreateConsumerGroupAsync(Stream, Group, StreamPosition.Beginning, createStream: true);
            logger.LogInformation("Created consumer group {Group} on {Stream}.", Group, Stream);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // Another worker (or an earlier run) created it.
        }
    }

    /// <summary>One round: due retries, reclaimed entries, new entries. True when it handled anything.</summary>
    private async Task<bool> RunRoundAsync(IDatabase db, CancellationToken ct)
    {
        var handled = _mayHaveRetries ? await RetryDueAsync(db, ct) : 0;
        if (time.GetUtcNow() >= _nextReclaim)
        {
            handled += await ReclaimIdleAsync(db, ct);
        }

        await PruneDeadConsumersAsync(db);

        await MailTelemetry.MeasureGroupAsync(db);
        var fresh = await db.StreamReadGroupAsync(Stream, Group, _consumer, StreamPosition.NewMessages, _options.BatchSize);
        await HandleAsync(db, [.. fresh.Select(entry => (entry, 1L))], ct);
        if (handled + fresh.Length == 0)
        {
            await sender.CloseIfIdleAsync(ct);
        }

        return handled + fresh.Length > 0;
    }

    /// <summary>
    /// Retries this consumer's pending entries whose backoff (<see cref="Backoff"/> of their delivery count) has
    /// passed. <c>XCLAIM</c> with that idle time as the minimum makes the claim atomic and counts the delivery.
    /// </summary>
    private async Task<int> RetryDueAsync(IDatabase db, CancellationToken ct)
    {
        var pending = await db.StreamPendingMessagesAsync(Stream, Group, _options.BatchSize * 4, _consumer);
        _mayHaveRetries = pending.Length > 0;
        var due = new List<(StreamEntry, long)>();
        foreach (var p in pending)
        {
            var backoff = (long)Backoff(p.DeliveryCount).TotalMilliseconds;
            if (p.IdleTimeInMilliseconds < backoff)
            {
                continue;
            }

            // Empty when another consumer claimed it first or it was deleted from the stream.
            var claimed = await db.StreamClaimAsync(Stream, Group, _consumer, backoff, [p.MessageId]);
            due.AddRange(claimed.Select(entry => (entry, (long)p.DeliveryCount + 1)));
            if (due.Count >= _options.BatchSize)
            {
                break;
            }
        }

        await HandleAsync(db, due, ct);
        return due.Count;
    }

    /// <summary>Claims entries left idle by any consumer for <see cref="EmailWorkerOptions.ClaimIdleTime"/>, and handles them.</summary>
    private async Task<int> ReclaimIdleAsync(IDatabase db, CancellationToken ct)
    {
        var result = await db.StreamAutoClaimAsync(
            Stream, Group, _consumer, (long)_options.ClaimIdleTime.TotalMilliseconds, _claimCursor, _options.BatchSize);
        _claimCursor = result.NextStartId.IsNullOrEmpty ? "0-0" : result.NextStartId;
        var claimed = result.ClaimedEntries ?? [];

        // Scanned the whole pending list: nothing can become claimable before a quarter of the idle time has passed
        // (a claim that long late is acceptable); part of the list left: go on next round.
        _nextReclaim = _claimCursor == "0-0" ? time.GetUtcNow() + _options.ClaimIdleTime / 4 : DateTimeOffset.MinValue;
        if (claimed.Length == 0)
        {
            return 0;
        }

        // XAUTOCLAIM does not say how often an entry was delivered; XPENDING over the claimed range does.
        var counts = (await db.StreamPendingMessagesAsync(Stream, Group, claimed.Length * 2, _consumer, claimed[0].Id, claimed[^1].Id))
            .ToDictionary(p => p.MessageId, p => (long)p.DeliveryCount);
        foreach (var entry in claimed)
        {
            logger.LogInformation("Reclaimed entry {Id} left idle by another consumer.", entry.Id);
        }

        await HandleAsync(db, [.. claimed.Select(entry => (entry, counts.GetValueOrDefault(entry.Id, 1)))], ct);
        return claimed.Length;
    }

    /// <summary>Every ten minutes, deletes consumers with nothing pending that have been idle for <see cref="ConsumerRetention"/>.</summary>
    private async Task PruneDeadConsumersAsync(IDatabase db)
    {
        var now = time.GetUtcNow();
        if (now - _lastPrune < TimeSpan.FromMinutes(10))
        {
            return;
        }

        _lastPrune = now;
        foreach (var consumer in await db.StreamConsumerInfoAsync(Stream, Group))
        {
            if (consumer.PendingMessageCount == 0 && consumer.IdleTimeInMilliseconds > ConsumerRetention.TotalMilliseconds && consumer.Name != _consumer)
            {
                await db.StreamDeleteConsumerAsync(Stream, Group, consumer.Name);
                logger.LogInformation("Removed the idle consumer {Consumer} from group {Group}.", consumer.Name, Group);
            }
        }
    }

    /// <summary>Wait before delivery number <paramref name="deliveries"/> + 1: base × 2^(deliveries-1), capped.</summary>
    private TimeSpan Backoff(long deliveries)
    {
        var exponent = Math.Clamp(deliveries - 1, 0, 30);
        var delay = _options.RetryBaseDelay * Math.Pow(2, exponent);
        return delay < _options.RetryMaxDelay ? delay : _options.RetryMaxDelay;
    }

    /// <summary>
    /// Handles a batch of delivered entries: looks up every author's settings and the sent log in one query each, mails
    /// the events that are due a mail one by one, and acknowledges all skipped ones with one <c>XACK</c>.
    /// </summary>
    private async Task HandleAsync(IDatabase db, IReadOnlyList<(StreamEntry Entry, long Deliveries)> batch, CancellationToken ct)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var done = new List<RedisValue>();
        var events = new List<(StreamEntry Entry, long Deliveries, TweetRetweeted Event)>(batch.Count);
        foreach (var (entry, deliveries) in batch)
        {
            if (entry.IsNull || entry.Values is not { Length: > 0 })
            {
                // Deleted from the stream while pending: nothing to mail.
                done.Add(entry.Id);
                continue;
            }

            var e = TweetRetweetedEnvelope.TryOpen(entry[TweetRetweetedStream.TypeField], entry[TweetRetweetedStream.VersionField], entry[TweetRetweetedStream.DataField], out var poison);
            if (e is null)
            {
                await DeadLetterAsync(db, entry, poison, deliveries);
            }
            else if (deliveries > _options.MaxDeliveries)
            {
                await DeadLetterAsync(db, entry, $"delivered {deliveries} times without success", deliveries);
            }
            else
            {
                events.Add((entry, deliveries, e));
            }
        }

        var recipients = await RecipientsAsync([.. events.Select(x => x.Event)], ct);
        foreach (var (entry, deliveries, e) in events)
        {
            using var activity = MailTelemetry.StartProcess(e, entry.Id);
            // Remove: the relay delivers at least once, so one batch can hold an event twice; the first one mails.
            if (recipients.Remove(Guid.Parse(e.EventId), out var recipient))
            {
                await MailAsync(db, entry, deliveries, e, recipient, ct);
            }
            else
            {
                done.Add(entry.Id);
                MailTelemetry.Count("skipped");
            }
        }

        if (done.Count > 0)
        {
            await db.StreamAcknowledgeAsync(Stream, Group, [.. done]);
        }
    }

    private async Task MailAsync(IDatabase db, StreamEntry entry, long deliveries, TweetRetweeted e, string recipient, CancellationToken ct)
    {
        var message = RetweetMail.Create(e, _from, recipient, links.UnsubscribeUrl(Guid.Parse(e.TweetAuthorId)), time.GetUtcNow());
        SendResult result;
        using (var send = MailTelemetry.StartSend(e.EventId, smtpOptions.Value))
        {
            result = await sender.SendAsync(message, ct);
            send?.SetTag(MailTelemetry.OutcomeAttribute, result.Outcome.ToString());
            if (result.Outcome != SendOutcome.Accepted)
            {
                send?.SetStatus(System.Diagnostics.ActivityStatusCode.Error);
            }
        }

        switch (result.Outcome)
        {
            case SendOutcome.Accepted:
                await RecordSentAsync(e, recipient, RetweetMail.MessageIdFor(e.EventId, recipient), ct);
                await db.StreamAcknowledgeAsync(Stream, Group, entry.Id);
                MailTelemetry.Count("sent");
                logger.LogInformation("Mailed the retweet event {EventId} as {MessageId}.", e.EventId, message.MessageId);
                break;
            case SendOutcome.Permanent:
                await DeadLetterAsync(db, entry, $"SMTP refused the mail: {result.Detail}", deliveries);
                break;
            case SendOutcome.Transient when deliveries >= _options.MaxDeliveries:
                await DeadLetterAsync(db, entry, $"SMTP still failing after {deliveries} deliveries: {result.Detail}", deliveries);
                break;
            default:
                _mayHaveRetries = true;
                MailTelemetry.Count("retried");
                logger.LogWarning(
                    "Could not mail the retweet event {EventId} (delivery {Deliveries}): {Detail}; retrying in {Delay}.",
                    e.EventId, deliveries, result.Detail, Backoff(deliveries));
                break;
        }
    }

    /// <summary>
    /// The recipient of each event that is due a mail, by event id: the author opted in and has a verified address,
    /// the retweet is not of their own tweet, and the sent log has no row for that event and address yet.
    /// </summary>
    private async Task<Dictionary<Guid, string>> RecipientsAsync(IReadOnlyList<TweetRetweeted> events, CancellationToken ct)
    {
        var candidates = events
            .Where(e => !(Guid.TryParse(e.RetweetedById, out var retweeterId) && retweeterId == Guid.Parse(e.TweetAuthorId)))
            .ToList();
        if (candidates.Count == 0)
        {
            return [];
        }

        await using var db = await databases.CreateDbContextAsync(ct);
        var authorIds = candidates.Select(e => Guid.Parse(e.TweetAuthorId)).Distinct().ToList();
        var addresses = await db.EmailSettings.AsNoTracking()
            .Where(s => authorIds.Contains(s.UserId) && s.NotifyOnRetweet && s.Verified && s.Address != null && s.Address != "")
            .ToDictionaryAsync(s => s.UserId, s => s.Address!, ct);
        var due = new Dictionary<Guid, string>();
        foreach (var e in candidates)
        {
            if (addresses.TryGetValue(Guid.Parse(e.TweetAuthorId), out var address))
            {
                due[Guid.Parse(e.EventId)] = address;
            }
        }

        if (due.Count == 0)
        {
            return due;
        }

        var eventIds = due.Keys.ToList();
        var sent = await db.SentMail.AsNoTracking()
            .Where(m => eventIds.Contains(m.EventId))
            .Select(m => new { m.EventId, m.Recipient })
            .ToListAsync(ct);
        foreach (var m in sent)
        {
            if (due.TryGetValue(m.EventId, out var address) && address == m.Recipient)
            {
                due.Remove(m.EventId);
            }
        }

        return due;
    }

    private async Task RecordSentAsync(TweetRetweeted e, string recipient, string messageId, CancellationToken ct)
    {
        var eventId = Guid.Parse(e.EventId);
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(ct);
        // A concurrent worker may have recorded the same send: keep the first row.
        await db.Database.ExecuteSqlInterpolatedAsync(
            $"INSERT INTO sent_mail (event_id, recipient, message_id, sent_at) VALUES ({eventId}, {recipient}, {messageId}, {now}) ON CONFLICT DO NOTHING",
            ct);
    }

    private async Task DeadLetterAsync(IDatabase db, StreamEntry entry, string reason, long deliveries)
    {
        logger.LogWarning("Moving entry {Id} to {DeadStream}: {Reason}.", entry.Id, TweetRetweetedStream.DeadLetterStreamName, reason);
        await DeadLetters.MoveAsync(db, entry, reason, deliveries, time.GetUtcNow());
        MailTelemetry.Count("dead_lettered");
    }
}
