using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Chirp.GraphQL.AspNetCore;
using Chirp.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chirp.Gateway.Auth;

/// <summary>
/// Keeps <see cref="RevocationState"/> equal on every replica. A revocation is applied here at once, stored in Redis
/// (sorted sets <c>chirp:revoked:jti</c>, <c>chirp:revoked:sid</c> with the id as member, and
/// <c>chirp:revoked:nbf</c> with <c>"{userId} {notBefore}"</c> as member; the score is the Unix second after which
/// the entry can go) and published on <c>chirp:revocations</c> (JSON <see cref="Revocation"/>). Every replica applies
/// what it receives, and reloads the sorted sets at start and after every reconnect, since pub/sub drops messages
/// while a subscriber is away. A reload only adds: entries that Redis lost (a restart without persistence) stay in
/// memory until they expire, and are written back to Redis. Applying a revocation also ends this replica's live
/// connections of the affected tokens, and a sweep each second ends any that registered while it was being applied.
/// </summary>
public sealed class RevocationFeed(
    RedisConnection redis,
    RevocationState state,
    LiveConnections live,
    IOptions<TokenOptions> options,
    TimeProvider time,
    ILogger<RevocationFeed> logger) : BackgroundService
{
    /// <summary>The pub/sub channel of revocations.</summary>
    public const string ChannelName = "chirp:revocations";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
    private static readonly TimeSpan TickInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PruneInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private int _reloadNeeded = 1;
    private bool _subscribed;

    /// <summary>
    /// Tries the first load once before the server starts listening (bounded by Redis's connect timeout), so a
    /// replica started with Redis up is ready at once; otherwise it keeps trying in the background, not ready meanwhile.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await TryReloadAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    /// <summary>Denies one access token until its <c>exp</c> (Unix seconds) plus the leeway.</summary>
    /// <exception cref="RedisException">Redis cannot be reached; this replica refuses the token already.</exception>
    public Task RevokeAccessTokenAsync(string jti, long exp) =>
        RevokeAsync(new Revocation(RevocationKind.Jti, jti, 0, exp + (long)Math.Ceiling(options.Value.ClockSkew.TotalSeconds)));

    /// <summary>Denies every access token of a session (refresh-token family) for one access-token lifetime plus the leeway.</summary>
    /// <exception cref="RedisException">Redis cannot be reached; this replica refuses the tokens already.</exception>
    public Task RevokeSessionAsync(string sessionId) =>
        RevokeAsync(new Revocation(RevocationKind.Session, sessionId, 0, LastExpiryOfTokensIssuedNow()));

    /// <summary>
    /// Sets the user's not-before stamp to the next whole second: every access token issued up to now is refused
    /// (<c>iat</c> has one-second precision, so a token issued later in the same second is refused too).
    /// </summary>
    /// <exception cref="RedisException">Redis cannot be reached; this replica refuses the tokens already.</exception>
    public Task RevokeUserAsync(string userId)
    {
        var notBefore = time.GetUtcNow().ToUnixTimeSeconds() + 1;
        return RevokeAsync(new Revocation(RevocationKind.User, userId, notBefore, LastExpiryOfTokensIssuedNow() + 1));
    }

    /// <summary>True while the Redis connection is up (log-in and refresh need it).</summary>
    public async Task<bool> IsRedisConnectedAsync(CancellationToken cancellationToken) =>
        (await redis.GetAsync(cancellationToken)).IsConnected;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        IConnectionMultiplexer? multiplexer = null;
        try
        {
            multiplexer = await redis.GetAsync(stoppingToken);
            multiplexer.ConnectionRestored += OnConnectionRestored;
            var lastPrune = time.GetUtcNow();
            while (!stoppingToken.IsCancellationRequested)
            {
                if (Volatile.Read(ref _reloadNeeded) == 1)
                {
                    await TryReloadAsync(stoppingToken);
                }

                if (time.GetUtcNow() - lastPrune >= PruneInterval)
                {
                    state.Prune();
                    lastPrune = time.GetUtcNow();
                }

                // A connection that authenticated just before a revocation may have registered just after it was
                // applied; this sweep ends it within a second.
                if (state.Count > 0)
                {
                    CloseRevokedConnections();
                }

                await _wake.WaitAsync(TickInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            if (multiplexer is not null)
            {
                multiplexer.ConnectionRestored -= OnConnectionRestored;
            }
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        base.Dispose();
        _wake.Dispose();
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        // Messages published while this replica was away are lost: read the sorted sets again.
        Interlocked.Exchange(ref _reloadNeeded, 1);
        _wake.Release();
    }

    /// <summary>Subscribes (once; the multiplexer resubscribes after reconnects) and then reads every stored revocation.</summary>
    private async Task TryReloadAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _reloadNeeded, 0);
        try
        {
            var multiplexer = await redis.GetAsync(cancellationToken);
            if (!multiplexer.IsConnected)
            {
                // Commands would wait in the multiplexer's backlog; try again on the next tick or reconnect.
                Interlocked.Exchange(ref _reloadNeeded, 1);
                return;
            }

            if (!_subscribed)
            {
                // Subscribe before reading, so nothing published between the read and the subscription is missed.
                await multiplexer.GetSubscriber().SubscribeAsync(RedisChannel.Literal(ChannelName), (_, message) => OnMessage(message))
                    .WaitAsync(LoadTimeout, cancellationToken);
                _subscribed = true;
            }

            var db = multiplexer.GetDatabase();
            var now = time.GetUtcNow().ToUnixTimeSeconds();
            foreach (var kind in Enum.GetValues<RevocationKind>())
            {
                var entries = await db.SortedSetRangeByScoreWithScoresAsync(KeyOf(kind), now, double.PositiveInfinity, Exclude.Start)
                    .WaitAsync(LoadTimeout, cancellationToken);
                foreach (var entry in entries)
                {
                    if (FromMember(kind, entry.Element.ToString(), (long)entry.Score) is { } revocation)
                    {
                        ApplyAndClose(revocation);
                    }
                }
            }

            // Redis may have restarted empty (no persistence): store what this replica knows again, so a replica
            // that starts later still refuses those tokens. ZADD of an existing member only rewrites its score.
            var known = state.Snapshot().Where(r => r.Until > now).ToList();
            if (known.Count > 0)
            {
                var batch = db.CreateBatch();
                var writes = known.Select(r => (Task)batch.SortedSetAddAsync(KeyOf(r.Kind), ToMember(r), r.Until))
                    .Concat(known.Select(r => r.Kind).Distinct().Select(k => (Task)batch.KeyExpireAsync(KeyOf(k), Retention)))
                    .ToList();
                batch.Execute();
                await Task.WhenAll(writes).WaitAsync(LoadTimeout, cancellationToken);
            }

            state.MarkLoaded();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Interlocked.Exchange(ref _reloadNeeded, 1);
            logger.LogWarning("Revocation state could not be loaded from Redis ({Reason}); retrying.", e.GetType().Name);
        }
    }

    private void OnMessage(RedisValue message)
    {
        Revocation? revocation;
        try
        {
            revocation = JsonSerializer.Deserialize<Revocation>(message.ToString(), Json);
        }
        catch (JsonException)
        {
            logger.LogWarning("Ignored a malformed message on {Channel}.", ChannelName);
            return;
        }

        if (revocation is { Id.Length: > 0 })
        {
            ApplyAndClose(revocation);
        }
    }

    private async Task RevokeAsync(Revocation revocation)
    {
        // This replica refuses at once, even if Redis fails below.
        ApplyAndClose(revocation);
        var db = (await redis.GetAsync()).GetDatabase();
        var key = KeyOf(revocation.Kind);
        var tx = db.CreateTransaction();
        _ = tx.SortedSetAddAsync(key, ToMember(revocation), revocation.Until, SortedSetWhen.Always);
        _ = tx.SortedSetRemoveRangeByScoreAsync(key, double.NegativeInfinity, time.GetUtcNow().ToUnixTimeSeconds());
        _ = tx.KeyExpireAsync(key, Retention);
        await tx.ExecuteAsync();
        await db.PublishAsync(RedisChannel.Literal(ChannelName), JsonSerializer.Serialize(revocation, Json));
    }

    private void ApplyAndClose(Revocation revocation)
    {
        if (state.Apply(revocation))
        {
            CloseRevokedConnections();
        }
    }

    private void CloseRevokedConnections() =>
        live.CloseWhere(user => user.Identity?.IsAuthenticated == true && state.Check(user) == RevocationVerdict.Revoked, LiveCloseReason.CredentialEnded);

    /// <summary>How long a sorted set outlives its last write: every entry expires within one access-token lifetime plus the leeway.</summary>
    private TimeSpan Retention => options.Value.AccessTokenLifetime + options.Value.ClockSkew + TimeSpan.FromMinutes(1);

    private long LastExpiryOfTokensIssuedNow() =>
        (time.GetUtcNow() + options.Value.AccessTokenLifetime + options.Value.ClockSkew).ToUnixTimeSeconds() + 1;

    private static RedisKey KeyOf(RevocationKind kind) => kind switch
    {
        RevocationKind.Jti => "chirp:revoked:jti",
        RevocationKind.Session => "chirp:revoked:sid",
        _ => "chirp:revoked:nbf",
    };

    private static string ToMember(Revocation revocation) => revocation.Kind == RevocationKind.User
        ? revocation.Id + " " + revocation.NotBefore.ToString(CultureInfo.InvariantCulture)
        : revocation.Id;

    private static Revocation? FromMember(RevocationKind kind, string member, long until)
    {
        if (kind != RevocationKind.User)
        {
            return new Revocation(kind, member, 0, until);
        }

        var space = member.IndexOf(' ', StringComparison.Ordinal);
        return space > 0 && long.TryParse(member.AsSpan(space + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var notBefore)
            ? new Revocation(kind, member[..space], notBefore, until)
            : null;
    }
}
