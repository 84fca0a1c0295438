using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Chirp.Gateway;
using Chirp.Gateway.Auth;
using Chirp.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Chirp.Federation.Tests.Differential;

/// <summary>
/// Chirp's gateway (in-process, wired as in production, on real Redis) and <c>@apollo/gateway</c> 2.14.4
/// (bench/federation/apollo-gateway.mjs) in front of the same subgraphs (a Node process), started once per test class.
/// Fails, never skips, when Node or the npm packages of bench/federation are missing.
/// </summary>
public abstract partial class GatewayPair : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly List<IDisposable> _disposables = [];
    private string? _chirpToken;

    /// <summary>The folder of the benchmark's Node packages and scripts.</summary>
    public static string BenchFolder => RepoPaths.Combine("bench", "federation");

    /// <summary>The supergraph both gateways serve.</summary>
    protected abstract string SupergraphPath { get; }

    /// <summary>The Node script serving every subgraph at <c>/graphql/&lt;name&gt;</c>, and its arguments for a port.</summary>
    protected abstract (string Script, string[] Args) SubgraphServer(int port);

    /// <summary>Chirp's gateway.</summary>
    public HttpClient Chirp { get; private set; } = null!;

    /// <summary>Apollo's gateway.</summary>
    public HttpClient Apollo { get; private set; } = null!;

    /// <summary>Where the subgraphs listen, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri Subgraphs { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var subgraphPort = FreePort.Next();
        var (script, args) = SubgraphServer(subgraphPort);
        await StartNodeAsync(script, args, subgraphPort);
        Subgraphs = new Uri($"http://127.0.0.1:{subgraphPort}/");

        // Each subgraph at /graphql/<name> of the Node process, for both gateways.
        var supergraph = JoinGraph().Replace(File.ReadAllText(SupergraphPath), m =>
            $"@join__graph(name: \"{m.Groups[1].Value}\", url: \"{Subgraphs}graphql/{m.Groups[1].Value}\")");
        var names = JoinGraph().Matches(supergraph).Select(m => m.Groups[1].Value).ToList();
        var folder = Directory.CreateTempSubdirectory("chirp-differential-");
        _disposables.Add(new Deletion(folder.FullName));
        // Apollo Gateway refuses supergraphs that link SECURITY features (@authenticated, @requiresScopes): its copy
        // drops those links, and Chirp answers as a caller with every scope, so the two see the same fields.
        var apolloSupergraph = Path.Combine(folder.FullName, "apollo-supergraph.graphql");
        await File.WriteAllLinesAsync(apolloSupergraph, supergraph.Split('\n').Where(l => !l.Contains("for: SECURITY", StringComparison.Ordinal)));
        var apolloPort = FreePort.Next();
        await StartNodeAsync(Path.Combine(BenchFolder, "apollo-gateway.mjs"), ["--supergraph", apolloSupergraph, "--port", apolloPort.ToString(System.Globalization.CultureInfo.InvariantCulture)], apolloPort);
        Apollo = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apolloPort}/") };
        _disposables.Add(Apollo);

        var redis = await RedisServer.StartAsync();
        _owned.Add(redis);
        var assertionKeys = KeyFolder.Create();
        _disposables.Add(assertionKeys);
        var tokenKeys = folder.CreateSubdirectory("token-keys");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            await File.WriteAllTextAsync(Path.Combine(tokenKeys.FullName, "test-key.pem"), key.ExportPkcs8PrivateKeyPem());
        }

        var settings = new Dictionary<string, string?>
        {
            [assertionKeys.Setting().Key] = assertionKeys.Setting().Value,
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Tokens:KeyDirectory"] = tokenKeys.FullName,
            ["Supergraph:Path"] = SupergraphPath,
        };
        foreach (var name in names)
        {
            settings[$"Subgraphs:{name}:Url"] = $"{Subgraphs}graphql/{name}";
        }

        var gateway = await ServiceHost.StartAsync("Chirp.Gateway", settings, b => b.AddGateway(), a => a.MapGateway());
        _owned.Insert(0, gateway);
        Chirp = gateway.CreateClient();
        _disposables.Add(Chirp);
        _chirpToken = gateway.Services.GetRequiredService<TokenIssuer>()
            .Issue(new TokenSubject("u1", "alice", "Alice", "tweets:write email:manage"), Guid.NewGuid().ToString("N")).Token;
    }

    public async Task DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        foreach (var disposable in _disposables)
        {
            disposable.Dispose();
        }
    }

    /// <summary>Deletes <paramref name="folder"/> when the pair is disposed.</summary>
    protected void DeleteOnDispose(string folder) => _disposables.Add(new Deletion(folder));

    /// <summary>Posts a GraphQL request to Chirp (as a caller with every scope) or Apollo; returns the status and the body.</summary>
    public async Task<(HttpStatusCode Status, JsonObject Body)> PostAsync(bool toChirp, JsonObject request)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, toChirp ? "graphql" : "/")
        {
            Content = new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        message.Headers.Accept.ParseAdd(toChirp ? "application/graphql-response+json" : "application/json");
        if (toChirp)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _chirpToken);
        }

        using var response = await (toChirp ? Chirp : Apollo).SendAsync(message);
        var text = await response.Content.ReadAsStringAsync();
        var body = JsonNode.Parse(text) as JsonObject ?? throw new InvalidOperationException($"Not a JSON object ({(int)response.StatusCode}): {text}");
        return (response.StatusCode, body);
    }

    /// <summary>Makes the subgraphs in <paramref name="down"/> drop every connection (only the Chirp-graph server does this).</summary>
    public async Task SetDownAsync(params string[] down)
    {
        using var http = new HttpClient();
        var body = new JsonObject { ["down"] = new JsonArray([.. down.Select(d => (JsonNode)d)]) };
        using var response = await http.PostAsync(new Uri(Subgraphs, "control"), new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }

    private async Task StartNodeAsync(string script, string[] args, int port)
    {
        var program = NodeProgram.Start(BenchFolder, script, args, _ => { });
        _owned.Add(new Stopper(program));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!await FreePort.IsListeningAsync(port, timeout.Token))
        {
            if (program.ExitCode is not null)
            {
                throw new InvalidOperationException($"node {Path.GetFileName(script)} exited with {program.ExitCode}: {program.StandardError}");
            }

            await Task.Delay(100, timeout.Token);
        }
    }

    [GeneratedRegex("""@join__graph\(\s*name: "([A-Za-z0-9_]+)",?\s*url: "[^"]*"\s*\)""")]
    private static partial Regex JoinGraph();

    private sealed class Stopper(NodeProgram program) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            // Neither gateway script reads stdin: no need to wait for them to stop on their own.
            await program.StopAsync(TimeSpan.FromMilliseconds(300));
            await program.DisposeAsync();
        }
    }

    private sealed class Deletion(string folder) : IDisposable
    {
        public void Dispose() => Directory.Delete(folder, recursive: true);
    }
}

/// <summary>Chirp's own graph: schema/supergraph.graphql over faithful in-test subgraphs (chirp-subgraphs.mjs).</summary>
public sealed class ChirpGraphPair : GatewayPair
{
    protected override string SupergraphPath => RepoPaths.Combine("schema", "supergraph.graphql");

    protected override (string Script, string[] Args) SubgraphServer(int port) =>
        (RepoPaths.Combine("tests", "Chirp.Federation.Tests", "Differential", "chirp-subgraphs.mjs"), ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
}

/// <summary>The federation benchmark's graph: bench/federation's four subgraphs, computing every answer (no memo).</summary>
public sealed class BenchGraphPair : GatewayPair
{
    protected override string SupergraphPath => RepoPaths.Combine("bench", "federation", "workload", "supergraph.graphql");

    protected override (string Script, string[] Args) SubgraphServer(int port) =>
        (Path.Combine(BenchFolder, "subgraphs.mjs"), ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--host", "127.0.0.1", "--no-memo"]);
}

/// <summary>
/// A graph with interfaces, a union, enums, lists and Float arguments (abstract-subgraphs.mjs, which composes the
/// supergraph with @apollo/composition when it starts).
/// </summary>
public sealed class AbstractGraphPair : GatewayPair
{
    private readonly string _folder = Directory.CreateTempSubdirectory("chirp-abstract-").FullName;

    public AbstractGraphPair() => DeleteOnDispose(_folder);

    protected override string SupergraphPath => Path.Combine(_folder, "supergraph.graphql");

    protected override (string Script, string[] Args) SubgraphServer(int port) =>
        (RepoPaths.Combine("tests", "Chirp.Federation.Tests", "Differential", "abstract-subgraphs.mjs"),
            ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--supergraph-out", SupergraphPath]);
}
