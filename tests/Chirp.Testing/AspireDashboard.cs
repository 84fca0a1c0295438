using System.Diagnostics;
using System.Net.Http.Json;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;

namespace Chirp.Testing;

/// <summary>One span as the dashboard's telemetry API returns it (OTLP JSON), with its resource's <c>service.name</c>.</summary>
public sealed record ReceivedSpan(
    string Service, string TraceId, string SpanId, string? ParentSpanId, string Name, int Kind, IReadOnlyDictionary<string, string> Attributes);

/// <summary>
/// The standalone Aspire dashboard (the AOT binary of the <c>Aspire.Dashboard.Sdk.linux-x64</c> package, which
/// Chirp.Testing downloads on restore) on free loopback ports, anonymous and over plain HTTP, as
/// <c>scripts/start</c> runs it. Services export OTLP to <see cref="OtlpGrpcEndpoint"/>; tests read what arrived through
/// the dashboard's <c>/api/telemetry/traces</c>. A missing binary fails the fixture, never skips it.
/// </summary>
public sealed class AspireDashboard : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private AspireDashboard(Process process, Uri url, Uri otlp)
    {
        _process = process;
        Url = url;
        OtlpGrpcEndpoint = otlp;
    }

    /// <summary>The dashboard's web page.</summary>
    public Uri Url { get; }

    /// <summary>Where services send OTLP over gRPC (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>).</summary>
    public Uri OtlpGrpcEndpoint { get; }

    /// <summary>The dashboard binary in the NuGet package folder, as restored for Chirp.Testing.</summary>
    public static string BinaryPath =>
        typeof(AspireDashboard).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "AspireDashboard").Value!;

    /// <summary>Everything the dashboard printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the dashboard and waits until its page answers; throws with its output when it does not within 30 s.</summary>
    public static async Task<AspireDashboard> StartAsync()
    {
        var binary = BinaryPath;
        if (!File.Exists(binary))
        {
            throw new FileNotFoundException(
                $"The Aspire dashboard is not at {binary}; restore tests/Chirp.Testing (dotnet restore) to download it.", binary);
        }

        var url = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var otlp = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var info = new ProcessStartInfo(binary)
        {
            WorkingDirectory = Path.GetDirectoryName(binary)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.Environment["ASPNETCORE_URLS"] = url.ToString();
        info.Environment["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = otlp.ToString();
        info.Environment["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] = $"http://127.0.0.1:{FreePort.Next()}";
        info.Environment["ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS"] = "true";
        info.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
        var process = new Process { StartInfo = info };
        var dashboard = new AspireDashboard(process, url, otlp);
        process.OutputDataReceived += (_, e) => dashboard.Append(e.Data);
        process.ErrorDataReceived += (_, e) => dashboard.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                using var response = await http.GetAsync("/api/telemetry/traces");
                if (response.IsSuccessStatusCode)
                {
                    return dashboard;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        var output = dashboard.Output;
        await dashboard.DisposeAsync();
        throw new InvalidOperationException($"The Aspire dashboard did not answer on {url} within 30 s:{Environment.NewLine}{output}");
    }

    /// <summary>Every span the dashboard holds for <paramref name="traceId"/> (32 lowercase hex digits).</summary>
    public async Task<IReadOnlyList<ReceivedSpan>> SpansAsync(string traceId)
    {
        using var http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(10) };
        var body = await http.GetFromJsonAsync<JsonObject>("/api/telemetry/traces") ?? [];
        var spans = new List<ReceivedSpan>();
        foreach (var resourceSpans in body["data"]?["resourceSpans"]?.AsArray() ?? [])
        {
            var service = Attributes(resourceSpans?["resource"]?["attributes"]).GetValueOrDefault("service.name", "");
            foreach (var scope in resourceSpans?["scopeSpans"]?.AsArray() ?? [])
            {
                foreach (var span in scope?["spans"]?.AsArray() ?? [])
                {
                    var id = span?["traceId"]?.GetValue<string>();
                    if (!string.Equals(id, traceId, StringComparison.OrdinalIgnoreCase))
                    {
                        continue;
                    }

                    var parent = span?["parentSpanId"]?.GetValue<string>();
                    spans.Add(new ReceivedSpan(
                        service,
                        id!.ToLowerInvariant(),
                        span!["spanId"]!.GetValue<string>().ToLowerInvariant(),
                        string.IsNullOrEmpty(parent) ? null : parent.ToLowerInvariant(),
                        span["name"]?.GetValue<string>() ?? "",
                        span["kind"]?.GetValueKind() == System.Text.Json.JsonValueKind.Number ? span["kind"]!.GetValue<int>() : 0,
                        Attributes(span["attributes"])));
                }
            }
        }

        return spans;
    }

    /// <summary>
    /// Polls <see cref="SpansAsync"/> until <paramref name="complete"/> holds for the spans of <paramref name="traceId"/>;
    /// throws, listing what arrived, after <paramref name="timeout"/>.
    /// </summary>
    public async Task<IReadOnlyList<ReceivedSpan>> WaitForSpansAsync(string traceId, Func<IReadOnlyList<ReceivedSpan>, bool> complete, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        IReadOnlyList<ReceivedSpan> spans = [];
        while (DateTime.UtcNow < deadline)
        {
            spans = await SpansAsync(traceId);
            if (complete(spans))
            {
                return spans;
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"The spans of trace {traceId} did not arrive within {timeout.TotalSeconds} s; got:{Environment.NewLine}" +
            string.Join(Environment.NewLine, spans.Select(s => $"  {s.Service}: {s.Name} ({s.SpanId} <- {s.ParentSpanId})")));
    }

    /// <summary>
    /// Opens the dashboard's page of <paramref name="traceId"/> in headless Chromium (<c>tests/live-client/dashboard.mjs</c>),
    /// waits until it shows every one of <paramref name="texts"/> and saves it as <paramref name="png"/>. Throws
    /// <see cref="InvalidOperationException"/> (the png then shows the page as it was) when it does not within 60 s.
    /// </summary>
    public async Task ScreenshotTraceAsync(string traceId, string png, params string[] texts)
    {
        var reply = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var program = NodeProgram.Start("dashboard.mjs", line => reply.TrySetResult(line));
        await program.WriteLineAsync(new JsonObject
        {
            ["url"] = new Uri(Url, $"/traces/detail/{traceId}").ToString(),
            ["png"] = Path.GetFullPath(png),
            ["texts"] = new JsonArray([.. texts.Select(t => JsonValue.Create(t))]),
            ["timeoutMs"] = 45_000,
        }.ToJsonString());
        var finished = await Task.WhenAny(reply.Task, program.Exited, Task.Delay(TimeSpan.FromSeconds(90)));
        var answer = finished == reply.Task ? JsonNode.Parse(await reply.Task) : null;
        if (answer?["ok"]?.GetValue<bool>() != true)
        {
            throw new InvalidOperationException(
                $"The dashboard's trace page did not show {string.Join(", ", texts)}: {answer?["error"]?.GetValue<string>() ?? program.StandardError}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        // It keeps telemetry in memory only: nothing to flush, so no grace period.
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static Dictionary<string, string> Attributes(JsonNode? attributes)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var a in attributes?.AsArray() ?? [])
        {
            if (a?["key"]?.GetValue<string>() is { } key && a["value"] is JsonObject value && value.FirstOrDefault() is { Value: { } v })
            {
                result[key] = v.GetValueKind() == System.Text.Json.JsonValueKind.String ? v.GetValue<string>() : v.ToJsonString();
            }
        }

        return result;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
