using System.Diagnostics;
using System.Text;

namespace Chirp.Testing;

/// <summary>
/// A Chirp service as its own process: <c>dotnet &lt;Project&gt;.dll</c> from the project's build output (the same
/// configuration as the tests), in its own folder so its <c>appsettings.json</c> applies, with settings as environment
/// variables (<c>:</c> written <c>__</c>), on a free loopback port. Tests use it where one process per service
/// matters, e.g. for telemetry attributed by <c>service.name</c> or to kill a service mid-work.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    /// <summary>Where the service listens, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Everything the service printed so far.</summary>
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

    /// <summary>
    /// The built assembly of <paramref name="projectFolder"/> (e.g. <c>subgraphs/Chirp.Tweets</c>), built in the tests'
    /// configuration; throws when it is missing.
    /// </summary>
    public static string AssemblyOf(string projectFolder)
    {
        // The tests run from tests/<project>/bin/<configuration>/<framework>/.
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var path = RepoPaths.Combine(projectFolder, "bin", framework.Parent!.Name, framework.Name, Path.GetFileName(projectFolder) + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing; build {projectFolder} first.", path);
    }

    /// <summary>
    /// Runs a chore of the service (e.g. <c>migrate</c>) to completion, without telemetry export (a dashboard would
    /// show it as one more instance of the service); throws with its output when it fails.
    /// </summary>
    public static async Task RunCommandAsync(string projectFolder, IReadOnlyDictionary<string, string> settings, params string[] args)
    {
        var quiet = new Dictionary<string, string>(settings) { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "" };
        using var process = Start(projectFolder, quiet, args);
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            lock (output)
            {
                throw new InvalidOperationException($"{projectFolder} {string.Join(' ', args)} exited with {process.ExitCode}:{Environment.NewLine}{output}");
            }
        }
    }

    /// <summary>Starts the service's web host and waits until <c>/health/ready</c> answers 200 (60 s at most).</summary>
    public static async Task<ServiceProcess> StartAsync(string projectFolder, IReadOnlyDictionary<string, string> settings)
    {
        var baseAddress = new Uri($"http://127.0.0.1:{FreePort.Next()}/");
        var withUrl = new Dictionary<string, string>(settings) { ["Urls"] = baseAddress.ToString().TrimEnd('/') };
        var service = new ServiceProcess(Start(projectFolder, withUrl, []), baseAddress);
        service._process.OutputDataReceived += (_, e) => service.Append(e.Data);
        service._process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        service._process.BeginOutputReadLine();
        service._process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !service._process.HasExited)
        {
            try
            {
                using var response = await http.GetAsync("/health/ready");
                if (response.IsSuccessStatusCode)
                {
                    return service;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Still starting.
            }

            await Task.Delay(200);
        }

        var output = service.Output;
        await service.DisposeAsync();
        throw new InvalidOperationException($"{projectFolder} was not ready on {baseAddress} within 60 s:{Environment.NewLine}{output}");
    }

    /// <summary>Kills the service with SIGKILL, as a crashed node or an out-of-memory kill would, and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>Stops the service with SIGTERM, as Kubernetes does, so it flushes its telemetry; kills it after 15 s.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await ChildProcesses.RunAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
    }

    private static Process Start(string projectFolder, IReadOnlyDictionary<string, string> settings, string[] args)
    {
        var assembly = AssemblyOf(projectFolder);
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(assembly);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        info.Environment[ServiceHost.DatabaseMaxPoolSizeKey.Replace(":", "__", StringComparison.Ordinal)] =
            ServiceHost.DatabaseMaxPoolSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (key, value) in settings)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"{projectFolder} did not start.");
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
