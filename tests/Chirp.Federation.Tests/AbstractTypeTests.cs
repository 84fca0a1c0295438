using Chirp.Federation.Schema;
using GraphQLParser;

namespace Chirp.Federation.Tests;

/// <summary>Selections on interfaces: per concrete type, with entity hops only where the objects are of that type.</summary>
public sealed class AbstractTypeTests
{
    private static readonly string Library = TestSupergraph.WithJoinDefinitions("""
        enum join__Graph {
          CATALOG @join__graph(name: "catalog", url: "http://localhost:4001/graphql")
          REVIEWS @join__graph(name: "reviews", url: "http://localhost:4002/graphql")
        }
        interface Item @join__type(graph: CATALOG) { id: ID! }
        type Book implements Item @join__implements(graph: CATALOG, interface: "Item") @join__type(graph: CATALOG, key: "id") @join__type(graph: REVIEWS, key: "id") {
          id: ID!
          title: String! @join__field(graph: CATALOG)
          stars: Int @join__field(graph: REVIEWS)
        }
        type Film implements Item @join__implements(graph: CATALOG, interface: "Item") @join__type(graph: CATALOG) {
          id: ID!
          minutes: Int
        }
        type Query @join__type(graph: CATALOG) @join__type(graph: REVIEWS) {
          items: [Item!]! @join__field(graph: CATALOG)
        }
        """);

    private static readonly Supergraph Supergraph = Supergraph.Parse(Library);

    private const string Query = "{ items { __typename id ... on Book { title stars } ... on Film { minutes } } }";

    [Fact]
    public void EachConcreteTypeGetsItsOwnFragmentAndOnlyBooksHop()
    {
        var plan = new FederatedExecutor(Supergraph).Plan(Parser.Parse(Query), null);

        Assert.Equal("query{items{__typename ...on Book{id title} ...on Film{id minutes}}}", plan.Fetches[0].Document);
        Assert.Equal(["items|Book"], plan.Fetches[1].Path!.Select(p => p.ToString()));
        Assert.Contains("...on Book{stars}", plan.Fetches[1].Document, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ObjectsAreShapedByTheirTypename()
    {
        var transport = new ScriptedTransport()
            .On("catalog", """{"data":{"items":[{"__typename":"Film","id":"f1","minutes":90},{"__typename":"Book","id":"b1","title":"Dune"}]}}""")
            .OnEntities("reviews", new Dictionary<string, string> { ["b1"] = """{"stars":5}""" });

        var result = await Run.Async(transport, Query, executor: new FederatedExecutor(Supergraph));

        Run.AssertNoErrors(result);
        Assert.Equal(
            """{"items":[{"__typename":"Film","id":"f1","minutes":90},{"__typename":"Book","id":"b1","title":"Dune","stars":5}]}""",
            result.Data!.ToJsonString());
        Assert.Equal("""[{"__typename":"Book","id":"b1"}]""", transport.RequestsTo("reviews").Single().Variables!["representations"]!.ToJsonString());
    }
}
