using System.Text.Json.Nodes;
using Chirp.Testing;

namespace Chirp.Federation.Tests.Differential;

/// <summary>The federation benchmark's graph: every case through Chirp's gateway and Apollo Gateway, compared.</summary>
public sealed class BenchGraphDifferentialTests(BenchGraphPair pair) : IClassFixture<BenchGraphPair>
{
    public static readonly DifferentialCase[] Cases =
    [
        new("bench-deep-query", BenchmarkQuery(), OperationName: "TestQuery"),
        new("bench-me", "{ me { id name username } }"),
        new("bench-users-reviews-products", "{ users { id username reviews { body product { name } } } }"),
        new("bench-top-products-default-argument", "{ topProducts { upc name price } }"),
        new("bench-top-products-int-variable", "query ($n: Int) { topProducts(first: $n) { name } }", """{"n":2}"""),
        new("bench-requires", "{ topProducts { name shippingEstimate } }"),
        new("bench-requires-alone", "{ topProducts(first: 5) { shippingEstimate } }"),
        new("bench-requires-with-an-alias-named-like-a-required-field", "{ topProducts { price: name weight: upc shippingEstimate } }"),
        new("bench-provides", "{ topProducts { reviews { author { username } } } }"),
        new("bench-provides-and-more", "{ topProducts { reviews { author { username name } } } }"),
        new("bench-aliases-named-like-keys", "{ topProducts(first: 2) { upc: name inStock } }"),
        new("bench-aliases-named-like-keys-under-provides", "{ topProducts(first: 1) { reviews { id: body author { id: username } } } }"),
        new("bench-typename-at-every-level", "{ __typename topProducts { __typename reviews { __typename author { __typename reviews { __typename } } } } }"),
        new("bench-named-fragments", """
            { me { ...U } }
            fragment U on User { username reviews { ...R } }
            fragment R on Review { body product { ...P } }
            fragment P on Product { upc inStock }
            """),
        new("bench-inline-fragments", "{ topProducts { ... on Product { name ... on Product { inStock } } ... { upc } } }"),
        new("bench-include-false-on-a-hop", "query ($r: Boolean!) { topProducts { name reviews @include(if: $r) { body } } }", """{"r":false}"""),
        new("bench-skip-true-on-requires", "query ($s: Boolean!) { topProducts { name shippingEstimate @skip(if: $s) } }", """{"s":true}"""),
        new("bench-id-variable", "query ($id: ID!) { user(id: $id) { name reviews { product { name price } } } }", """{"id":"2"}"""),
        new("bench-id-variable-given-as-int", "query ($id: ID!) { user(id: $id) { username } }", """{"id":3}"""),
        new("bench-unknown-user", """{ user(id: "999") { name reviews { id } } }"""),
        new("bench-deep-nesting", "{ users { reviews { product { reviews { author { reviews { product { name } } } } } } } }"),
        new("bench-same-entity-twice-through-aliases", """{ a: user(id: "1") { username } b: user(id: "1") { name reviews { id } } }"""),
        new("bench-only-typename-on-an-entity", "{ topProducts { reviews { author { __typename } } } }"),
        new("bench-repeated-fields-merge", "{ topProducts { name reviews { body } reviews { author { name } } } }"),
        new("bench-no-mutation-type", "mutation { me { id } }"),
        new("bench-variable-in-a-disallowed-position", "query ($n: String) { topProducts(first: $n) { name } }"),
        new("bench-variable-value-not-an-int", "query ($n: Int) { topProducts(first: $n) { name } }", """{"n":"x"}"""),
        new("bench-two-operations-without-a-name", "query A { me { id } } query B { users { id } }"),
    ];

    public static TheoryData<string> Names => [.. Cases.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task AnswersAsApolloGatewayDoes(string name) =>
        Differential.AssertSameAsync(pair, Cases.Single(c => c.Name == name), Deviations.All);

    private static string BenchmarkQuery() =>
        JsonNode.Parse(File.ReadAllText(RepoPaths.Combine("bench", "federation", "workload", "query.json")))!["query"]!.GetValue<string>();
}
