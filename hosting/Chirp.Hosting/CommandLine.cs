using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Chirp.Hosting;

/// <summary>
/// A service chore run instead of the web host, e.g. <c>Chirp.Users migrate</c>.
/// Gets the built app's services and the arguments after the command name; returns the exit code.
/// </summary>
public delegate Task<int> ServiceCommand(IServiceProvider services, string[] args, CancellationToken cancellationToken);

/// <summary>Runs a web app or one of its chores, picked by the first command-line argument.</summary>
public static class CommandLineExtensions
{
    /// <summary>
    /// When <c>args[0]</c> names one of <paramref name="commands"/>, runs it in a service scope and returns its exit
    /// code; otherwise runs the web host until shutdown and returns 0. An unknown word that does not start with
    /// <c>-</c> prints the known commands and returns 2.
    /// </summary>
    public static async Task<int> RunWithCommandsAsync(this WebApplication app, string[] args, IReadOnlyDictionary<string, ServiceCommand> commands)
    {
        if (args.Length > 0 && !args[0].StartsWith('-') && !args[0].Contains('=', StringComparison.Ordinal))
        {
            if (!commands.TryGetValue(args[0], out var command))
            {
                await Console.Error.WriteLineAsync($"Unknown command '{args[0]}'. Commands: {string.Join(", ", commands.Keys)}.");
                return 2;
            }

            await using var scope = app.Services.CreateAsyncScope();
            using var cts = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
            return await command(scope.ServiceProvider, args[1..], cts.Token);
        }

        await app.RunAsync();
        return 0;
    }
}
