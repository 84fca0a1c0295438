using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Chirp.Federation.Schema;
using Chirp.GraphQL;
using GraphQLParser;

namespace Chirp.Federation.Tests;

/// <summary>The checked-in supergraph, read once from the repository.</summary>
internal static class TestSupergraph
{
    private static readonly Lazy<Supergraph> Instance = new(() => Supergraph.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "schema", "supergraph.graphql"))));

    public static Supergraph Value => Instance.Value;

    /// <summary>
    /// <paramref name="sdl"/> (the <c>join__Graph</c> enum and the types of a small test supergraph) after the schema
    /// definition and the <c>link</c> v1.0 and <c>join</c> v0.3 definitions that every supergraph starts with.
    /// </summary>
    public static string WithJoinDefinitions(string sdl) => JoinDefinitions + "\n" + sdl;

    private const string JoinDefinitions = """
        schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION) { query: Query }
        directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
        directive @join__graph(name: String!, url: String!) on ENUM_VALUE
        directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE
        directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
        directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
        scalar join__FieldSet
        scalar link__Import
        enum link__Purpose { SECURITY EXECUTION }
        """;

    public static string RepositoryRoot()
    {
        var directory = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(directory, "Chirp.sln")))
        {
            directory = Path.GetDirectoryName(directory) ?? throw new InvalidOperationException("Chirp.sln not found above " + AppContext.BaseDirectory);
        }

        return directory;
    }
}

/// <summary>A subgraph transport and subscriber that answers from a script and records every request and subscription.</summary>
internal sealed class ScriptedTransport : ISubgraphTransport, ISubgraphSubscriber
{
    private readonly Dictionary<string, Func<SubgraphRequest, JsonObject>> _handlers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _events = new(StringComparer.Ordinal);

    public ConcurrentQueue<(string Subgraph, SubgraphRequest Request)> Requests { get; } = new();

    /// <summary>The subscriptions opened, in order.</summary>
    public ConcurrentQueue<(string Subgraph, SubgraphRequest Request)> Subscriptions { get; } = new();

    /// <summary>How often a transport for one event's fetches was asked for.</summary>
    public int EventTransports { get; private set; }

    public IEnumerable<SubgraphRequest> RequestsTo(string subgraph) => Requests.Where(r => r.Subgraph == subgraph).Select(r => r.Request);

    /// <summary>Answers every request to <paramref name="subgraph"/> with <paramref name="handler"/>.</summary>
    public ScriptedTransport On(string subgraph, Func<SubgraphRequest, JsonObject> handler)
    {
        _handlers[subgraph] = handler;
        return this;
    }

    /// <summary>Answers every request to <paramref name="subgraph"/> with the same JSON.</summary>
    public ScriptedTransport On(string subgraph, string response) => On(subgraph, _ => JsonNode.Parse(response)!.AsObject());

    /// <summary>
    /// Answers <c>_entities</c> requests to <paramref name="subgraph"/>: each representation's <c>id</c> is looked up in
    /// <paramref name="entities"/> (missing means null), the rest of the request is answered by <paramref name="other"/>.
    /// A request with several batches (<c>$representations0</c>, ...) gets one list per batch (<c>_0</c>, ...).
    /// </summary>
    public ScriptedTransport OnEntities(string subgraph, IReadOnlyDictionary<string, string> entities, Func<SubgraphRequest, JsonObject>? other = null) =>
        On(subgraph, request =>
        {
            var batches = request.Variables?.Where(v => v.Key.StartsWith("representations", StringComparison.Ordinal)).ToList() ?? [];
            if (batches.Count == 0)
            {
                return other?.Invoke(request) ?? throw new InvalidOperationException("Unexpected request: " + request.Query);
            }

            var data = new JsonObject();
            foreach (var (name, representations) in batches)
            {
                var results = new JsonArray();
                foreach (var representation in representations!.AsArray())
                {
                    var id = representation!["id"]!.GetValue<string>();
                    results.Add(entities.TryGetValue(id, out var json) ? JsonNode.Parse(json) : null);
                }

                data[name == "representations" ? "_entities" : "_" + name["representations".Length..]] = results;
            }

            return new JsonObject { ["data"] = data };
        });

    /// <summary>Makes <paramref name="subgraph"/> unreachable.</summary>
    public ScriptedTransport Down(string subgraph) => On(subgraph, _ =>
        throw new SubgraphUnavailableException(subgraph, $"Connection refused (http://10.1.2.3:5001/graphql) at Chirp.Gateway.Something()"));

    /// <summary>A subscription on <paramref name="subgraph"/> yields <paramref name="events"/> (GraphQL responses), then completes.</summary>
    public ScriptedTransport OnSubscription(string subgraph, params string[] events)
    {
        _events[subgraph] = events;
        return this;
    }

    public async IAsyncEnumerable<JsonObject> SubscribeAsync(string subgraphName, SubgraphRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Subscriptions.Enqueue((subgraphName, request));
        if (!_events.TryGetValue(subgraphName, out var events))
        {
            throw new InvalidOperationException($"No subscription script for the {subgraphName} subgraph; it got: {request.Query}");
        }

        foreach (var subgraphEvent in events)
        {
            // Events arrive later than the subscription opens, as from a socket.
            await Task.Yield();
            yield return JsonNode.Parse(subgraphEvent)!.AsObject();
        }
    }

    public ISubgraphTransport TransportForEvent()
    {
        EventTransports++;
        return this;
    }

    public Task<SubgraphResponse> ExecuteAsync(string subgraphName, SubgraphRequest request, CancellationToken cancellationToken)
    {
        // The engine reuses the body's memory once the call returns: keep a request with its variables read.
        var kept = new SubgraphRequest(request.Query, request.Variables, request.OperationName);
        Requests.Enqueue((subgraphName, kept));
        if (!_handlers.TryGetValue(subgraphName, out var handler))
        {
            throw new InvalidOperationException($"No script for the {subgraphName} subgraph; it got: {request.Query}");
        }

        return Task.FromResult(SubgraphResponse.FromJson(handler(kept)));
    }
}

/// <summary>Runs operations through a <see cref="FederatedExecutor"/> over the checked-in supergraph.</summary>
internal static class Run
{
    public static readonly CallerContext Alice = new(true, new HashSet<string> { "tweets:write", "email:manage" });

    public static readonly CallerContext NoScopes = new(true, new HashSet<string>());

    public static Task<GraphQLResult> Async(
        ScriptedTransport transport,
        string query,
        string? variables = null,
        CallerContext? caller = null,
        string? operationName = null,
        FederatedExecutor? executor = null)
    {
        executor ??= new FederatedExecutor(TestSupergraph.Value);
        var document = Parser.Parse(query, new ParserOptions { Ignore = IgnoreOptions.Comments });
        var request = new FederatedRequest(
            new GraphQLRequest(query, operationName, variables is null ? null : JsonNode.Parse(variables)!.AsObject(), null),
            document,
            GraphQLOperations.Select(document, operationName),
            caller ?? Alice);
        return executor.ExecuteAsync(request, transport, transport, CancellationToken.None);
    }

    public static QueryPlan Plan(string query, string? operationName = null) =>
        new FederatedExecutor(TestSupergraph.Value).Plan(Parser.Parse(query), operationName);

    public static void AssertNoErrors(GraphQLResult result) => Assert.True(result.Errors is null, result.Errors?.ToJsonString());

    /// <summary>JSON text without whitespace, for exact comparisons.</summary>
    public static string Json(string json) => JsonNode.Parse(json)!.ToJsonString();
}
