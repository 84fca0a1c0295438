using System.Net;

namespace Chirp.Federation.Tests.Differential;

/// <summary>Chirp's graph: every case through Chirp's gateway and Apollo Gateway, compared (see <see cref="Differential"/>).</summary>
public sealed class ChirpGraphDifferentialTests(ChirpGraphPair pair) : IClassFixture<ChirpGraphPair>
{
    public static readonly DifferentialCase[] Cases =
    [
        new("root-typename", "{ __typename }"),
        new("me", "{ me { id handle displayName createdAt } }"),
        new("user-by-id-variable", "query ($id: ID!) { user(id: $id) { id handle } }", """{"id":"u2"}"""),
        new("user-unknown", """{ user(id: "nope") { id tweets { nodes { id } } } }"""),
        new("tweet-with-author", """{ tweet(id: "t2") { id text author { handle displayName } } }"""),
        new("typename-at-every-level", """
            { __typename tweet(id: "t3") { __typename id author { __typename handle tweets(first: 1) { __typename nodes { __typename id }
              pageInfo { __typename hasNextPage } } } retweetOf { __typename id author { __typename } } } }
            """),
        new("aliases", """{ a: tweet(id: "t1") { x: text } b: tweet(id: "t2") { y: text who: author { name: handle } } }"""),
        new("alias-named-like-the-key-of-a-hop", """{ tweet(id: "t1") { id: text author { id: handle tweets { nodes { id } } } } }"""),
        new("alias-named-like-the-key-on-me", "{ me { id: handle emailSettings { address } } }"),
        new("alias-id-for-another-entity-key", """{ me { handle id: displayName tweets(first: 1) { nodes { text } } } }"""),
        new("same-field-twice-with-other-arguments", "{ me { first: tweets(first: 1) { nodes { id } } all: tweets { nodes { id } } } }"),
        new("named-fragments", """
            { tweet(id: "t3") { ...T retweetOf { ...T } } }
            fragment T on Tweet { id text author { ...U } }
            fragment U on User { handle }
            """),
        new("inline-fragments-with-and-without-type", "{ me { ... on User { handle } ... { id } } }"),
        new("nested-fragments-across-subgraphs", """
            { me { ...A } }
            fragment A on User { tweets { nodes { ...B } } }
            fragment B on Tweet { text author { handle ...C } }
            fragment C on User { emailSettings { verified } }
            """),
        new("skip-true-literal", "{ me { id handle @skip(if: true) } }"),
        new("include-variable-true", "query ($with: Boolean!) { me { id emailSettings @include(if: $with) { address } } }", """{"with":true}"""),
        new("include-variable-false", "query ($with: Boolean!) { me { id emailSettings @include(if: $with) { address } } }", """{"with":false}"""),
        new("skip-on-inline-fragment-by-default", "query ($s: Boolean = true) { me { id ... on User @skip(if: $s) { handle } } }"),
        new("skip-and-include-together", "query ($a: Boolean!, $b: Boolean!) { me { id handle @skip(if: $a) @include(if: $b) } }", """{"a":false,"b":true}"""),
        new("skip-on-fragment-spread", "query ($s: Boolean!) { me { id ...F @skip(if: $s) } } fragment F on User { tweets { nodes { id } } }", """{"s":true}"""),
        new("int-variable-default", "query ($n: Int = 1) { me { tweets(first: $n) { nodes { id } } } }"),
        new("string-variable-null", "query ($after: String) { me { tweets(after: $after) { nodes { id } } } }", """{"after":null}"""),
        new("string-variable-cursor", """query ($after: String) { user(id: "u2") { tweets(first: 1, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } } }""", """{"after":"c:t3"}"""),
        new("input-object-variable", "mutation ($input: CreateTweetInput!) { createTweet(input: $input) { tweet { id text author { handle } } } }", """{"input":{"text":"hi"}}"""),
        new("variable-inside-an-input-literal", "mutation ($t: String!) { createTweet(input: { text: $t }) { tweet { text } } }", """{"t":"inside"}"""),
        new("input-object-with-optional-fields", "mutation ($i: UpdateEmailSettingsInput!) { updateEmailSettings(input: $i) { emailSettings { address verified notifyOnRetweet } } }", """{"i":{"notifyOnRetweet":true}}"""),
        new("mutation-then-entity-hop", """mutation { retweet(input: { tweetId: "t1" }) { created tweet { id retweetOf { author { handle } } } } }"""),
        new("mutations-on-two-subgraphs-in-order", """
            mutation { a: updateProfile(input: { displayName: "A" }) { user { displayName } }
              b: signUp(input: { handle: "zed", displayName: "Z", password: "p" }) { user { id handle } } }
            """),
        new("operation-chosen-by-name", "query A { me { id } } query B { me { handle } }", OperationName: "B"),
        new("connection-edges-and-page-info", "{ me { tweets { edges { cursor node { id text } } pageInfo { hasNextPage endCursor } } } }"),
        new("retweet-chain-across-subgraphs", """{ tweet(id: "t3") { retweetCount retweetOf { retweetCount author { handle tweets { nodes { text } } } } } }"""),
        new("user-by-handle-variable", "query ($h: String!) { userByHandle(handle: $h) { id tweets { nodes { id retweetOf { id } } } } }", """{"h":"bob"}"""),
        new("introspection-type", """{ __type(name: "Tweet") { name kind fields { name } } }"""),
        new("root-error-with-sibling", """{ tweet(id: "boom") { id } me { handle } }"""),
        new("root-error-coded", """{ user(id: "forbidden") { id } }"""),
        new("entity-error", """{ tweet(id: "t4") { id author { handle } } }"""),
        new("entity-null-for-a-non-null-field", """{ tweet(id: "t5") { id author { handle } } }"""),
        new("entity-field-error", """{ me { id } t: tweet(id: "t2") { text author { handle emailSettings { address } } } }"""),
        new("mutation-error-nulls-the-payload", """mutation { changePassword(input: { currentPassword: "a", newPassword: "b" }) { user { id } } }"""),
        new("entity-subgraph-down", "{ me { handle emailSettings { address } } }", Down: ["notifications"]),
        new("root-subgraph-down", """{ tweet(id: "t1") { id } me { handle } }""", Down: ["tweets"]),
        new("unknown-field", "{ me { nope } }"),
        new("variable-in-a-disallowed-position", "query ($id: String!) { user(id: $id) { id } }", """{"id":"u1"}"""),
        new("variable-value-of-the-wrong-type", "mutation ($input: CreateTweetInput!) { createTweet(input: $input) { tweet { id } } }", """{"input":{"text":7}}"""),
        new("unparsable-document", "{ me { id }", Status: HttpStatusCode.BadRequest),
    ];

    public static TheoryData<string> Names => [.. Cases.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task AnswersAsApolloGatewayDoes(string name) =>
        Differential.AssertSameAsync(pair, Cases.Single(c => c.Name == name), Deviations.All);
}
