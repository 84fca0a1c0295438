using System.Diagnostics;
using System.Text;

namespace Chirp.Testing;

/// <summary>Runs the external programs behind the fixtures (initdb, pg_ctl, redis-server).</summary>
public static class ChildProcesses
{
    /// <summary>True when this process runs as root, where PostgreSQL has to run as the <c>postgres</c> user.</summary>
    public static bool IsRoot => OperatingSystem.IsLinux() && Environment.UserName == "root";

    /// <summary>
    /// Runs <paramref name="file"/> to completion and returns its exit code and merged output.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> args, CancellationToken cancellationToken = default)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = new Process { StartInfo = info };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }

    /// <summary>Runs a program and throws <see cref="InvalidOperationException"/> with its output when it fails.</summary>
    public static async Task<string> RunCheckedAsync(string file, IEnumerable<string> args, CancellationToken cancellationToken = default)
    {
        var list = args.ToList();
        var (exitCode, output) = await RunAsync(file, list, cancellationToken);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"'{file} {string.Join(' ', list)}' exited with {exitCode}:{Environment.NewLine}{output}");
        }

        return output;
    }

    /// <summary>
    /// Closes <paramref name="process"/>'s standard input, which the programs started here take as the signal to stop,
    /// waits up to <paramref name="grace"/> for it to exit, then kills its whole process tree.
    /// </summary>
    public static async Task StopAsync(Process process, TimeSpan grace)
    {
        try
        {
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The program is gone already.
        }

        using var cts = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// Prefixes a command with <c>runuser -u <paramref name="user"/> --</c> when running as root, so servers that
    /// refuse root (PostgreSQL) still start in CI, which runs as root.
    /// </summary>
    public static (string File, List<string> Args) AsUser(string user, string file, params string[] args) =>
        IsRoot ? ("runuser", ["-u", user, "--", file, .. args]) : (file, [.. args]);
}

/// <summary>
/// A <c>/bin/sh</c> script whose standard input is a pipe from this process. The scripts wait for end-of-file
/// on it and then stop what they started, so servers stop both when a fixture is disposed (it closes the
/// pipe) and when the test process dies without disposing anything (the kernel closes the pipe).
/// </summary>
internal sealed class GuardedScript : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<(string Line, TaskCompletionSource Seen)> _waiters = [];

    private GuardedScript(Process process) => _process = process;

    /// <summary>Everything the script and its children wrote so far (stdout and stderr).</summary>
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

    /// <summary>Completes when the script exits.</summary>
    public Task Exited => _process.WaitForExitAsync();

    /// <summary>Starts <c>sh -c <paramref name="script"/> sh args...</c>.</summary>
    public static GuardedScript Start(string script, params string[] args)
    {
        var info = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script);
        info.ArgumentList.Add("sh");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var guarded = new GuardedScript(process);
        process.OutputDataReceived += (_, e) => guarded.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => guarded.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return guarded;
    }

    /// <summary>
    /// Waits until the script prints <paramref name="line"/>; returns false when the script exits first or the
    /// timeout passes.
    /// </summary>
    public async Task<bool> WaitForLineAsync(string line, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            if (_output.ToString().Split('\n').Any(l => l.TrimEnd('\r') == line))
            {
                return true;
            }

            _waiters.Add((line, seen));
        }

        var finished = await Task.WhenAny(seen.Task, Exited, Task.Delay(timeout, cancellationToken));
        return finished == seen.Task;
    }

    /// <summary>
    /// Closes the script's standard input so it stops its servers, and waits up to <paramref name="timeout"/>
    /// for it to exit; kills the whole process tree after that.
    /// </summary>
    public Task StopAsync(TimeSpan timeout) => ChildProcesses.StopAsync(_process, timeout);

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10));
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
            foreach (var waiter in _waiters.Where(w => w.Line == line).ToList())
            {
                waiter.Seen.TrySetResult();
                _waiters.Remove(waiter);
            }
        }
    }
}
