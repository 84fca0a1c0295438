using System.Diagnostics;
using System.Net;
using Chirp.Testing;
using StackExchange.Redis;

namespace Chirp.Tweets.Tests;

/// <summary>The outbox relay: Redis outages never fail a retweet, and replicas share the rows (docs/architecture.md section 5, case C09).</summary>
[Collection(TweetsCollection.Name)]
public sealed class OutboxRelayTests(TweetsServers servers)
{
    [Fact]
    public async Task ARetweetSucceedsWhileRedisIsDownAndItsEntryArrivesWhenRedisIsBack()
    {
        await using var redis = await RedisServer.StartAsync();
        var database = await servers.NewDatabaseAsync();
        await using var host = await servers.StartTweetsAsync(database, redis.ConnectionString);
        var alice = TestUser.New("alice");
        var bob = TestUser.New("bob");
        var tweetId = await servers.CreateTweetAsync(alice, "while Redis sleeps", host);

        await redis.StopAsync();
        var clock = Stopwatch.StartNew();
        var (retweetId, created) = await servers.RetweetAsync(bob, tweetId, host);
        clock.Stop();

        Assert.True(created);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(3));
        Assert.True(await TweetsServers.EventuallyAsync(
            async () => await servers.ScalarAsync<int>("SELECT attempts FROM outbox_messages", database) > 0, TimeSpan.FromSeconds(10)));
        Assert.Equal(0L, await servers.ScalarAsync<long>("SELECT count(*) FROM outbox_messages WHERE sent_at IS NOT NULL", database));

        await redis.StartAgainAsync();
        await using var client = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        Assert.True(await TweetsServers.EventuallyAsync(
            async () => (await TweetsServers.StreamEntriesForAsync(client, retweetId)).Length > 0, TimeSpan.FromSeconds(20)));
        Assert.True(await TweetsServers.EventuallyAsync(
            async () => await servers.ScalarAsync<long>("SELECT count(*) FROM outbox_messages WHERE sent_at IS NOT NULL", database) == 1, TimeSpan.FromSeconds(5)));
        Assert.Single(await TweetsServers.StreamEntriesForAsync(client, retweetId));
    }

    [Fact]
    public async Task TheSubgraphStartsAndIsReadyWhileRedisIsDown()
    {
        await using var redis = await RedisServer.StartAsync();
        await redis.StopAsync();
        var database = await servers.NewDatabaseAsync();

        var clock = Stopwatch.StartNew();
        await using var host = await servers.StartTweetsAsync(database, redis.ConnectionString);
        clock.Stop();
        using var http = host.CreateClient();
        var ready = await http.GetAsync("health/ready");
        var alice = TestUser.New("alice");
        var bob = TestUser.New("bob");
        var tweetId = await servers.CreateTweetAsync(alice, "no Redis yet", host);
        var (retweetId, _) = await servers.RetweetAsync(bob, tweetId, host);

        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

        await redis.StartAgainAsync();
        await using var client = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        Assert.True(await TweetsServers.EventuallyAsync(
            async () => (await TweetsServers.StreamEntriesForAsync(client, retweetId)).Length > 0, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task TwoRelaysOnOneDatabaseDeliverEachEventExactlyOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        var database = await servers.NewDatabaseAsync();
        await using var first = await servers.StartTweetsAsync(database, redis.ConnectionString);
        await using var second = await servers.StartTweetsAsync(database, redis.ConnectionString);
        var alice = TestUser.New("alice");
        var tweetId = await servers.CreateTweetAsync(alice, "popular", first);

        var retweets = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            servers.RetweetAsync(TestUser.New("fan"), tweetId, i % 2 == 0 ? first : second)));

        await using var client = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        Assert.True(await TweetsServers.EventuallyAsync(
            async () => await servers.ScalarAsync<long>("SELECT count(*) FROM outbox_messages WHERE sent_at IS NULL", database) == 0, TimeSpan.FromSeconds(20)));
        await Task.Delay(500);
        var entries = await client.GetDatabase().StreamRangeAsync("tweet-retweeted");
        Assert.Equal(40, entries.Length);
        foreach (var (retweetId, _) in retweets)
        {
            Assert.Single(entries, e => ((string?)e["data"])!.Contains(retweetId, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task RetentionDeletesOnlySentRowsOlderThanTheRetentionInSmallBatches()
    {
        await using var redis = await RedisServer.StartAsync();
        var database = await servers.NewDatabaseAsync();
        var now = DateTimeOffset.UtcNow;
        async Task InsertAsync(string kind, int count, DateTimeOffset occurredAt, DateTimeOffset? sentAt)
        {
            for (var i = 0; i < count; i++)
            {
                // Unsent rows are due only in a day, so the relay leaves them alone during the test.
                await servers.ScalarAsync<int>(
                    "INSERT INTO outbox_messages (id, type, payload, occurred_at, sent_at, attempts, next_attempt_at, last_error) " +
                    "VALUES ($1, 'tweet-retweeted', $2, $3, $4, 0, $5, NULL) RETURNING 1",
                    database, Guid.CreateVersion7(), "{\"kind\":\"" + kind + "\"}", occurredAt, sentAt ?? now.AddDays(-1), now.AddDays(1));
                if (sentAt is null)
                {
                    await servers.ScalarAsync<int>("UPDATE outbox_messages SET sent_at = NULL WHERE payload LIKE '%old-unsent%' RETURNING 1", database);
                }
            }
        }

        await InsertAsync("old-sent", 7, now.AddHours(-3), now.AddHours(-2));
        await InsertAsync("recent-sent", 2, now.AddMinutes(-50), now.AddMinutes(-40));
        await InsertAsync("old-unsent", 2, now.AddHours(-3), null);

        await using var host = await servers.StartTweetsAsync(database, redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Outbox:Retention"] = "01:00:00",
            ["Outbox:CleanupInterval"] = "00:00:00.200",
            ["Outbox:CleanupBatchSize"] = "2",
        });

        Assert.True(await TweetsServers.EventuallyAsync(
            async () => await servers.ScalarAsync<long>("SELECT count(*) FROM outbox_messages WHERE payload LIKE '%old-sent%'", database) == 0,
            TimeSpan.FromSeconds(15)));
        Assert.Equal(2L, await servers.ScalarAsync<long>("SELECT count(*) FROM outbox_messages WHERE payload LIKE '%recent-sent%'", database));
        Assert.Equal(2L, await servers.ScalarAsync<long>("SELECT count(*) FROM outbox_messages WHERE payload LIKE '%old-unsent%' AND sent_at IS NULL", database));
    }

    [Fact]
    public async Task ACommitOnOneReplicaWakesTheRelayOfAnotherAtOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        var database = await servers.NewDatabaseAsync();
        // The writer relays nothing; the relay polls only every ten minutes, so only the commit's NOTIFY can wake it.
        await using var relay = await servers.StartTweetsAsync(database, redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Outbox:PollInterval"] = "00:10:00",
        });
        await using var writer = await servers.StartTweetsAsync(database, redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Outbox:Enabled"] = "false",
        });
        var tweetId = await servers.CreateTweetAsync(TestUser.New("alice"), "wake up", writer);
        await Task.Delay(1000); // both relays have run their first pass and wait

        var (retweetId, _) = await servers.RetweetAsync(TestUser.New("bob"), tweetId, writer);

        await using var client = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        Assert.True(await TweetsServers.EventuallyAsync(
            async () => (await TweetsServers.StreamEntriesForAsync(client, retweetId)).Length == 1, TimeSpan.FromSeconds(10)));
    }
}
