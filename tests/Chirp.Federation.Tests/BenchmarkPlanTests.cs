using System.Text.Json.Nodes;
using Chirp.Federation.Schema;
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

    [Fact]
    public void AProvidedFieldComesFromTheSubgraphThatProvidesIt()
    {
        var plan = DeepPlan();

        // Review.author @provides(fields: "username") in reviews: only name is left for accounts.
        var reviews = Assert.Single(plan.Fetches, f => f.Subgraph == "reviews");
        Assert.Contains("author{id username reviews{", reviews.Document);
        var accounts = Assert.Single(plan.Fetches, f => f.Subgraph == "accounts" && !f.IsRoot);
        Assert.Contains("...on User{name}", accounts.Document);
        Assert.DoesNotContain("username", accounts.Document);
    }

    private static int Level(FetchNode fetch) => fetch.DependsOn.Count == 0 ? 0 : fetch.DependsOn.Max(Level) + 1;

    private static QueryPlan DeepPlan()
    {
        var query = JsonNode.Parse(File.ReadAllText(Workload("query.json")))!["query"]!.GetValue<string>();
        return new FederatedExecutor(Bench.Value).Plan(Parser.Parse(query), null);
    }

    private static string Workload(string file) => Path.Combine(TestSupergraph.RepositoryRoot(), "bench", "federation", "workload", file);
}
