namespace Chirp.Federation.Tests.Differential;

/// <summary>
/// Every case where Chirp answers differently from Apollo Gateway 2.14.4, reviewed, with its reason. The suite asserts
/// Chirp's listed answer (in the comparison view of <see cref="Differential.View"/>) and that Apollo still differs.
/// Not listed because not compared: messages and codes (each gateway's own), and status codes (Chirp follows the
/// GraphQL-over-HTTP revision of docs/architecture.md section 6; Apollo answers 200 where Chirp answers 294, and 400
/// where Chirp answers 422).
/// </summary>
public static class Deviations
{
    private const string AliasOverwrittenByKey =
        "GraphQL spec 6.3.2 (CollectFields: a response key is the alias when there is one) and 6.4 (a field's value is what " +
        "its selection resolves): Apollo lets the key field it fetches for an entity hop overwrite a client alias of the " +
        "same name, so the alias shows the key instead of the aliased field.";

    private const string UnavailablePaths =
        "Chirp's error policy (docs/architecture.md section 3, UNAVAILABLE): a fetch to a subgraph that cannot be reached " +
        "gives one error per root field it was to resolve, or per entity it was to complete, with that path; Apollo's " +
        "error has no path.";

    private const string WrongListItem =
        "GraphQL spec 7.1.2 (an error's path names the response field that failed): when an entity lookup fails, Apollo " +
        "puts the entity's index among its fetch's representations where the client's list index belongs, naming another " +
        "item of the list; Chirp names the entity whose lookup failed.";

    /// <summary>By case name (case names are unique over both corpora).</summary>
    public static readonly IReadOnlyDictionary<string, Deviation> All = new Dictionary<string, Deviation>(StringComparer.Ordinal)
    {
        ["alias-named-like-the-key-on-me"] = new(
            """{"data":{"me":{"id":"alice","emailSettings":{"address":"alice@example.test"}}},"paths":[]}""", AliasOverwrittenByKey),
        ["alias-id-for-another-entity-key"] = new(
            """{"data":{"me":{"handle":"alice","id":"Alice","tweets":{"nodes":[{"text":"first!"}]}}},"paths":[]}""", AliasOverwrittenByKey),
        ["bench-aliases-named-like-keys"] = new(
            """{"data":{"topProducts":[{"upc":"Table","inStock":true},{"upc":"Couch","inStock":false}]},"paths":[]}""", AliasOverwrittenByKey),
        ["entity-error"] = new(
            """{"data":{"tweet":null},"paths":[["tweet","author"]]}""",
            "GraphQL spec 7.1.2 (an error's path names a field of the response): Apollo reports the subgraph's own path under " +
            "the entity, [tweet, author, _entities], which is not in the response; Chirp maps it to the entity's field."),
        ["entity-null-for-a-non-null-field"] = new(
            """{"data":{"tweet":null},"paths":[["tweet","author"]]}""",
            "GraphQL spec 6.4.4 (Handling Execution Errors: a null for a non-null field is a field error at its path, then the " +
            "null propagates): Apollo nulls the tweet without any error, so the client cannot tell why."),
        ["abstract-alias-named-like-the-key"] = new(
            """{"data":{"media":[{"id":"The Dispossessed","rating":4.5},{},{},{"id":"Dune","rating":4.8},{}]},"paths":[]}""", AliasOverwrittenByKey),
        ["abstract-interface-with-entity-hops"] = new(
            """
            {"data":{"media":[{"title":"The Dispossessed","rating":4.5,"reviewers":[{"name":"Frank","reviewCount":2}]},{"title":"Stalker","rating":4.9},
            {"title":"Dune Song"},{"title":"Dune","rating":4.8,"reviewers":[{"name":"Ursula","reviewCount":1},{"name":"Frank","reviewCount":2}]},
            {"title":"Dune","rating":null}]},"paths":[["media",4]]}
            """, WrongListItem),
        ["abstract-include-on-union-member"] = new("""{"data":{"search":[{"id":"b2"},{"rating":null}]},"paths":[["search",1]]}""", WrongListItem),
        ["abstract-entity-error-in-a-list"] = new(
            """{"data":{"media":[{"id":"b1"},{"id":"f1","rating":4.9},{"id":"s1"},{"id":"b2"},{"id":"f2","rating":null}]},"paths":[["media",4]]}""",
            WrongListItem),
        ["entity-subgraph-down"] = new("""{"data":{"me":{"handle":"alice","emailSettings":null}},"paths":[["me"]]}""", UnavailablePaths),
        ["root-subgraph-down"] = new("""{"data":{"tweet":null,"me":{"handle":"alice"}},"paths":[["tweet"]]}""", UnavailablePaths),
    };
}
