namespace Chirp.Federation.Tests.Differential;

/// <summary>
/// Interfaces, unions, enums and list variables: every case through Chirp's gateway and Apollo Gateway, compared.
/// </summary>
public sealed class AbstractGraphDifferentialTests(AbstractGraphPair pair) : IClassFixture<AbstractGraphPair>
{
    public static readonly DifferentialCase[] Cases =
    [
        new("abstract-interface-inline-fragments", "{ media { __typename id title ... on Book { pages } ... on Film { minutes } ... on Song { artist } } }"),
        new("abstract-interface-with-entity-hops", "{ media { title ... on Book { rating reviewers { name reviewCount } } ... on Film { rating } } }"),
        new("abstract-interface-named-fragments", """
            { media { ...M } }
            fragment M on Media { id ...B ...F }
            fragment B on Book { author { name } rating }
            fragment F on Film { minutes }
            """),
        new("abstract-interface-fragment-on-the-interface-inside-a-type", "{ media { ... on Book { ... on Media { title } pages } } }"),
        new("abstract-union-inline-fragments", """{ search(term: "Dune") { __typename ... on Book { title rating } ... on Film { title minutes } ... on Person { name } } }"""),
        new("abstract-union-with-interface-fragment", """{ search(term: "n") { ... on Media { __typename title kind } ... on Person { name reviewCount } } }"""),
        new("abstract-union-named-fragments", """
            query Find($term: String!) { search(term: $term, limit: 3) { ...R } }
            fragment R on SearchResult { __typename ... on Book { id } ...P }
            fragment P on Person { id name }
            """, """{"term":"r"}"""),
        new("abstract-union-only-typename", """{ search(term: "u") { __typename } }"""),
        new("abstract-enum-list-in-an-input-object", "query ($f: MediaFilter) { media(filter: $f) { id kind } }", """{"f":{"kinds":["FILM","SONG"]}}"""),
        new("abstract-single-enum-for-a-list", "query ($f: MediaFilter) { media(filter: $f) { id } }", """{"f":{"kinds":"BOOK"}}"""),
        new("abstract-float-and-nested-input-default", "query ($f: MediaFilter) { media(filter: $f) { id year } }", """{"f":{"minYear":1970.5,"range":{"from":1900}}}"""),
        new("abstract-enum-literal-and-int-as-float", "{ media(filter: { kinds: [BOOK, FILM], minYear: 1975 }) { id } }"),
        new("abstract-id-list-variable-with-unknowns", "query ($ids: [ID!]!) { mediaByIds(ids: $ids) { __typename id ... on Book { rating } } }", """{"ids":["f1","nope","b2"]}"""),
        new("abstract-list-variable-null-item-refused", "query ($ids: [ID!]!) { mediaByIds(ids: $ids) { id } }", """{"ids":["f1",null]}"""),
        new("abstract-skip-on-interface-fragment", "query ($s: Boolean!) { media { id ... on Book @skip(if: $s) { rating } } }", """{"s":true}"""),
        new("abstract-include-on-union-member", "query ($i: Boolean!) { search(term: \"Dune\") { ... on Film @include(if: $i) { rating } ... on Book { id } } }", """{"i":true}"""),
        new("abstract-typename-alias", "{ media { kind: __typename t: __typename id } }"),
        new("abstract-alias-named-like-the-key", "{ media { ... on Book { id: title rating } } }"),
        new("abstract-root-error-on-an-interface-field", "{ broken { id } media { id } }"),
        new("abstract-entity-error-in-a-list", "{ media { id ... on Film { rating } } }"),
        new("abstract-fragment-on-a-type-outside-the-union", "{ search(term: \"Dune\") { ... on Song { artist } } }"),
    ];

    public static TheoryData<string> Names => [.. Cases.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task AnswersAsApolloGatewayDoes(string name) =>
        Differential.AssertSameAsync(pair, Cases.Single(c => c.Name == name), Deviations.All);
}
