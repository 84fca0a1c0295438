using Chirp.Federation.Schema;
using GraphQLParser;

namespace Chirp.Federation.Tests;

/// <summary>Selections on interfaces: per concrete type, with entity hops only where the objects are of that type.</summary>
public sealed class AbstractTypeTests
{
    private const string Library = """
        schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION) { query: Query }
        directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
        directive @join__graph(name: String!, url: String!) on ENUM_VALUE
        directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE
        directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
        directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
        scalar join__FieldSet
        scalar link__Import
        enum link__Purpose { SECURITY EXECUTION }
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
        """;

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
