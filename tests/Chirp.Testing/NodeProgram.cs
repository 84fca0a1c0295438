using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Chirp.Testing;

/// <summary>
/// A Node.js program (run by <c>node</c> from PATH), by default from <c>tests/live-client</c>, whose standard input is
/// a pipe from this process: the programs stop when it ends, so they also stop when the test process dies (programs
/// that do not read stdin are killed by <see cref="StopAsync"/>). Each line the program writes to stdout goes to a
/// callback; stderr is kept.
/// </summary>
public sealed class NodeProgram : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NodeProgram(Process process) => _process = process;

    /// <summary>The folder holding the programs and their <c>package.json</c>.</summary>
    public static string Folder => RepoPaths.Combine("tests", "live-client");

    /// <summary>Completes when the program exited and its stdout was read to the end.</summary>
    public Task Exited => Task.WhenAll(_process.WaitForExitAsync(), _stdoutClosed.Task);

    /// <summary>The exit code once <see cref="Exited"/> completed; null before.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Everything the program wrote to stderr so far.</summary>
    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>
    /// Starts <c>node tests/live-client/<paramref name="script"/></c>; <paramref name="onLine"/> gets each stdout
    /// line, on a thread-pool thread, one at a time. Throws <see cref="InvalidOperationException"/> when node is
    /// not on PATH or the npm packages in <see cref="Folder"/> are not installed.
    /// </summary>
    public static NodeProgram Start(string script, Action<string> onLine) => Start(Folder, Path.Combine(Folder, script), [], onLine);

    /// <summary>
    /// Starts <c>node <paramref name="script"/> <paramref name="args"/></c> in <paramref name="packageFolder"/>, the
    /// folder whose <c>node_modules</c> the script uses. Throws <see cref="InvalidOperationException"/> when node is not
    /// on PATH or those npm packages are not installed.
    /// </summary>
    public static NodeProgram Start(string packageFolder, string script, IEnumerable<string> args, Action<string> onLine)
    {
        if (!Directory.Exists(Path.Combine(packageFolder, "node_modules")))
        {
            throw new InvalidOperationException($"The npm packages of {packageFolder} are missing: run 'npm ci' there (scripts/test does).");
        }

        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = packageFolder,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info };
        var program = new NodeProgram(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                program._stdoutClosed.TrySetResult();
            }
            else
            {
                onLine(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (program._stderr)
                {
                    program._stderr.AppendLine(e.Data);
                }
            }
        };

        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            process.Dispose();
            throw new InvalidOperationException("'node' could not be started; install Node.js 20 (scripts/test does).", e);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return program;
    }

    /// <summary>Writes one line to the program's stdin. Throws <see cref="IOException"/> when the program is gone.</summary>
    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>
    /// Closes stdin, which asks the program to stop, waits up to <paramref name="grace"/> for it to exit, and then
    /// kills its whole process tree (a browser included).
    /// </summary>
    public Task StopAsync(TimeSpan grace) => ChildProcesses.StopAsync(_process, grace);

    /// <summary>Stops the program (5 s to exit on its own) and releases the process handle.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5));
        _process.Dispose();
    }
}
