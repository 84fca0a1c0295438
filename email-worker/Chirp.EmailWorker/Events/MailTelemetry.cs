using System.Diagnostics;
using System.Diagnostics.Metrics;
using Chirp.Contracts;
using Chirp.Hosting;
using StackExchange.Redis;

namespace Chirp.EmailWorker.Events;

/// <summary>
/// The email worker's spans and metrics (docs/architecture.md section 8): a consume span per stream entry, a child of
/// the retweet's trace through the event's <c>traceparent</c>; an SMTP send span carrying the event id; mails by
/// outcome; the consumer group's pending count and lag.
/// </summary>
internal static class MailTelemetry
{
    /// <summary>Attribute and values of <c>chirp.email.mails</c>.</summary>
    public const string OutcomeAttribute = "chirp.mail.outcome";

    /// <summary>Attribute naming the event a span works on.</summary>
    public const string EventIdAttribute = "chirp.event_id";

    private static readonly Counter<long> Mails = Telemetry.Meter.CreateCounter<long>(
        "chirp.email.mails", "{mail}", "Retweet mails by outcome: sent, skipped, retried, dead_lettered.");

    private static long _lastMeasured = long.MinValue / 2;
    private static long _pending = -1;
    private static long _lag = -1;

    private static readonly ObservableGauge<long> PendingGauge = Telemetry.Meter.CreateObservableGauge(
        "chirp.email.consumer.pending", Observe(() => Interlocked.Read(ref _pending)), "{message}",
        "Entries of tweet-retweeted delivered to the email-worker group and not yet acknowledged.");

    private static readonly ObservableGauge<long> LagGauge = Telemetry.Meter.CreateObservableGauge(
        "chirp.email.consumer.lag", Observe(() => Interlocked.Read(ref _lag)), "{message}",
        "Entries of tweet-retweeted not yet delivered to the email-worker group.");

    /// <summary>Counts one handled entry.</summary>
    public static void Count(string outcome) => Mails.Add(1, new KeyValuePair<string, object?>(OutcomeAttribute, outcome));

    /// <summary>Starts the consume span of one entry as a child of <paramref name="e"/>'s <c>traceparent</c>.</summary>
    public static Activity? StartProcess(TweetRetweeted e, RedisValue entryId)
    {
        var activity = Telemetry.StartActivity($"process {TweetRetweetedStream.StreamName}", ActivityKind.Consumer, e.Traceparent);
        activity?.SetTag("messaging.system", "redis");
        activity?.SetTag("messaging.operation.type", "process");
        activity?.SetTag("messaging.destination.name", TweetRetweetedStream.StreamName);
        activity?.SetTag("messaging.consumer.group.name", TweetRetweetedStream.EmailWorkerGroup);
        activity?.SetTag("messaging.message.id", entryId.ToString());
        activity?.SetTag(EventIdAttribute, e.EventId);
        return activity;
    }

    /// <summary>Starts the span of one SMTP submission (connect, send, quit).</summary>
    public static Activity? StartSend(string eventId, SmtpOptions smtp)
    {
        var activity = Telemetry.ActivitySource.StartActivity("smtp send", ActivityKind.Client);
        activity?.SetTag(EventIdAttribute, eventId);
        activity?.SetTag("server.address", smtp.Host);
        activity?.SetTag("server.port", smtp.Port);
        return activity;
    }

    /// <summary>
    /// Reads the group's pending count and lag (<c>XINFO GROUPS</c>, Redis 7) for the gauges. A stream that is gone
    /// is left to the consumer's own recovery (it sees <c>NOGROUP</c> on its next read): the gauges keep their value.
    /// </summary>
    public static async Task MeasureGroupAsync(IDatabase db)
    {
        // At most once a second: a busy consumer's rounds are far more frequent than any export.
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastMeasured);
        if (now - last < 1000 || Interlocked.CompareExchange(ref _lastMeasured, now, last) != last)
        {
            return;
        }

        StreamGroupInfo[] groups;
        try
        {
            groups = await db.StreamGroupInfoAsync(TweetRetweetedStream.StreamName);
        }
        catch (RedisServerException)
        {
            return;
        }

        foreach (var group in groups)
        {
            if (group.Name == TweetRetweetedStream.EmailWorkerGroup)
            {
                Interlocked.Exchange(ref _pending, group.PendingMessageCount);
                Interlocked.Exchange(ref _lag, group.Lag ?? -1);
            }
        }
    }

    /// <summary>Reports nothing until a value was read (a gauge of 0 would claim an empty queue).</summary>
    private static Func<IEnumerable<Measurement<long>>> Observe(Func<long> read) =>
        () => read() is var value and >= 0 ? [new Measurement<long>(value)] : [];
}
