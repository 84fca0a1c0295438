using System.Diagnostics;
using Chirp.Testing;

namespace Chirp.Deployment.Tests;

/// <summary>
/// <c>schema/supergraph.graphql</c> must be the Apollo Federation composition of the checked-in subgraph SDLs
/// (each subgraph's own tests compare its served SDL with its file), so the gateway never plans from a stale graph.
/// </summary>
public sealed class SupergraphCompositionTests
{
    [Fact]
    public async Task SupergraphIsTheCompositionOfTheSubgraphSchemas()
    {
        var compose = RepoPaths.Combine("schema", "compose");
        Assert.True(Directory.Exists(Path.Combine(compose, "node_modules", "@apollo", "composition")),
            "Run 'npm ci' in schema/compose (scripts/test does) so the composition can be checked.");

        using var node = Process.Start(new ProcessStartInfo("node", [Path.Combine(compose, "compose.mjs"), "--check"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = await node.StandardOutput.ReadToEndAsync();
        var errors = await node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync();

        Assert.True(node.ExitCode == 0, output + errors);
    }
}
