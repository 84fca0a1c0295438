using System.Text.Json.Nodes;
using GraphQLParser;

namespace Chirp.Federation.Tests;

/// <summary>
/// The plan of the federation benchmark's deep query (bench/federation/workload) over its supergraph: the number of
/// subgraph fetches is one of the bench's goals (bench/README.md).
/// </summary>
public sealed class BenchmarkPlanTests
{
    private static readonly Lazy<Supergraph> Bench = new(() => Supergraph.Parse(File.ReadAllText(Workload("supergraph.graphql"))));

    [Fact]
    public void TheDeepQueryTakesSevenFetchesOnePerSubgraphAndLevel()
    {
        var plan = DeepPlan();

        Assert.True(plan.Fetches.Count == 7, plan.ToString());
        Assert.Equal(2, plan.RootFetches.Count());
        string[] expected = ["accounts:0", "products:0", "reviews:1", "inventory:1", "accounts:2", "products:2", "inventory:3"];
        Assert.Equal(expected.Order(), plan.Fetches.Select(f => $"{f.Subgraph}:{Level(f)}").Order());
    }

    private static int Level(FetchNode fetch) => fetch.DependsOn.Count == 0 ? 0 : fetch.DependsOn.Max(Level) + 1;

    private static QueryPlan DeepPlan()
    {
        var query = JsonNode.Parse(File.ReadAllText(Workload("query.json")))!["query"]!.GetValue<string>();
        return new FederatedExecutor(Bench.Value).Plan(Parser.Parse(query), null);
    }

    private static string Workload(string file) => Path.Combine(TestSupergraph.RepositoryRoot(), "bench", "federation", "workload", file);
}
