using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Chirp.Testing;

/// <summary>One subscription for <see cref="GraphQLWsClients"/>, held by its own client and WebSocket.</summary>
/// <param name="Token">
/// Access token: the <c>connection_init</c> payload becomes <c>{"Authorization": "Bearer &lt;token&gt;"}</c>;
/// null sends <c>connection_init</c> without a payload.
/// </param>
/// <param name="Query">The operation to subscribe to; null only connects (and waits for the ack).</param>
/// <param name="Variables">Variables of the operation, if any.</param>
public sealed record LiveSubscription(string? Token, string? Query, JsonObject? Variables = null)
{
    /// <summary>When set, sent as the whole <c>connection_init</c> payload instead of the one built from <see cref="Token"/>.</summary>
    public JsonNode? ConnectionParams { get; init; }
}

/// <summary>One line reported by the subscriber program.</summary>
/// <param name="Index">The subscription's index in the list given to <see cref="GraphQLWsClients.StartAsync"/>; null for <c>fatal</c>.</param>
/// <param name="Type">
/// <c>acked</c> (connection_ack arrived), <c>next</c> (<see cref="Payload"/> is the execution result),
/// <c>error</c> (<see cref="Payload"/> is an array of GraphQL errors, or one entry saying why the socket failed,
/// e.g. "Unexpected server response: 401"), <c>complete</c>, <c>closed</c> (<see cref="Code"/> and
/// <see cref="Reason"/> of the WebSocket close; the client never reconnects) or <c>fatal</c> (the program could not
/// use its command).
/// </param>
/// <param name="Payload">The result or the errors; null for the other types.</param>
/// <param name="Code">The WebSocket close code for <c>closed</c> (1006: closed without a close frame).</param>
/// <param name="Reason">The close reason for <c>closed</c>, the message for <c>fatal</c>.</param>
/// <param name="ReceivedAt">When this process read the line.</param>
public sealed record LiveEvent(int? Index, string Type, JsonNode? Payload, int? Code, string? Reason, DateTimeOffset ReceivedAt)
{
    /// <summary>Shorthand for <c>Payload["data"]</c> of a <c>next</c> event.</summary>
    public JsonNode? Data => Type == "next" ? Payload?["data"] : null;

    public override string ToString() => Index is null ? $"{Type} {Reason}" : $"#{Index} {Type}{(Code is null ? "" : $" {Code} {Reason}")}{(Payload is null ? "" : " " + Payload.ToJsonString())}";
}

/// <summary>
/// Many GraphQL subscriptions over the graphql-transport-ws protocol, each in its own real graphql-ws client
/// (npm <c>graphql-ws</c> on Node.js, <c>tests/live-client/subscribe.mjs</c>), all in one child process. Every
/// acknowledgement, result, error, completion and close is recorded as a <see cref="LiveEvent"/>; the waits
/// throw <see cref="TimeoutException"/> with the recent events when what they wait for does not come.
/// Disposing closes every socket (1000) and ends the process tree.
/// </summary>
public sealed class GraphQLWsClients : IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly List<LiveEvent> _events = [];
    private TaskCompletionSource _changed = NewSignal();
    private NodeProgram? _program;
    private int _acked;

    private GraphQLWsClients()
    {
    }

    /// <summary>Every event so far, in the order the program reported them.</summary>
    public IReadOnlyList<LiveEvent> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>How many connections got <c>connection_ack</c> so far.</summary>
    public int AckedCount => Volatile.Read(ref _acked);

    /// <summary>What the program wrote to stderr (Node warnings and crashes).</summary>
    public string StandardError => _program?.StandardError ?? "";

    /// <summary>
    /// The graphql-transport-ws endpoint of a service: <c>ws://host:port/graphql</c> for
    /// <c>http://host:port/</c> (<c>wss</c> for <c>https</c>).
    /// </summary>
    public static Uri EndpointOf(Uri baseAddress) =>
        new UriBuilder(baseAddress) { Scheme = baseAddress.Scheme == Uri.UriSchemeHttps ? "wss" : "ws", Path = "/graphql" }.Uri;

    /// <summary>
    /// Starts one client per subscription against <paramref name="url"/> (a <c>ws://</c> URL, see
    /// <see cref="EndpointOf"/>); all of them connect at once. <paramref name="ackTimeout"/> makes a client close
    /// with 4504 when <c>connection_ack</c> does not come in time (default: wait forever). Throws
    /// <see cref="InvalidOperationException"/> when node or the npm packages are missing.
    /// </summary>
    public static async Task<GraphQLWsClients> StartAsync(Uri url, IReadOnlyList<LiveSubscription> subscriptions, TimeSpan? ackTimeout = null)
    {
        var command = new JsonObject
        {
            ["url"] = url.ToString(),
            ["subscriptions"] = new JsonArray([.. subscriptions.Select(ToJson)]),
        };
        if (ackTimeout is { } timeout)
        {
            command["ackTimeoutMs"] = (long)timeout.TotalMilliseconds;
        }

        var clients = new GraphQLWsClients();
        var program = NodeProgram.Start("subscribe.mjs", clients.OnLine);
        clients._program = program;
        try
        {
            // The command goes in on stdin: 1,000 tokens are too long for an argument list.
            await program.WriteLineAsync(command.ToJsonString());
        }
        catch (IOException e)
        {
            await clients.DisposeAsync();
            throw new InvalidOperationException($"subscribe.mjs ended before it read its command:{Environment.NewLine}{program.StandardError}", e);
        }

        return clients;
    }

    /// <summary>
    /// Waits for the first event (already seen or still to come) that matches; throws <see cref="TimeoutException"/>
    /// after <paramref name="timeout"/>, and <see cref="InvalidOperationException"/> when the program ended or
    /// reported <c>fatal</c>.
    /// </summary>
    public async Task<LiveEvent> WaitForAsync(Func<LiveEvent, bool> match, TimeSpan timeout) =>
        (await WaitForCountAsync(match, 1, timeout))[0];

    /// <summary>
    /// Waits until <paramref name="count"/> events match and returns the first <paramref name="count"/> of them;
    /// throws like <see cref="WaitForAsync"/>.
    /// </summary>
    public async Task<IReadOnlyList<LiveEvent>> WaitForCountAsync(Func<LiveEvent, bool> match, int count, TimeSpan timeout)
    {
        var program = _program ?? throw new ObjectDisposedException(nameof(GraphQLWsClients));
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Task changed;
            List<LiveEvent> matching;
            lock (_lock)
            {
                matching = [.. _events.Where(match).Take(count)];
                changed = _changed.Task;
                if (matching.Count < count && _events.FirstOrDefault(e => e.Type == "fatal") is { } fatal)
                {
                    throw new InvalidOperationException($"subscribe.mjs could not use its command: {fatal.Reason}");
                }
            }

            if (matching.Count >= count)
            {
                return matching;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"{matching.Count} of {count} expected events came within {timeout}.{Environment.NewLine}{Describe()}");
            }

            var exited = program.Exited;
            if (exited.IsCompleted)
            {
                throw new InvalidOperationException($"subscribe.mjs exited ({program.ExitCode}) while {matching.Count} of {count} expected events had come.{Environment.NewLine}{Describe()}");
            }

            await Task.WhenAny(changed, exited, Task.Delay(left));
        }
    }

    /// <summary>Waits until <paramref name="count"/> connections are acknowledged; throws like <see cref="WaitForAsync"/>.</summary>
    public Task WaitForAckedAsync(int count, TimeSpan timeout) => WaitForCountAsync(e => e.Type == "acked", count, timeout);

    /// <summary>Closes every socket with 1000, waits up to 5 s for the program to exit and then ends its process tree.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_program is { } program)
        {
            _program = null;
            await program.DisposeAsync();
        }
    }

    private static JsonObject ToJson(LiveSubscription s)
    {
        var json = new JsonObject();
        if (s.Token is not null)
        {
            json["token"] = s.Token;
        }

        if (s.Query is not null)
        {
            json["query"] = s.Query;
        }

        if (s.Variables is not null)
        {
            json["variables"] = s.Variables.DeepClone();
        }

        if (s.ConnectionParams is not null)
        {
            json["connectionParams"] = s.ConnectionParams.DeepClone();
        }

        return json;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void OnLine(string line)
    {
        var parsed = Parse(line) ??
            // Node prints its own warnings on stderr; anything else on stdout means the program is broken.
            new LiveEvent(null, "fatal", null, null, $"unreadable line from subscribe.mjs: {line}", DateTimeOffset.UtcNow);

        TaskCompletionSource changed;
        lock (_lock)
        {
            _events.Add(parsed);
            if (parsed.Type == "acked")
            {
                Interlocked.Increment(ref _acked);
            }

            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }

    private static LiveEvent? Parse(string line)
    {
        try
        {
            if (JsonNode.Parse(line) is not JsonObject json || json["type"]?.GetValue<string>() is not { } type)
            {
                return null;
            }

            return new LiveEvent(
                json["i"]?.GetValue<int>(),
                type,
                json["payload"]?.DeepClone(),
                json["code"]?.GetValue<int>(),
                json["reason"]?.GetValue<string>() ?? json["message"]?.GetValue<string>(),
                DateTimeOffset.UtcNow);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private string Describe()
    {
        List<LiveEvent> events;
        lock (_lock)
        {
            events = [.. _events];
        }

        var text = new StringBuilder();
        text.Append("Events by type: ")
            .AppendJoin(", ", events.GroupBy(e => e.Type).Select(g => $"{g.Key} {g.Count()}"))
            .AppendLine(events.Count == 0 ? "none" : "");
        text.AppendLine("Last events:");
        foreach (var e in events.TakeLast(20))
        {
            text.Append("  ").AppendLine(e.ToString());
        }

        if (_program?.StandardError is { Length: > 0 } stderr)
        {
            text.AppendLine("stderr:").Append(stderr);
        }

        return text.ToString();
    }
}
