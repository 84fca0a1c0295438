using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Chirp.Hosting;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// The metrics an operator alerts on (docs/architecture.md section 8), read with a <see cref="MeterListener"/> from the
/// cluster's in-process services after a retweet: the numbers the OTLP exporter sends.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class MetricsTests(ChirpCluster cluster)
{
    [Fact]
    public async Task ARetweetIsCountedFromTheGatewayToTheMail()
    {
        var author = await cluster.NewUserAsync("metered", email: $"{Guid.NewGuid():N}@example.test", notifyOnRetweet: true);
        var fan = await cluster.NewUserAsync("fan");
        var tweetId = await cluster.TweetAsync(author, "Count me");

        using var metrics = new RecordedMetrics();
        await cluster.RetweetAsync(fan, tweetId);
        await cluster.Smtp.WaitForMailAsync(m => m.RcptTo.Contains(author.Email!) && m.Subject != "Confirm your address for Chirp mail", TimeSpan.FromSeconds(20));

        // The worker counts right after the SMTP server accepted and the entry was acknowledged.
        await Eventually(() => metrics.Sum("chirp.email.mails", ("chirp.mail.outcome", "sent")) == 1, "one mail sent");
        Assert.Equal(0, metrics.Sum("chirp.email.mails", ("chirp.mail.outcome", "dead_lettered")));
        Assert.True(metrics.Sum("chirp.outbox.published") >= 1, "the relay counts what it published");

        // Once the event is through, the outbox and the consumer group are empty again.
        await Eventually(() => metrics.Gauge("chirp.outbox.backlog") == 0 && metrics.Gauge("chirp.outbox.oldest_age") == 0, "outbox backlog back to 0");
        await Eventually(() => metrics.Gauge("chirp.email.consumer.pending") == 0 && metrics.Gauge("chirp.email.consumer.lag") == 0, "nothing pending or lagging");

        // The gateway: the REST retweet ran as a mutation without errors, fetching from the tweets subgraph.
        Assert.Contains(metrics.Measurements("chirp.gateway.operation.duration"),
            m => m.Tags.GetValueOrDefault("graphql.operation.type") as string == "mutation" && m.Tags.GetValueOrDefault("error.type") is null && m.Value > 0);
        Assert.Contains(metrics.Measurements("chirp.gateway.fetch.duration"),
            m => m.Tags.GetValueOrDefault("chirp.subgraph.name") as string == "tweets" && m.Tags.GetValueOrDefault("chirp.fetch.kind") as string == "root" && m.Value > 0);
    }

    private async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within 20 s: {what}");
            await Task.Delay(100);
        }
    }

    /// <summary>One measurement of an instrument of Chirp's meter, with its attributes.</summary>
    private sealed record Recorded(double Value, IReadOnlyDictionary<string, object?> Tags);

    /// <summary>Every measurement of Chirp's meter (<see cref="Telemetry.Meter"/>) from its creation until disposed.</summary>
    private sealed class RecordedMetrics : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, ConcurrentQueue<Recorded>> _measurements = new();

        public RecordedMetrics()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == Telemetry.SourceName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, value, tags, _) => Add(i, value, tags));
            _listener.SetMeasurementEventCallback<double>((i, value, tags, _) => Add(i, value, tags));
            _listener.Start();
        }

        public IReadOnlyList<Recorded> Measurements(string instrument) =>
            _measurements.TryGetValue(instrument, out var queue) ? [.. queue] : [];

        public double Sum(string instrument, params (string Key, string Value)[] tags) =>
            Measurements(instrument).Where(m => tags.All(t => m.Tags.GetValueOrDefault(t.Key) as string == t.Value)).Sum(m => m.Value);

        /// <summary>Observes the gauges now and returns the latest value of <paramref name="instrument"/>, or null when it reported none.</summary>
        public double? Gauge(string instrument)
        {
            _listener.RecordObservableInstruments();
            return Measurements(instrument) is [.., var last] ? last.Value : null;
        }

        public void Dispose() => _listener.Dispose();

        private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var (key, tagValue) in tags)
            {
                copy[key] = tagValue;
            }

            _measurements.GetOrAdd(instrument.Name, _ => new()).Enqueue(new Recorded(value, copy));
        }
    }
}
