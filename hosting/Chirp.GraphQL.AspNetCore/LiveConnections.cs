using System.Collections.Concurrent;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace Chirp.GraphQL.AspNetCore;

/// <summary>Who a live connection (WebSocket or SSE stream) runs as, and until when.</summary>
/// <param name="User">The caller; an unauthenticated principal for an anonymous one.</param>
/// <param name="ExpiresAt">When the credential stops being valid (leeway included); null when it does not expire.</param>
public sealed record LiveAuthentication(ClaimsPrincipal User, DateTimeOffset? ExpiresAt);

/// <summary>
/// Authenticates live connections. The gateway reads an access token; subgraphs read the gateway's identity
/// assertion. Without a registered authenticator a live connection runs as the upgrade request's user and never expires.
/// </summary>
public interface ILiveConnectionAuthenticator
{
    /// <summary>
    /// Authenticates a WebSocket from its <c>connection_init</c> payload (a JSON object, or null when absent).
    /// Returns null when a credential is present but does not validate (the socket closes with 4403); no credential
    /// means an anonymous caller.
    /// </summary>
    ValueTask<LiveAuthentication?> AuthenticateAsync(HttpContext context, JsonObject? initPayload, CancellationToken cancellationToken);

    /// <summary>When the credential of an already authenticated HTTP request (an SSE stream) expires; null when never.</summary>
    DateTimeOffset? ExpiryOf(HttpContext context);
}

/// <summary>Why the server ends a live connection.</summary>
public enum LiveCloseReason
{
    /// <summary>The process is stopping (a rolling deploy): WebSocket close 1001, so clients reconnect elsewhere.</summary>
    ServerShuttingDown,

    /// <summary>The credential expired or was revoked: WebSocket close 4403; an SSE stream gets an UNAUTHENTICATED error.</summary>
    CredentialEnded,
}

/// <summary>One open WebSocket or SSE stream, as the registry sees it.</summary>
public interface ILiveConnection
{
    /// <summary>The caller the connection runs as.</summary>
    ClaimsPrincipal User { get; }

    /// <summary>Ends the connection: every operation on it stops and the client is told why.</summary>
    void Close(LiveCloseReason reason);
}

/// <summary>
/// Every open live connection of this process, so they can be ended together: all of them when the process stops,
/// or those of one caller when a credential ends. Also counts open subscriptions (operations that produce a stream).
/// </summary>
public sealed class LiveConnections : IHostedService
{
    private readonly ConcurrentDictionary<ILiveConnection, byte> _open = new();
    private readonly ConcurrentDictionary<string, int> _perUser = new(StringComparer.Ordinal);
    private readonly IHostApplicationLifetime _lifetime;
    private CancellationTokenRegistration _stopping;
    private int _subscriptions;

    /// <summary>Ends every connection with <see cref="LiveCloseReason.ServerShuttingDown"/> when the application starts stopping.</summary>
    public LiveConnections(IHostApplicationLifetime lifetime) => _lifetime = lifetime;

    /// <summary>Open WebSocket connections and SSE streams.</summary>
    public int Count => _open.Count;

    /// <summary>Subscriptions currently running (each holds a source stream, upstream or in memory).</summary>
    public int OpenSubscriptions => Volatile.Read(ref _subscriptions);

    /// <summary>Adds a connection; disposing the result removes it.</summary>
    public IDisposable Add(ILiveConnection connection)
    {
        _open.TryAdd(connection, 0);
        if (_lifetime.ApplicationStopping.IsCancellationRequested)
        {
            connection.Close(LiveCloseReason.ServerShuttingDown);
        }

        return new Removal(this, connection);
    }

    /// <summary>
    /// Counts a running subscription of <paramref name="user"/> until the result is disposed; null, and nothing counted,
    /// when that user already runs <paramref name="maxPerUser"/>. Anonymous callers are counted but not capped here.
    /// </summary>
    public IDisposable? TrackSubscription(ClaimsPrincipal user, int maxPerUser)
    {
        var subject = user.Identity?.IsAuthenticated == true ? user.FindFirst("sub")?.Value : null;
        if (subject is not null)
        {
            var count = _perUser.AddOrUpdate(subject, 1, (_, n) => n + 1);
            if (count > maxPerUser)
            {
                Release(subject);
                return null;
            }
        }

        Interlocked.Increment(ref _subscriptions);
        return new SubscriptionCount(this, subject);
    }

    private void Release(string subject)
    {
        // Entries at zero are removed so the table holds only users with running subscriptions.
        if (_perUser.AddOrUpdate(subject, 0, (_, n) => n - 1) <= 0)
        {
            _perUser.TryRemove(new KeyValuePair<string, int>(subject, 0));
        }
    }

    /// <summary>Ends every open connection whose caller matches <paramref name="predicate"/>; returns how many.</summary>
    public int CloseWhere(Func<ClaimsPrincipal, bool> predicate, LiveCloseReason reason)
    {
        var closed = 0;
        foreach (var connection in _open.Keys)
        {
            if (predicate(connection.User))
            {
                connection.Close(reason);
                closed++;
            }
        }

        return closed;
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // ApplicationStopping fires before the server stops accepting, so clients hear 1001 before the port closes.
        _stopping = _lifetime.ApplicationStopping.Register(() => CloseWhere(_ => true, LiveCloseReason.ServerShuttingDown));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Dispose();
        return Task.CompletedTask;
    }

    private sealed class Removal(LiveConnections owner, ILiveConnection connection) : IDisposable
    {
        public void Dispose() => owner._open.TryRemove(connection, out _);
    }

    private sealed class SubscriptionCount(LiveConnections owner, string? subject) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref owner._subscriptions);
                if (subject is not null)
                {
                    owner.Release(subject);
                }
            }
        }
    }
}
