using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Chirp.Tweets.Tests;

/// <summary><c>retweet</c>: targets the original, once per user, one event through the outbox (docs/architecture.md sections 3 and 5; case C01, C09).</summary>
[Collection(TweetsCollection.Name)]
public sealed class RetweetTests(TweetsServers servers)
{
    private static readonly TimeSpan Delivery = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task AFirstRetweetWritesOneOutboxRowOneStreamEntryAndOnePublish()
    {
        var alice = TestUser.New("alice");
        var bob = TestUser.New("bob");
        var published = await ListenAsync();
        var tweetId = await servers.CreateTweetAsync(alice, "Grüße ☕");

        var result = await servers.GraphQLAsync(
            "mutation($id: ID!) { retweet(input: {tweetId: $id}) { created tweet { id text author { id } retweetOf { id text } retweetCount } } }",
            new { id = tweetId }, bob);

        Assert.Null(result["errors"]);
        var payload = result["data"]!["retweet"]!;
        Assert.True(payload["created"]!.GetValue<bool>());
        var retweetId = payload["tweet"]!["id"]!.GetValue<string>();
        Assert.Equal("Grüße ☕", payload["tweet"]!["text"]!.GetValue<string>());
        Assert.Equal(bob.IdText, payload["tweet"]!["author"]!["id"]!.GetValue<string>());
        Assert.Equal(tweetId, payload["tweet"]!["retweetOf"]!["id"]!.GetValue<string>());
        Assert.Equal(1, payload["tweet"]!["retweetCount"]!.GetValue<int>());

        Assert.Equal(1L, await OutboxRowsAsync(tweetId));
        Assert.True(await TweetsServers.EventuallyAsync(async () => (await TweetsServers.StreamEntriesForAsync(servers.RedisClient, retweetId)).Length > 0, Delivery));
        Assert.True(await TweetsServers.EventuallyAsync(() => Task.FromResult(published.Any(m => m.Contains(retweetId, StringComparison.Ordinal))), Delivery));
        await Task.Delay(300);

        var entry = Assert.Single(await TweetsServers.StreamEntriesForAsync(servers.RedisClient, retweetId));
        Assert.Equal(["type", "v", "data"], entry.Values.Select(v => (string)v.Name!));
        Assert.Equal("tweet-retweeted", (string?)entry["type"]);
        Assert.Equal("1", (string?)entry["v"]);
        var @event = JsonSerializer.Deserialize((string)entry["data"]!, ContractsJsonContext.Default.TweetRetweeted)!;
        Assert.Equal(retweetId, @event.RetweetId);
        Assert.Equal(tweetId, @event.TweetId);
        Assert.Equal(alice.IdText, @event.TweetAuthorId);
        Assert.Equal("Grüße ☕", @event.TweetText);
        Assert.Equal(bob.IdText, @event.RetweetedById);
        Assert.Equal(bob.Handle, @event.RetweetedByHandle);
        Assert.Equal(bob.DisplayName, @event.RetweetedByDisplayName);
        Assert.Equal(7, Guid.Parse(@event.EventId).Version);
        Assert.InRange(@event.OccurredAt, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", @event.Traceparent);

        var message = Assert.Single(published, m => m.Contains(retweetId, StringComparison.Ordinal));
        var json = JsonNode.Parse(message)!.AsObject();
        Assert.Equal(entry.Id.ToString(), json["id"]!.GetValue<string>());
        Assert.Equal("tweet-retweeted", json["type"]!.GetValue<string>());
        Assert.Equal("1", json["v"]!.GetValue<string>());
        Assert.Equal((string?)entry["data"], json["data"]!.GetValue<string>());
        Assert.NotNull(await servers.ScalarAsync<DateTime?>("SELECT sent_at FROM outbox_messages WHERE id = $1", null, Guid.Parse(@event.EventId)));
    }

    [Fact]
    public async Task RetweetingAgainReturnsTheSameRetweetAndWritesNothing()
    {
        var alice = TestUser.New("alice");
        var bob = TestUser.New("bob");
        var tweetId = await servers.CreateTweetAsync(alice, "once");
        var (first, created) = await servers.RetweetAsync(bob, tweetId);
        Assert.True(created);
        Assert.True(await TweetsServers.EventuallyAsync(async () => (await TweetsServers.StreamEntriesForAsync(servers.RedisClient, first)).Length > 0, Delivery));

        var (second, createdAgain) = await servers.RetweetAsync(bob, tweetId);
        await Task.Delay(500);

        Assert.Equal(first, second);
        Assert.False(createdAgain);
        Assert.Equal(1L, await servers.ScalarAsync<long>("SELECT count(*) FROM tweets WHERE author_id = $1", null, bob.Id));
        Assert.Equal(1L, await OutboxRowsAsync(tweetId));
        Assert.Single(await TweetsServers.StreamEntriesForAsync(servers.RedisClient, first));
    }

    [Fact]
    public async Task ConcurrentRetweetsByOneUserCreateOneRetweet()
    {
        var alice = TestUser.New("alice");
        var bob = TestUser.New("bob");
        var tweetId = await servers.CreateTweetAsync(alice, "race");

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => servers.RetweetAsync(bob, tweetId)));

        Assert.Single(results, r => r.Created);
        Assert.Single(results.Select(r => r.Id).Distinct());
        Assert.Equal(1L, await servers.ScalarAsync<long>("SELECT count(*) FROM tweets WHERE author_id = $1", null, bob.Id));
        Assert.Equal(1L, await OutboxRowsAsync(tweetId));
    }

    [Fact]
    public async Task TheExpectedRaceOfConcurrentRetweetsIsLoggedAtDebugAndNothingAsAnError()
    {
        var logs = new CapturedLogs();
        var database = await servers.NewDatabaseAsync();
        await using var host = await servers.StartTweetsAsync(database, servers.Redis.ConnectionString,
            new Dictionary<string, string?> { ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Debug" },
            services => services.AddSingleton<ILoggerProvider>(logs));
        var alice = TestUser.New("alice");

        // Several rounds, so that at least one pair of inserts really collides on the unique index.
        for (var round = 0; round < 20 && !logs.Any(e => e.Id == CoreEventId.SaveChangesFailed); round++)
        {
            var tweetId = await servers.CreateTweetAsync(alice, $"race {round}", host);
            var bob = TestUser.New("bob");
            var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => servers.RetweetAsync(bob, tweetId, host)));
            Assert.Single(results, r => r.Created);
        }

        Assert.Contains(logs.Snapshot(), e => e.Id == CoreEventId.SaveChangesFailed && e.Level == LogLevel.Debug);
        Assert.DoesNotContain(logs.Snapshot(), e => e.Level >= LogLevel.Error);
    }

    /// <summary>Every log entry of a host: level, event id and category.</summary>
    private sealed class CapturedLogs : ILoggerProvider
    {
        private readonly ConcurrentQueue<(LogLevel Level, EventId Id, string Category)> _entries = new();

        public List<(LogLevel Level, EventId Id, string Category)> Snapshot() => [.. _entries];

        public bool Any(Func<(LogLevel Level, EventId Id, string Category), bool> match) => _entries.Any(match);

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturedLogs logs, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                logs._entries.Enqueue((logLevel, eventId, category));
        }
    }

    [Fact]
    public async Task RetweetingARetweetRetweetsItsOriginal()
    {
        var alice = TestUser.New("alice");
        var bob = TestUser.New("bob");
        var carol = TestUser.New("carol");
        var original = await servers.CreateTweetAsync(alice, "the original");
        var (bobs, _) = await servers.RetweetAsync(bob, original);

        var result = await servers.GraphQLAsync(
            "mutation($id: ID!) { retweet(input: {tweetId: $id}) { created tweet { id text retweetOf { id } retweetCount } } }",
            new { id = bobs }, carol);

        Assert.Null(result["errors"]);
        var tweet = result["data"]!["retweet"]!["tweet"]!;
        Assert.Equal(original, tweet["retweetOf"]!["id"]!.GetValue<string>());
        Assert.Equal("the original", tweet["text"]!.GetValue<string>());
        Assert.Equal(2, tweet["retweetCount"]!.GetValue<int>());
        var carols = tweet["id"]!.GetValue<string>();

        // The event names the original and its author, not bob's retweet.
        Assert.True(await TweetsServers.EventuallyAsync(async () => (await TweetsServers.StreamEntriesForAsync(servers.RedisClient, carols)).Length > 0, Delivery));
        var @event = JsonSerializer.Deserialize((string)(await TweetsServers.StreamEntriesForAsync(servers.RedisClient, carols))[0]["data"]!,
            ContractsJsonContext.Default.TweetRetweeted)!;
        Assert.Equal(original, @event.TweetId);
        Assert.Equal(alice.IdText, @event.TweetAuthorId);

        // Bob retweeting his own retweet is a repeat of his retweet of the original.
        var (again, created) = await servers.RetweetAsync(bob, bobs);
        Assert.Equal(bobs, again);
        Assert.False(created);
    }

    [Fact]
    public async Task RetweetingYourOwnTweetIsAllowedAndRaisesNoEvent()
    {
        var alice = TestUser.New("alice");
        var tweetId = await servers.CreateTweetAsync(alice, "my own");

        var (retweetId, created) = await servers.RetweetAsync(alice, tweetId);
        await Task.Delay(500);

        Assert.True(created);
        Assert.Equal(2L, await servers.ScalarAsync<long>("SELECT count(*) FROM tweets WHERE author_id = $1", null, alice.Id));
        Assert.Equal(0L, await OutboxRowsAsync(tweetId));
        Assert.Empty(await TweetsServers.StreamEntriesForAsync(servers.RedisClient, retweetId));
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("0190a000-0000-7000-8000-000000000000")]
    [InlineData("{0190a000-0000-7000-8000-000000000000}")]
    public async Task RetweetingAMissingTweetIsNotFoundAtTheRetweetPathAndWritesNothing(string tweetId)
    {
        var bob = TestUser.New("bob");

        var result = await servers.GraphQLAsync("mutation($id: ID!) { retweet(input: {tweetId: $id}) { created tweet { id } } }", new { id = tweetId }, bob);

        Assert.Equal(ErrorCodes.NotFound, result.SingleErrorCode("retweet"));
        Assert.Null(result["data"]);
        Assert.Equal(0L, await servers.ScalarAsync<long>("SELECT count(*) FROM tweets WHERE author_id = $1", null, bob.Id));
        Assert.Equal(0L, await servers.ScalarAsync<long>("SELECT count(*) FROM outbox_messages WHERE payload::jsonb->>'retweetedById' = $1", null, bob.IdText));
    }

    [Fact]
    public async Task RetweetNeedsTheTweetsWriteScope()
    {
        var alice = TestUser.New("alice");
        var bob = TestUser.New("bob");
        var tweetId = await servers.CreateTweetAsync(alice, "scoped");
        const string Retweet = "mutation($id: ID!) { retweet(input: {tweetId: $id}) { created } }";

        var anonymous = await servers.GraphQLAsync(Retweet, new { id = tweetId });
        var unscoped = await servers.GraphQLAsync(Retweet, new { id = tweetId }, bob, scope: ChirpScopes.EmailManage);

        Assert.Equal(ErrorCodes.Unauthenticated, anonymous.SingleErrorCode("retweet"));
        Assert.Equal(ErrorCodes.Forbidden, unscoped.SingleErrorCode("retweet"));
        Assert.Equal(0L, await OutboxRowsAsync(tweetId));
    }

    private Task<long> OutboxRowsAsync(string tweetId) =>
        servers.ScalarAsync<long>("SELECT count(*) FROM outbox_messages WHERE payload::jsonb->>'tweetId' = $1", null, tweetId);

    /// <summary>Collects every message on the <c>tweet-retweeted</c> channel from now on.</summary>
    private async Task<ConcurrentQueue<string>> ListenAsync()
    {
        var messages = new ConcurrentQueue<string>();
        var queue = await servers.RedisClient.GetSubscriber().SubscribeAsync(RedisChannel.Literal(TweetRetweetedStream.ChannelName));
        queue.OnMessage(m => messages.Enqueue((string)m.Message!));
        return messages;
    }
}
