using System.Collections.Concurrent;
using System.Security.Claims;

namespace Chirp.Gateway.Auth;

/// <summary>What <see cref="RevocationState.Check"/> says about a validated access token.</summary>
public enum RevocationVerdict
{
    /// <summary>Not revoked: accept.</summary>
    Accepted,

    /// <summary>Its <c>jti</c> is denied, its session is revoked, or it was issued before its user's not-before stamp.</summary>
    Revoked,

    /// <summary>The gateway has not loaded the revocation state once yet, so it cannot tell (fail closed).</summary>
    NotLoaded,
}

/// <summary>One revocation, as stored in Redis and sent on the pub/sub channel.</summary>
/// <param name="Kind">What <paramref name="Id"/> names.</param>
/// <param name="Id">A <c>jti</c>, a session id (<c>sid</c>, the refresh-token family) or a user id (<c>sub</c>).</param>
/// <param name="NotBefore">For <see cref="RevocationKind.User"/>: tokens with an <c>iat</c> before this (Unix seconds) are refused.</param>
/// <param name="Until">When the entry can be dropped (Unix seconds): the last affected token's <c>exp</c> plus the leeway.</param>
public sealed record Revocation(RevocationKind Kind, string Id, long NotBefore, long Until);

/// <summary>The three deny lists.</summary>
public enum RevocationKind
{
    /// <summary>One access token, by <c>jti</c>.</summary>
    Jti,

    /// <summary>Every access token of one session, by <c>sid</c>.</summary>
    Session,

    /// <summary>Every access token of one user issued before a not-before stamp.</summary>
    User,
}

/// <summary>
/// The gateway's in-memory revocation state: deny lists of <c>jti</c>s and sessions and per-user not-before stamps.
/// Requests read only this (never Redis); <see cref="RevocationFeed"/> fills it. Entries are dropped after their
/// <see cref="Revocation.Until"/>, so memory holds at most the revocations of one access-token lifetime.
/// </summary>
public sealed class RevocationState(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, long> _jtis = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (long NotBefore, long Until)> _users = new(StringComparer.Ordinal);
    private volatile bool _loaded;

    /// <summary>True once the state was loaded from Redis (it stays true while Redis is down afterwards).</summary>
    public bool IsLoaded => _loaded;

    /// <summary>Entries held now, over all three lists (for tests and diagnostics).</summary>
    public int Count => _jtis.Count + _sessions.Count + _users.Count;

    /// <summary>Marks the state as loaded: from now on <see cref="Check"/> answers from memory.</summary>
    public void MarkLoaded() => _loaded = true;

    /// <summary>
    /// The one revocation check of HTTP requests and live connections, on a principal whose signature, issuer,
    /// audience and lifetime already validated. Reads claims <c>jti</c>, <c>sid</c>, <c>sub</c> and <c>iat</c>
    /// (Unix seconds); a token without <c>iat</c> counts as issued at 0, so any not-before stamp refuses it.
    /// </summary>
    public RevocationVerdict Check(ClaimsPrincipal principal)
    {
        if (!_loaded)
        {
            return RevocationVerdict.NotLoaded;
        }

        if (principal.FindFirst("jti")?.Value is { } jti && _jtis.ContainsKey(jti))
        {
            return RevocationVerdict.Revoked;
        }

        if (principal.FindFirst("sid")?.Value is { } sid && _sessions.ContainsKey(sid))
        {
            return RevocationVerdict.Revoked;
        }

        if (principal.FindFirst("sub")?.Value is { } sub && _users.TryGetValue(sub, out var stamp))
        {
            var iat = long.TryParse(principal.FindFirst("iat")?.Value, System.Globalization.NumberStyles.Integer,
                System.Globalization.CultureInfo.InvariantCulture, out var seconds) ? seconds : 0;
            if (iat < stamp.NotBefore)
            {
                return RevocationVerdict.Revoked;
            }
        }

        return RevocationVerdict.Accepted;
    }

    /// <summary>Adds one revocation (idempotent; a later not-before stamp of a user replaces an earlier one). Returns false when it has expired already.</summary>
    public bool Apply(Revocation revocation)
    {
        if (revocation.Until <= time.GetUtcNow().ToUnixTimeSeconds())
        {
            return false;
        }

        switch (revocation.Kind)
        {
            case RevocationKind.Jti:
                _jtis.AddOrUpdate(revocation.Id, revocation.Until, (_, old) => Math.Max(old, revocation.Until));
                break;
            case RevocationKind.Session:
                _sessions.AddOrUpdate(revocation.Id, revocation.Until, (_, old) => Math.Max(old, revocation.Until));
                break;
            case RevocationKind.User:
                _users.AddOrUpdate(revocation.Id, (revocation.NotBefore, revocation.Until), (_, old) =>
                    (Math.Max(old.NotBefore, revocation.NotBefore), Math.Max(old.Until, revocation.Until)));
                break;
        }

        return true;
    }

    /// <summary>Every entry held now (a copy; user stamps with their latest not-before).</summary>
    public IReadOnlyList<Revocation> Snapshot() =>
    [
        .. _jtis.Select(e => new Revocation(RevocationKind.Jti, e.Key, 0, e.Value)),
        .. _sessions.Select(e => new Revocation(RevocationKind.Session, e.Key, 0, e.Value)),
        .. _users.Select(e => new Revocation(RevocationKind.User, e.Key, e.Value.NotBefore, e.Value.Until)),
    ];

    /// <summary>Drops every entry whose <see cref="Revocation.Until"/> has passed; returns how many.</summary>
    public int Prune()
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var dropped = 0;
        foreach (var (id, until) in _jtis)
        {
            dropped += until <= now && _jtis.TryRemove(new KeyValuePair<string, long>(id, until)) ? 1 : 0;
        }

        foreach (var (id, until) in _sessions)
        {
            dropped += until <= now && _sessions.TryRemove(new KeyValuePair<string, long>(id, until)) ? 1 : 0;
        }

        foreach (var (id, entry) in _users)
        {
            dropped += entry.Until <= now && _users.TryRemove(new KeyValuePair<string, (long, long)>(id, entry)) ? 1 : 0;
        }

        return dropped;
    }
}
