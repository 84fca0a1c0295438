using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using GraphQLParser.AST;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chirp.GraphQL.AspNetCore;

/// <summary>
/// The graphql-transport-ws protocol (the <c>graphql-ws</c> library's PROTOCOL.md) over an accepted WebSocket:
/// <c>connection_init</c> within <see cref="GraphQLLiveOptions.ConnectionInitTimeout"/> (else 4408) authenticates the
/// socket through <see cref="ILiveConnectionAuthenticator"/> (a refused credential closes 4403 with no ack), a
/// second one closes 4429, <c>subscribe</c> before the ack closes 4401, a reused operation id 4409, an unknown,
/// malformed or binary message 4400, a message over <see cref="GraphQLLiveOptions.MaxMessageBytes"/> 1009, and a
/// handshake without the subprotocol is accepted and closed 4406. <c>ping</c> gets <c>pong</c> at any time. Queries and
/// mutations run too (one <c>next</c>, then <c>complete</c>). When the credential expires the socket closes 4403;
/// when the process stops, 1001.
/// </summary>
public static class GraphQLWebSocket
{
    /// <summary>The WebSocket subprotocol name.</summary>
    public const string SubProtocol = "graphql-transport-ws";

    /// <summary>Accepts the upgrade in <paramref name="context"/> and runs the protocol until the socket closes.</summary>
    public static async Task HandleAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var offered = context.WebSockets.WebSocketRequestedProtocols.Contains(SubProtocol, StringComparer.Ordinal);
        using var socket = await context.WebSockets.AcceptWebSocketAsync(offered ? SubProtocol : null);
        await using var session = new Session(
            socket,
            context,
            services.GetService<IOptions<GraphQLLiveOptions>>()?.Value ?? new GraphQLLiveOptions(),
            services.GetService<IOptions<GraphQLHttpOptions>>()?.Value ?? new GraphQLHttpOptions(),
            services.GetRequiredService<LiveConnections>(),
            services.GetService<ILiveConnectionAuthenticator>(),
            services.GetRequiredService<IGraphQLExecutor>(),
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(GraphQLWebSocket)));
        if (!offered)
        {
            // As the graphql-ws library does: accept, then say why in a close frame the client can read.
            await session.CloseAndDrainAsync(CloseCodes.SubprotocolNotAcceptable, "Subprotocol not acceptable");
            return;
        }

        await session.RunAsync();
    }

    /// <summary>Close codes of graphql-transport-ws (PROTOCOL.md) and RFC 6455 section 7.4.1.</summary>
    public static class CloseCodes
    {
        public const int GoingAway = 1001;
        public const int MessageTooBig = 1009;
        public const int InternalError = 4500;
        public const int BadRequest = 4400;
        public const int Unauthorized = 4401;
        public const int Forbidden = 4403;
        public const int SubprotocolNotAcceptable = 4406;
        public const int ConnectionInitTimeout = 4408;
        public const int SubscriberAlreadyExists = 4409;
        public const int TooManyInitialisationRequests = 4429;
    }

    private sealed class Session : ILiveConnection, IAsyncDisposable
    {
        private readonly WebSocket _socket;
        private readonly HttpContext _context;
        private readonly GraphQLLiveOptions _options;
        private readonly GraphQLHttpOptions _httpOptions;
        private readonly LiveConnections _registry;
        private readonly ILiveConnectionAuthenticator? _authenticator;
        private readonly IGraphQLExecutor _executor;
        private readonly ILogger _logger;
        private readonly SemaphoreSlim _sendLock = new(1, 1);
        private readonly CancellationTokenSource _closing;
        private readonly ConcurrentDictionary<string, CancellationTokenSource> _operations = new(StringComparer.Ordinal);
        private IDisposable? _registration;
        private Timer? _expiry;
        private int _initReceived;
        private volatile bool _acknowledged;
        private int _closeStarted;
        private Task _closeTask = Task.CompletedTask;

        public Session(WebSocket socket, HttpContext context, GraphQLLiveOptions options, GraphQLHttpOptions httpOptions,
            LiveConnections registry, ILiveConnectionAuthenticator? authenticator, IGraphQLExecutor executor, ILogger logger)
        {
            _socket = socket;
            _context = context;
            _options = options;
            _httpOptions = httpOptions;
            _registry = registry;
            _authenticator = authenticator;
            _executor = executor;
            _logger = logger;
            _closing = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            User = context.User;
        }

        public ClaimsPrincipal User { get; private set; }

        public void Close(LiveCloseReason reason) => StartClose(
            reason == LiveCloseReason.ServerShuttingDown ? CloseCodes.GoingAway : CloseCodes.Forbidden,
            reason == LiveCloseReason.ServerShuttingDown ? "Server shutting down" : "Forbidden");

        public async Task RunAsync()
        {
            _registration = _registry.Add(this);
            _ = Task.Delay(_options.ConnectionInitTimeout, _closing.Token).ContinueWith(
                t =>
                {
                    if (!t.IsCanceled && Volatile.Read(ref _initReceived) == 0)
                    {
                        StartClose(CloseCodes.ConnectionInitTimeout, "Connection initialisation timeout");
                    }
                },
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

            try
            {
                await ReceiveLoopAsync();
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
            {
                // The peer vanished or the socket was aborted after our close frame.
            }
        }

        public async ValueTask DisposeAsync()
        {
            _closing.Cancel();
            foreach (var operation in _operations.Values)
            {
                CancelQuietly(operation);
            }

            _registration?.Dispose();
            if (_expiry is not null)
            {
                await _expiry.DisposeAsync();
            }

            await _closeTask.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _closing.Dispose();
        }

        public async Task CloseAndDrainAsync(int code, string reason)
        {
            StartClose(code, reason);
            await _closeTask.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            try
            {
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                var buffer = new byte[256];
                while (_socket.State is WebSocketState.Open or WebSocketState.CloseSent)
                {
                    await _socket.ReceiveAsync(buffer, wait.Token);
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
            {
            }
        }

        private async Task ReceiveLoopAsync()
        {
            while (_socket.State == WebSocketState.Open)
            {
                var (frame, buffer, length) = await TransportWsFrames.ReceiveAsync(_socket, _options.MaxMessageBytes, _closing.Token);
                switch (frame)
                {
                    case TransportWsFrame.TooBig:
                        StartClose(CloseCodes.MessageTooBig, "Message too big");
                        return;
                    case TransportWsFrame.Binary:
                        StartClose(CloseCodes.BadRequest, "Binary messages are not supported");
                        return;
                }

                if (frame == TransportWsFrame.Close)
                {
                    break;
                }

                JsonNode? message;
                try
                {
                    (message, _) = JsonRequestBody.Parse(buffer.AsSpan(0, length));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer!);
                }

                if (!await HandleAsync(message as JsonObject))
                {
                    return;
                }
            }

            // The client closed (or our close was answered): answer its close frame if it started.
            if (_socket.State == WebSocketState.CloseReceived)
            {
                StartClose(_socket.CloseStatus is { } status ? (int)status : 1000, "");
            }
        }

        /// <summary>Handles one message; false once the socket is closing.</summary>
        private async Task<bool> HandleAsync(JsonObject? message)
        {
            var type = message?["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null;
            switch (type)
            {
                case "connection_init":
                    return await InitAsync(message!);
                case "ping":
                    if (!PayloadIsObjectOrAbsent(message!))
                    {
                        break;
                    }

                    await SendAsync(static w => w.WriteString("type", "pong"));
                    return true;
                case "pong":
                    if (!PayloadIsObjectOrAbsent(message!))
                    {
                        break;
                    }

                    return true;
                case "subscribe":
                    return await SubscribeAsync(message!);
                case "complete":
                    if (message!["id"] is JsonValue idValue && idValue.TryGetValue<string>(out var id) && id.Length > 0)
                    {
                        if (_operations.TryRemove(id, out var operation))
                        {
                            CancelQuietly(operation);
                        }

                        return true;
                    }

                    break;
            }

            StartClose(CloseCodes.BadRequest, "Invalid message received");
            return false;
        }

        private async Task<bool> InitAsync(JsonObject message)
        {
            if (Interlocked.Exchange(ref _initReceived, 1) == 1)
            {
                StartClose(CloseCodes.TooManyInitialisationRequests, "Too many initialisation requests");
                return false;
            }

            if (!PayloadIsObjectOrAbsent(message))
            {
                StartClose(CloseCodes.BadRequest, "Invalid message received");
                return false;
            }

            var authentication = _authenticator is null
                ? new LiveAuthentication(_context.User, null)
                : await _authenticator.AuthenticateAsync(_context, message["payload"] as JsonObject, _closing.Token);
            if (authentication is null)
            {
                StartClose(CloseCodes.Forbidden, "Forbidden");
                return false;
            }

            User = authentication.User;
            if (authentication.ExpiresAt is { } expiresAt)
            {
                var wait = expiresAt - DateTimeOffset.UtcNow;
                if (wait <= TimeSpan.Zero)
                {
                    StartClose(CloseCodes.Forbidden, "Forbidden");
                    return false;
                }

                _expiry = new Timer(_ => Close(LiveCloseReason.CredentialEnded), null, wait > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : wait, Timeout.InfiniteTimeSpan);
            }

            _acknowledged = true;
            await SendAsync(static w => w.WriteString("type", "connection_ack"));
            return true;
        }

        private async Task<bool> SubscribeAsync(JsonObject message)
        {
            if (!_acknowledged)
            {
                StartClose(CloseCodes.Unauthorized, "Unauthorized");
                return false;
            }

            if (message["id"] is not JsonValue idValue || !idValue.TryGetValue<string>(out var id) || id.Length == 0)
            {
                StartClose(CloseCodes.BadRequest, "Invalid message received");
                return false;
            }

            var (request, _, problem) = GraphQLHttpEndpoint.ReadRequestObject(message["payload"]);
            if (request is null)
            {
                // A subscribe whose payload is not a GraphQL request is a malformed message, not an operation error.
                _logger.LogDebug("Refused a subscribe payload: {Problem}", problem);
                StartClose(CloseCodes.BadRequest, "Invalid message received");
                return false;
            }

            if (_operations.ContainsKey(id))
            {
                StartClose(CloseCodes.SubscriberAlreadyExists, $"Subscriber for {Truncate(id)} already exists");
                return false;
            }

            if (_operations.Count >= _options.MaxOperationsPerConnection)
            {
                await SendErrorAsync(id, [GraphQLErrors.Create(
                    $"At most {_options.MaxOperationsPerConnection} operations may run at once on one connection; complete one first.", ErrorCodes.RateLimited)]);
                return true;
            }

            var operation = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
            _operations[id] = operation;
            _ = RunOperationAsync(id, request, operation);
            return true;
        }

        private async Task RunOperationAsync(string id, GraphQLRequest request, CancellationTokenSource operation)
        {
            var token = operation.Token;
            try
            {
                var refusal = GraphQLDocuments.TryParse(request.Query, _httpOptions.MaxFieldSelections, out var document, out _);
                if (refusal is not null)
                {
                    await SendErrorAsync(id, refusal.Errors!);
                    return;
                }

                var operationDefinition = GraphQLOperations.Select(document!, request.OperationName);
                var isSubscription = operationDefinition?.Operation == OperationType.Subscription;
                var result = await _executor.ExecuteAsync(
                    new GraphQLExecutionRequest { Request = request, Document = document!, Operation = operationDefinition, User = User, HttpContext = _context }, token);
                if (result.Stream is null)
                {
                    if (result.Failure != GraphQLRequestFailure.None || !result.HasData || isSubscription)
                    {
                        // No result to stream: request errors, or a subscription whose source stream could not be created.
                        await SendErrorAsync(id, result.Errors ?? [GraphQLErrors.Create("The operation could not run.", ErrorCodes.BadUserInput)]);
                        return;
                    }

                    await SendNextAsync(id, result, token);
                }
                else
                {
                    using var counted = _registry.TrackSubscription(User, _options.MaxSubscriptionsPerUser);
                    if (counted is null)
                    {
                        await SendErrorAsync(id, [GraphQLErrors.Create(
                            $"At most {_options.MaxSubscriptionsPerUser} subscriptions may run at once for one user; complete one first.", ErrorCodes.RateLimited)]);
                        return;
                    }

                    await foreach (var item in result.Stream.WithCancellation(token))
                    {
                        await SendNextAsync(id, item, token);
                    }
                }

                if (_operations.TryRemove(new KeyValuePair<string, CancellationTokenSource>(id, operation)))
                {
                    await SendAsync(w =>
                    {
                        w.WriteString("id", id);
                        w.WriteString("type", "complete");
                    });
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Completed by the client, or the socket is closing: nothing more to say on this id.
            }
            catch (SubscriptionSourceException e)
            {
                _logger.LogInformation("A subscription's source ended: {Reason}", e.Message);
                await SendErrorAsync(id, e.Errors);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Operation {OperationId} on a WebSocket failed.", Truncate(id));
                await SendErrorAsync(id, [GraphQLErrors.Create("The operation failed.", ErrorCodes.Internal)]);
            }
            finally
            {
                _operations.TryRemove(new KeyValuePair<string, CancellationTokenSource>(id, operation));
                operation.Dispose();
            }
        }

        private Task SendNextAsync(string id, GraphQLResult result, CancellationToken token) => SendAsync(w =>
        {
            w.WriteString("id", id);
            w.WriteString("type", "next");
            w.WritePropertyName("payload");
            result.WriteTo(w);
        }, token);

        private Task SendErrorAsync(string id, JsonArray errors) => SendAsync(w =>
        {
            w.WriteString("id", id);
            w.WriteString("type", "error");
            w.WritePropertyName("payload");
            errors.WriteTo(w);
        });

        private async Task SendAsync(Action<Utf8JsonWriter> writeMembers, CancellationToken token = default)
        {
            var message = TransportWsFrames.Serialize(writeMembers);
            try
            {
                await _sendLock.WaitAsync(token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                if (_socket.State == WebSocketState.Open && Volatile.Read(ref _closeStarted) == 0)
                {
                    await _socket.SendAsync(message, WebSocketMessageType.Text, true, _closing.Token);
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
                // The socket is going away; the receive loop ends the session.
            }
            finally
            {
                _sendLock.Release();
            }
        }

        private void StartClose(int code, string reason)
        {
            if (Interlocked.Exchange(ref _closeStarted, 1) == 1)
            {
                return;
            }

            foreach (var operation in _operations.Values)
            {
                CancelQuietly(operation);
            }

            _closeTask = CloseCoreAsync(code, reason);
        }

        private async Task CloseCoreAsync(int code, string reason)
        {
            await _sendLock.WaitAsync();
            try
            {
                if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await _socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, timeout.Token);
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
            }
            finally
            {
                _sendLock.Release();
            }

            // Give the client a moment to answer the close frame, then stop reading.
            await Task.Delay(TimeSpan.FromSeconds(2), _closing.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            CancelQuietly(_closing);
        }

        // An operation's source is disposed by its own task when it ends, which may race with a cancel from here.
        private static void CancelQuietly(CancellationTokenSource source)
        {
            try
            {
                source.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }

        private static bool PayloadIsObjectOrAbsent(JsonObject message) =>
            !message.TryGetPropertyValue("payload", out var payload) || payload is null or JsonObject;

        private static string Truncate(string id) => id.Length <= 64 ? id : id[..64] + "...";
    }
}
