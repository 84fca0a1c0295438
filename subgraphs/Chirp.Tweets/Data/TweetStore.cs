using System.Diagnostics;
using System.Text.Json;
using Chirp.Contracts;
using Chirp.Tweets.Events;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Chirp.Tweets.Data;

/// <summary>Who is writing: the caller as the gateway's identity assertion names them.</summary>
/// <param name="Id">User id.</param>
/// <param name="Handle">Handle (goes into the retweet event).</param>
/// <param name="DisplayName">Display name (goes into the retweet event).</param>
public sealed record Caller(Guid Id, string Handle, string DisplayName);

/// <summary>The outcome of a retweet.</summary>
/// <param name="Retweet">The caller's retweet of the original, new or existing.</param>
/// <param name="Original">The original tweet it points to.</param>
/// <param name="Created">True when this call created it; false when it already existed (nothing was written).</param>
public sealed record RetweetOutcome(Tweet Retweet, Tweet Original, bool Created);

/// <summary>
/// Reads and writes tweets. Thread-safe and singleton: every call uses its own short-lived
/// <see cref="TweetsDbContext"/>, so GraphQL fields that run in parallel never share one.
/// </summary>
public sealed class TweetStore(IDbContextFactory<TweetsDbContext> contexts, OutboxSignal outboxSignal, TimeProvider time)
{
    private const string NotifyOutbox = "NOTIFY " + OutboxListener.Channel;

    /// <summary>Creates an original tweet. <paramref name="text"/> must already be normalised by <see cref="TweetText"/>.</summary>
    public async Task<Tweet> CreateAsync(Guid authorId, string text, CancellationToken cancellationToken)
    {
        var tweet = new Tweet { Id = Guid.CreateVersion7(), AuthorId = authorId, Text = text, CreatedAt = Now() };
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        db.Tweets.Add(tweet);
        await db.SaveChangesAsync(cancellationToken);
        return tweet;
    }

    /// <summary>
    /// Retweets the original of <paramref name="tweetId"/> as <paramref name="caller"/> (docs/architecture.md sections 3 and 5).
    /// A first retweet writes the retweet row and, unless the caller wrote the original, a
    /// <see cref="TweetRetweeted"/> outbox row, in one transaction, then wakes the relay. A repeat writes nothing
    /// and returns the existing retweet; two concurrent first calls are settled by the unique index.
    /// Never touches Redis, so it works while Redis is down.
    /// </summary>
    /// <returns>The outcome, or null when <paramref name="tweetId"/> is malformed or names no tweet.</returns>
    public async Task<RetweetOutcome?> RetweetAsync(Caller caller, string tweetId, CancellationToken cancellationToken)
    {
        if (!ChirpIds.TryParse(tweetId, out var targetId))
        {
            return null;
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var target = await db.Tweets.AsNoTracking().FirstOrDefaultAsync(t => t.Id == targetId, cancellationToken);
        if (target is null)
        {
            return null;
        }

        var original = target.RetweetOfId is { } originalId
            ? await db.Tweets.AsNoTracking().FirstAsync(t => t.Id == originalId, cancellationToken)
            : target;

        var existing = await FindRetweetAsync(db, caller.Id, original.Id, cancellationToken);
        if (existing is not null)
        {
            return new RetweetOutcome(existing, original, Created: false);
        }

        var retweet = new Tweet
        {
            Id = Guid.CreateVersion7(),
            AuthorId = caller.Id,
            Text = original.Text,
            CreatedAt = Now(),
            RetweetOfId = original.Id,
        };

        // Retweeting your own tweet raises no event: there is nobody to tell.
        var raisesEvent = original.AuthorId != caller.Id;
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            db.Tweets.Add(retweet);
            if (raisesEvent)
            {
                db.OutboxMessages.Add(NewRetweetedMessage(retweet, original, caller));
                // Delivered at commit (and only then) to every replica's OutboxListener.
                await db.Database.ExecuteSqlRawAsync(NotifyOutbox, cancellationToken);
            }

            try
            {
                await db.SaveChangesAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }
            catch (DbUpdateException e) when (e.InnerException is PostgresException
            {
                SqlState: PostgresErrorCodes.UniqueViolation,
                ConstraintName: TweetsDbContext.RetweetOncePerUserIndex,
            })
            {
                // A concurrent call by the same user won the race; its retweet is the one.
                await transaction.RollbackAsync(cancellationToken);
                db.ChangeTracker.Clear();
                existing = await FindRetweetAsync(db, caller.Id, original.Id, cancellationToken)
                    ?? throw new InvalidOperationException("The unique index reported a retweet that cannot be read.", e);
                return new RetweetOutcome(existing, original, Created: false);
            }
        }

        if (raisesEvent)
        {
            outboxSignal.Notify();
        }

        return new RetweetOutcome(retweet, original, Created: true);
    }

    /// <summary>
    /// One page of a user's tweets and retweets, newest first: at most <paramref name="first"/> tweets strictly
    /// after <paramref name="after"/> in <c>(created_at DESC, id DESC)</c> order.
    /// </summary>
    /// <returns>The page and whether more tweets follow it.</returns>
    public async Task<(IReadOnlyList<Tweet> Tweets, bool HasNextPage)> ListByAuthorAsync(
        Guid authorId, int first, TweetCursor? after, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var query = db.Tweets.AsNoTracking().Where(t => t.AuthorId == authorId);
        if (after is { } c)
        {
            // A row-value comparison, so PostgreSQL walks ix_tweets_author_id_created_at_id.
            query = query.Where(t => EF.Functions.LessThan(ValueTuple.Create(t.CreatedAt, t.Id), ValueTuple.Create(c.CreatedAt, c.Id)));
        }

        var rows = await query.OrderByDescending(t => t.CreatedAt).ThenByDescending(t => t.Id)
            .Take(first + 1).ToListAsync(cancellationToken);
        var hasNext = rows.Count > first;
        if (hasNext)
        {
            rows.RemoveAt(rows.Count - 1);
        }

        return (rows, hasNext);
    }

    /// <summary>The tweets with the given ids; unknown ids are missing from the result.</summary>
    public async Task<IReadOnlyDictionary<Guid, Tweet>> GetByIdsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var list = ids.ToList();
        return await db.Tweets.AsNoTracking().Where(t => list.Contains(t.Id)).ToDictionaryAsync(t => t.Id, cancellationToken);
    }

    /// <summary>How many retweets each of the given originals has (0 for ids with none).</summary>
    public async Task<IReadOnlyDictionary<Guid, int>> CountRetweetsAsync(IReadOnlyCollection<Guid> originalIds, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var list = originalIds.ToList();
        var counts = await db.Tweets.AsNoTracking()
            .Where(t => t.RetweetOfId != null && list.Contains(t.RetweetOfId.Value))
            .GroupBy(t => t.RetweetOfId!.Value)
            .Select(g => new { g.Key, Count = g.Count() })
            .ToDictionaryAsync(x => x.Key, x => x.Count, cancellationToken);
        return originalIds.ToDictionary(id => id, id => counts.GetValueOrDefault(id));
    }

    private static Task<Tweet?> FindRetweetAsync(TweetsDbContext db, Guid authorId, Guid originalId, CancellationToken cancellationToken) =>
        db.Tweets.AsNoTracking().FirstOrDefaultAsync(t => t.AuthorId == authorId && t.RetweetOfId == originalId, cancellationToken);

    private static OutboxMessage NewRetweetedMessage(Tweet retweet, Tweet original, Caller caller)
    {
        var eventId = Guid.CreateVersion7();

        // The mutation's trace context, so the email worker and subscribers continue the same trace (W3C only).
        var traceparent = Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity.Id : null;
        var @event = new TweetRetweeted(
            EventId: eventId.ToString("D"),
            OccurredAt: retweet.CreatedAt,
            RetweetId: retweet.Id.ToString("D"),
            TweetId: original.Id.ToString("D"),
            TweetAuthorId: original.AuthorId.ToString("D"),
            TweetText: original.Text,
            RetweetedById: caller.Id.ToString("D"),
            RetweetedByHandle: caller.Handle,
            RetweetedByDisplayName: caller.DisplayName,
            Traceparent: traceparent);
        return new OutboxMessage
        {
            Id = eventId,
            Type = TweetRetweetedStream.EventType,
            Payload = JsonSerializer.Serialize(@event, ContractsJsonContext.Default.TweetRetweeted),
            OccurredAt = retweet.CreatedAt,
            NextAttemptAt = retweet.CreatedAt,
        };
    }

    /// <summary>Now, truncated to the microsecond precision of <c>timestamptz</c>, so what a mutation returns is what later reads return.</summary>
    private DateTimeOffset Now()
    {
        var now = time.GetUtcNow();
        return now.AddTicks(-(now.UtcTicks % 10));
    }
}
