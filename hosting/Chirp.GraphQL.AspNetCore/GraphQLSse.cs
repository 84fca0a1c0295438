using System.Buffers;
using System.Security.Claims;
using System.Text.Json;
using Chirp.Contracts;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chirp.GraphQL.AspNetCore;

/// <summary>Limits and timings of the live transports (graphql-transport-ws and SSE).</summary>
public sealed class GraphQLLiveOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "GraphQL:Live";

    /// <summary>How long a new socket may take to send <c>connection_init</c> before it is closed with 4408.</summary>
    public TimeSpan ConnectionInitTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Largest WebSocket message accepted, in bytes; a larger one closes the socket with 1009.</summary>
    public int MaxMessageBytes { get; set; } = 64 * 1024;

    /// <summary>Most operations running at once on one socket; a <c>subscribe</c> over it gets an <c>error</c> for that operation.</summary>
    public int MaxOperationsPerConnection { get; set; } = 100;

    /// <summary>
    /// Most subscriptions one user (the <c>sub</c> claim) may run at once on this process, over all their connections;
    /// one more gets a RATE_LIMITED error. Bounds the work one caller can fan out per event.
    /// </summary>
    public int MaxSubscriptionsPerUser { get; set; } = 100;

    /// <summary>How often an idle SSE stream sends a comment line, so proxies and clients keep it open.</summary>
    public TimeSpan SseKeepAliveInterval { get; set; } = TimeSpan.FromSeconds(12);
}

/// <summary>
/// GraphQL over server-sent events, the graphql-sse protocol in "distinct connections" mode: one operation per
/// request (<c>GET</c> or <c>POST</c> with <c>Accept: text/event-stream</c>), each result an event <c>next</c> whose
/// data is the JSON response, then an event <c>complete</c>. Idle streams carry <c>:</c> comment lines. The stream
/// ends when the client goes away, the source ends, the credential expires (a <c>next</c> with an UNAUTHENTICATED
/// error first) or the process stops.
/// </summary>
public static class GraphQLSse
{
    /// <summary>The event-stream media type (HTML Living Standard, server-sent events).</summary>
    public const string MediaType = "text/event-stream";

    private static readonly byte[] KeepAlive = ":\n\n"u8.ToArray();
    private static readonly byte[] CompleteEvent = "event: complete\ndata:\n\n"u8.ToArray();
    private static readonly byte[] NextPrefix = "event: next\ndata: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();

    /// <summary>True when <c>Accept</c> asks for <see cref="MediaType"/> (with a non-zero quality).</summary>
    public static bool IsRequested(HttpRequest request)
    {
        var ranges = MediaTypes.Accepted(request.Headers.Accept);
        while (ranges.MoveNext())
        {
            if (ranges.Quality > 0 && ranges.Current.Equals(MediaType, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Streams <paramref name="result"/> (one response, or every response of its <see cref="GraphQLResult.Stream"/>).</summary>
    public static async Task WriteStreamAsync(HttpContext context, GraphQLResult result)
    {
        var services = context.RequestServices;
        var options = services.GetService<IOptions<GraphQLLiveOptions>>()?.Value ?? new GraphQLLiveOptions();
        var registry = services.GetRequiredService<LiveConnections>();
        var expiresAt = services.GetService<ILiveConnectionAuthenticator>()?.ExpiryOf(context);
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(GraphQLSse));

        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = MediaType + "; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        await context.Response.StartAsync(context.RequestAborted);

        // StartAsync only queues the headers; a client (and any proxy between) must see the stream open before the
        // first event, so a comment goes out at once.
        await context.Response.Body.WriteAsync(KeepAlive, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);

        using var connection = new SseConnection(context.User, context.RequestAborted);
        using var registration = registry.Add(connection);
        using var expiry = expiresAt is { } at ? new Timer(_ => connection.Close(LiveCloseReason.CredentialEnded), null, Clamp(at - DateTimeOffset.UtcNow), Timeout.InfiniteTimeSpan) : null;
        var body = context.Response.Body;
        var token = connection.Ended;
        using var writeLock = new SemaphoreSlim(1, 1);
        using var keepAlive = new Timer(_ => _ = WriteLockedAsync(KeepAlive), null, options.SseKeepAliveInterval, options.SseKeepAliveInterval);

        try
        {
            if (result.Stream is null)
            {
                await WriteNextAsync(result);
            }
            else
            {
                using var counted = registry.TrackSubscription(context.User, options.MaxSubscriptionsPerUser);
                if (counted is null)
                {
                    await WriteNextAsync(GraphQLResult.RequestError(GraphQLRequestFailure.None,
                        $"At most {options.MaxSubscriptionsPerUser} subscriptions may run at once for one user; complete one first.", ErrorCodes.RateLimited));
                    await WriteLockedAsync(CompleteEvent);
                    return;
                }

                await foreach (var item in result.Stream.WithCancellation(token))
                {
                    await WriteNextAsync(item);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (SubscriptionSourceException e)
        {
            logger.LogInformation("A subscription's source ended: {Reason}", e.Message);
            await WriteNextAsync(new GraphQLResult { Errors = e.Errors });
        }

        if (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        try
        {
            if (connection.Reason == LiveCloseReason.CredentialEnded)
            {
                await WriteNextAsync(GraphQLResult.RequestError(GraphQLRequestFailure.None,
                    "The access token expired or was revoked; subscribe again with a fresh one.", ErrorCodes.Unauthenticated), CancellationToken.None);
            }

            await WriteLockedAsync(CompleteEvent);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client left while the stream was ending.
        }

        Task WriteNextAsync(GraphQLResult item, CancellationToken? cancellationToken = null) =>
            WriteLockedAsync(Frame(item), cancellationToken ?? token);

        async Task WriteLockedAsync(byte[] bytes, CancellationToken cancellationToken = default)
        {
            try
            {
                await writeLock.WaitAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                // Cancelled, or a keep-alive that fired as the stream was ending.
                return;
            }

            try
            {
                await body.WriteAsync(bytes, context.RequestAborted);
                await body.FlushAsync(context.RequestAborted);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
            {
                connection.Close(LiveCloseReason.ServerShuttingDown);
            }
            finally
            {
                writeLock.Release();
            }
        }
    }

    /// <summary>One <c>next</c> event: the response JSON on a single <c>data:</c> line (JSON text has no raw newlines).</summary>
    private static byte[] Frame(GraphQLResult result)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.Write(NextPrefix);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            result.WriteTo(writer);
        }

        buffer.Write(EventEnd);
        return buffer.WrittenSpan.ToArray();
    }

    private static TimeSpan Clamp(TimeSpan wait) =>
        wait < TimeSpan.Zero ? TimeSpan.Zero : wait > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : wait;

    private sealed class SseConnection(ClaimsPrincipal user, CancellationToken requestAborted) : ILiveConnection, IDisposable
    {
        private readonly CancellationTokenSource _ended = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        private int _reason = -1;

        public ClaimsPrincipal User { get; } = user;

        public CancellationToken Ended => _ended.Token;

        public LiveCloseReason? Reason => _reason < 0 ? null : (LiveCloseReason)_reason;

        public void Close(LiveCloseReason reason)
        {
            if (Interlocked.CompareExchange(ref _reason, (int)reason, -1) == -1)
            {
                try
                {
                    _ended.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The stream already ended.
                }
            }
        }

        public void Dispose() => _ended.Dispose();
    }
}
