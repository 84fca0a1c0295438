using System.Text.Json.Nodes;
using Chirp.Federation.Schema;
using GraphQLParser;

namespace Chirp.Federation.Tests;

/// <summary>Entity hops whose owner needs more than the key (<c>@requires</c>), on a small supergraph of shop subgraphs.</summary>
public sealed class RequiresTests
{
    private static readonly string Shop = TestSupergraph.WithJoinDefinitions("""
        enum join__Graph {
          INVENTORY @join__graph(name: "inventory", url: "http://localhost:4001/graphql")
          PRODUCTS @join__graph(name: "products", url: "http://localhost:4002/graphql")
          REVIEWS @join__graph(name: "reviews", url: "http://localhost:4003/graphql")
        }
        type Product @join__type(graph: INVENTORY, key: "upc") @join__type(graph: PRODUCTS, key: "upc") @join__type(graph: REVIEWS, key: "upc") {
          upc: String!
          weight: Int @join__field(graph: INVENTORY, external: true) @join__field(graph: PRODUCTS)
          name: String @join__field(graph: PRODUCTS)
          shippingEstimate: Int @join__field(graph: INVENTORY, requires: "weight")
        }
        type Review @join__type(graph: REVIEWS) { body: String product: Product }
        type Query @join__type(graph: INVENTORY) @join__type(graph: PRODUCTS) @join__type(graph: REVIEWS) {
          topProducts: [Product] @join__field(graph: PRODUCTS)
          reviews: [Review] @join__field(graph: REVIEWS)
        }
        """);

    private static readonly Supergraph Supergraph = Supergraph.Parse(Shop);

    [Fact]
    public void ARequiredFieldOfTheParentSubgraphIsFetchedWithTheParent()
    {
        var plan = new FederatedExecutor(Supergraph).Plan(Parser.Parse("{ topProducts { name shippingEstimate } }"), null);

        Assert.Equal("query{topProducts{name upc weight}}", plan.Fetches[0].Document);
        Assert.Contains("...on Product{shippingEstimate}", plan.Fetches[1].Document, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARequiredFieldOfASiblingSubgraphIsFetchedFirstAndSentInTheRepresentation()
    {
        var executor = new FederatedExecutor(Supergraph);
        var transport = new ScriptedTransport()
            .On("reviews", """{"data":{"reviews":[{"body":"good","product":{"upc":"p1"}}]}}""")
            .On("products", """{"data":{"_entities":[{"name":"Table","weight":100}]}}""")
            .On("inventory", request =>
            {
                var representation = request.Variables!["representations"]![0]!;
                var weight = representation["weight"]!.GetValue<int>();
                var entity = new JsonObject { ["shippingEstimate"] = weight / 2 };
                return new JsonObject { ["data"] = new JsonObject { ["_entities"] = new JsonArray(entity) } };
            });

        var result = await Run.Async(transport, "{ reviews { body product { name shippingEstimate } } }", executor: executor);

        Run.AssertNoErrors(result);
        Assert.Equal("""{"reviews":[{"body":"good","product":{"name":"Table","shippingEstimate":50}}]}""", result.Data!.ToJsonString());
        Assert.Equal(["reviews", "products", "inventory"], transport.Requests.Select(r => r.Subgraph));
        Assert.Equal(
            """[{"__typename":"Product","upc":"p1","weight":100}]""",
            transport.RequestsTo("inventory").Single().Variables!["representations"]!.ToJsonString());
    }
}
