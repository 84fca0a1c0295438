using System.Text;
using System.Text.Json.Nodes;

namespace Chirp.Testing;

/// <summary>
/// The gateway's GraphQL IDE (Banana Cake Pop) in Debian's headless Chromium (<c>/usr/bin/chromium</c>), driven
/// the way a person uses it: through its editor, Run button and Connection Settings dialog
/// (<c>tests/live-client/ide.mjs</c> on Node.js with npm <c>playwright-core</c>). The browser reaches loopback
/// addresses only. A failed step throws <see cref="InvalidOperationException"/> naming the step, the browser's
/// recent network and WebSocket traffic and a screenshot of the page. Disposing closes the browser.
/// </summary>
public sealed class GraphQLIdeBrowser : IAsyncDisposable
{
    /// <summary>Subscription protocol choice "Auto": a WebSocket probe, graphql-sse when it fails.</summary>
    public const string Auto = "auto";

    /// <summary>Subscription protocol choice "GraphQL WebSocket" (subprotocol <c>graphql-transport-ws</c>).</summary>
    public const string GraphQLTransportWs = "graphql-transport-ws";

    /// <summary>Subscription protocol choice "GraphQL SSE" (graphql-sse, distinct connections: POST with Accept text/event-stream).</summary>
    public const string GraphQLSse = "graphql-sse";

    private const string ChromiumPath = "/usr/bin/chromium";
    private static readonly TimeSpan StepMargin = TimeSpan.FromSeconds(60);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly object _lock = new();
    private readonly Queue<string> _replies = new();
    private TaskCompletionSource _replied = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private NodeProgram? _program;

    private GraphQLIdeBrowser(string screenshotFolder) => ScreenshotFolder = screenshotFolder;

    /// <summary>Where screenshots go, those of failed steps included.</summary>
    public string ScreenshotFolder { get; }

    /// <summary>
    /// Starts Chromium with a fresh profile, opens <paramref name="ideUrl"/> (e.g. <c>http://127.0.0.1:5000/graphql/</c>)
    /// and creates a document; returns once the IDE has loaded the schema. Throws
    /// <see cref="InvalidOperationException"/> when Chromium, node or the npm packages are missing, or the IDE does
    /// not come up.
    /// </summary>
    public static async Task<GraphQLIdeBrowser> OpenAsync(Uri ideUrl, string screenshotFolder)
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium package (scripts/test does).");
        }

        Directory.CreateDirectory(screenshotFolder);
        var browser = new GraphQLIdeBrowser(screenshotFolder);
        browser._program = NodeProgram.Start("ide.mjs", browser.OnLine);
        try
        {
            await browser.SendAsync(new JsonObject { ["op"] = "open", ["url"] = ideUrl.ToString(), ["screenshots"] = screenshotFolder }, TimeSpan.FromSeconds(60));
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }

        return browser;
    }

    /// <summary>
    /// Fills the Connection Settings dialog and applies it: the HTTP endpoint (absolute, e.g.
    /// <c>http://127.0.0.1:5000/graphql</c>; the IDE derives the WebSocket and SSE endpoints from it), the
    /// subscription <paramref name="protocol"/> (<see cref="Auto"/>, <see cref="GraphQLTransportWs"/> or
    /// <see cref="GraphQLSse"/>) and, when <paramref name="accessToken"/> is given, Bearer authorization.
    /// </summary>
    public Task ConnectAsync(Uri endpoint, string? accessToken, string protocol) =>
        SendAsync(new JsonObject { ["op"] = "connect", ["endpoint"] = endpoint.ToString(), ["token"] = accessToken, ["protocol"] = protocol }, TimeSpan.FromSeconds(60));

    /// <summary>
    /// Replaces the editor's text with <paramref name="operation"/> and presses Run; returns once the IDE sent
    /// exactly that operation (over HTTP, a WebSocket or SSE), not when a response came.
    /// </summary>
    public Task RunAsync(string operation) =>
        SendAsync(new JsonObject { ["op"] = "run", ["query"] = operation }, TimeSpan.FromSeconds(30));

    /// <summary>
    /// Waits until the response pane shows every one of <paramref name="texts"/> and returns the pane's text (with
    /// the editor's line numbers). For a subscription the pane shows the latest event.
    /// </summary>
    public async Task<string> WaitForResponseAsync(IEnumerable<string> texts, TimeSpan timeout)
    {
        var reply = await SendAsync(new JsonObject
        {
            ["op"] = "waitForResponse",
            ["contains"] = new JsonArray([.. texts.Select(t => JsonValue.Create(t))]),
            ["timeoutMs"] = (long)timeout.TotalMilliseconds,
        }, timeout);
        return reply["text"]?.GetValue<string>() ?? "";
    }

    /// <summary>Saves a screenshot of the page as <c>&lt;ScreenshotFolder&gt;/&lt;name&gt;.png</c> and returns its path.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        var reply = await SendAsync(new JsonObject { ["op"] = "screenshot", ["name"] = name }, TimeSpan.FromSeconds(30));
        return reply["path"]!.GetValue<string>();
    }

    /// <summary>Closes the browser (10 s to do so cleanly) and ends the process tree.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_program is { } program)
        {
            _program = null;
            await program.StopAsync(TimeSpan.FromSeconds(10));
            await program.DisposeAsync();
        }

        _gate.Dispose();
    }

    private async Task<JsonObject> SendAsync(JsonObject command, TimeSpan stepTimeout)
    {
        var program = _program ?? throw new ObjectDisposedException(nameof(GraphQLIdeBrowser));
        var step = command["op"]!.GetValue<string>();
        await _gate.WaitAsync();
        try
        {
            await program.WriteLineAsync(command.ToJsonString());
            var deadline = DateTime.UtcNow + stepTimeout + StepMargin;
            while (true)
            {
                Task replied;
                lock (_lock)
                {
                    if (_replies.TryDequeue(out var line))
                    {
                        return Check(step, line);
                    }

                    replied = _replied.Task;
                }

                var left = deadline - DateTime.UtcNow;
                if (program.Exited.IsCompleted || left <= TimeSpan.Zero)
                {
                    var why = program.Exited.IsCompleted ? $"ide.mjs exited ({program.ExitCode})" : "ide.mjs did not answer";
                    throw new InvalidOperationException($"IDE step '{step}' failed: {why}.{Environment.NewLine}{program.StandardError}");
                }

                await Task.WhenAny(replied, program.Exited, Task.Delay(left));
            }
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"IDE step '{step}' failed: ide.mjs is gone.{Environment.NewLine}{program.StandardError}", e);
        }
        finally
        {
            _gate.Release();
        }
    }

    private static JsonObject Check(string step, string line)
    {
        var reply = JsonNode.Parse(line) as JsonObject ?? throw new InvalidOperationException($"IDE step '{step}': unreadable reply {line}");
        if (reply["ok"]?.GetValue<bool>() == true)
        {
            return reply;
        }

        var message = new StringBuilder($"IDE step '{step}' failed: {reply["error"]?.GetValue<string>()}");
        if (reply["screenshot"]?.GetValue<string>() is { } screenshot)
        {
            message.AppendLine().Append("Screenshot: ").Append(screenshot);
        }

        if (reply["log"] is JsonArray log)
        {
            message.AppendLine().Append("Browser activity (latest last):");
            foreach (var entry in log)
            {
                message.AppendLine().Append("  ").Append(entry?.GetValue<string>());
            }
        }

        throw new InvalidOperationException(message.ToString());
    }

    private void OnLine(string line)
    {
        TaskCompletionSource replied;
        lock (_lock)
        {
            _replies.Enqueue(line);
            replied = _replied;
            _replied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        replied.TrySetResult();
    }
}
