using Chirp.Hosting;
using System.Collections.Immutable;
using Chirp.Contracts;
using StackExchange.Redis;

namespace Chirp.Tweets.Events;

/// <summary>A retweet event as it arrived on the <c>tweet-retweeted</c> channel.</summary>
/// <param name="Entry">The stream entry (its id and raw fields).</param>
/// <param name="Event">The parsed event.</param>
public sealed record RetweetNotice(TweetRetweetedEnvelope Entry, TweetRetweeted Event);

/// <summary>
/// The process's one subscription to the Redis channel <c>tweet-retweeted</c>, fanned out to every GraphQL
/// <c>tweetRetweeted</c> subscriber of this process. Every replica subscribes, so each sees every event, whichever
/// replica relayed it (docs/architecture.md section 5). StackExchange.Redis renews the subscription after a reconnect; events
/// published while this process was disconnected are not replayed (live notifications are best effort; email is not).
/// </summary>
public sealed class RetweetFeed(RedisConnection redisConnection, ILogger<RetweetFeed> logger) : BackgroundService, IObservable<RetweetNotice>
{
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ImmutableArray<IObserver<RetweetNotice>> _observers = [];

    /// <summary>Completes once the channel subscription is in place (it may wait for Redis to come up).</summary>
    public Task Subscribed => _subscribed.Task;

    /// <summary>Adds an observer; disposing the result removes it. Observers are called on Redis's message thread, in order.</summary>
    public IDisposable Subscribe(IObserver<RetweetNotice> observer)
    {
        ImmutableInterlocked.Update(ref _observers, (list, o) => list.Add(o), observer);
        return new Unsubscriber(this, observer);
    }

    /// <summary>Only the events whose original tweet was written by <paramref name="tweetAuthorId"/>.</summary>
    public IObservable<RetweetNotice> ForTweetAuthor(string tweetAuthorId) =>
        new FilteredFeed(this, n => string.Equals(n.Event.TweetAuthorId, tweetAuthorId, StringComparison.OrdinalIgnoreCase));

    /// <summary>Hands a channel message to every observer; malformed messages are logged and dropped.</summary>
    public void Dispatch(string? message)
    {
        // Every event of every replica arrives here; parse it only when someone in this process listens.
        if (_observers.IsEmpty)
        {
            return;
        }

        if (!TweetRetweetedEnvelope.TryParseChannelMessage(message, out var entry, out var @event))
        {
            logger.LogWarning("Dropped a malformed message on channel {Channel}.", TweetRetweetedStream.ChannelName);
            return;
        }

        var notice = new RetweetNotice(entry, @event);
        foreach (var observer in _observers)
        {
            try
            {
                observer.OnNext(notice);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "A tweetRetweeted subscriber failed on entry {EntryId}.", entry.Id);
            }
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Redis may be down at start (abortConnect=false): keep trying; once subscribed, the multiplexer resubscribes by itself.
        await Task.Yield();
        var redis = await redisConnection.GetAsync(stoppingToken).WaitAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var queue = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(TweetRetweetedStream.ChannelName));
                queue.OnMessage(m => Dispatch(m.Message));
                stoppingToken.Register(() => queue.Unsubscribe());
                _subscribed.TrySetResult();
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                logger.LogWarning("Cannot subscribe to channel {Channel} yet: {Error}", TweetRetweetedStream.ChannelName, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (var observer in ImmutableInterlocked.InterlockedExchange(ref _observers, []))
        {
            observer.OnCompleted();
        }
    }

    private sealed class Unsubscriber(RetweetFeed feed, IObserver<RetweetNotice> observer) : IDisposable
    {
        public void Dispose() => ImmutableInterlocked.Update(ref feed._observers, (list, o) => list.Remove(o), observer);
    }

    private sealed class FilteredFeed(RetweetFeed feed, Func<RetweetNotice, bool> predicate) : IObservable<RetweetNotice>
    {
        public IDisposable Subscribe(IObserver<RetweetNotice> observer) => feed.Subscribe(new FilteringObserver(observer, predicate));
    }

    private sealed class FilteringObserver(IObserver<RetweetNotice> inner, Func<RetweetNotice, bool> predicate) : IObserver<RetweetNotice>
    {
        public void OnCompleted() => inner.OnCompleted();

        public void OnError(Exception error) => inner.OnError(error);

        public void OnNext(RetweetNotice value)
        {
            if (predicate(value))
            {
                inner.OnNext(value);
            }
        }
    }
}
