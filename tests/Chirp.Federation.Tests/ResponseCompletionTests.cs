using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Federation.Execution;

namespace Chirp.Federation.Tests;

/// <summary>
/// Response completion on its own: merged subgraph answers in, the client's <c>data</c> bytes and errors out, with
/// no executor and no transport (GraphQL spec section 6.4).
/// </summary>
public sealed class ResponseCompletionTests
{
    [Fact]
    public void FieldsComeInTheClientsOrderAndLeavesAsTheSubgraphWroteThem()
    {
        var (data, errors) = Complete(
            """{ tweet(id: "t1") { text id kind: __typename } }""",
            """{"data":{"tweet":{"id":"t1","text":"caf\u00e9 \"quoted\"","__typename":"Tweet"}}}""");

        // The escape sequences are copied, not decoded and re-encoded.
        Assert.Equal("""{"tweet":{"text":"caf\u00e9 \"quoted\"","id":"t1","kind":"Tweet"}}""", data);
        Assert.Null(errors);
    }

    [Fact]
    public void AnEntityResultAttachedToAnObjectCompletesItWithoutCopies()
    {
        var tweets = SubgraphResponse.FromJson(Parse("""{"data":{"tweet":{"id":"t1","author":{"id":"u1"}}}}"""));
        var users = SubgraphResponse.FromJson(Parse("""{"data":{"_entities":[{"handle":"alice","displayName":"Alice"}]}}"""));
        var store = ResultStore.Rent();
        var tweetsDocument = store.Add(tweets, tweets.Length);
        var usersDocument = store.Add(users, users.Length);
        store.AddRoot(new Part(tweetsDocument, tweets.Root.GetProperty("data")));
        var author = tweets.Root.GetProperty("data").GetProperty("tweet").GetProperty("author");
        store.Attach(new Part(tweetsDocument, author), new Part(usersDocument, users.Root.GetProperty("data").GetProperty("_entities")[0]));

        var (data, errors) = Write("""{ tweet(id: "t1") { author { displayName id handle } } }""", store);

        Assert.Equal("""{"tweet":{"author":{"displayName":"Alice","id":"u1","handle":"alice"}}}""", data);
        Assert.Null(errors);
    }

    [Fact]
    public void AnEntityItsOwnerDoesNotKnowIsNullAndNullsTheNearestNullableParent()
    {
        var tweets = SubgraphResponse.FromJson(Parse("""{"data":{"tweet":{"id":"t1","author":{"id":"u-gone"}}}}"""));
        var store = ResultStore.Rent();
        var document = store.Add(tweets, tweets.Length);
        store.AddRoot(new Part(document, tweets.Root.GetProperty("data")));
        store.Attach(new Part(document, tweets.Root.GetProperty("data").GetProperty("tweet").GetProperty("author")), null);

        var (data, errors) = Write("""{ tweet(id: "t1") { id author { handle } } }""", store);

        // Tweet.author is User!: the tweet is null, and one error says why.
        Assert.Equal("""{"tweet":null}""", data);
        var error = Assert.Single(errors!);
        Assert.Equal("""["tweet","author"]""", error!["path"]!.ToJsonString());
    }

    [Fact]
    public void ANullInANonNullListItemNullsTheListsNearestNullableParentAndCutsWhatWasWritten()
    {
        var (data, errors) = Complete(
            """{ user(id: "u1") { handle tweets { nodes { id text } } } }""",
            """{"data":{"user":{"handle":"alice","tweets":{"nodes":[{"id":"t1","text":"one"},{"id":"t2","text":null}]}}}}""");

        // nodes is [Tweet!]! and tweets is TweetConnection!: the null climbs to the nullable user.
        Assert.Equal("""{"user":null}""", data);
        var error = Assert.Single(errors!);
        Assert.Equal("""["user","tweets","nodes",1,"text"]""", error!["path"]!.ToJsonString());
        Assert.Equal("Cannot return null for non-nullable field Tweet.text.", error["message"]!.GetValue<string>());
    }

    [Fact]
    public void ANullThatReachesANonNullRootFieldMakesDataNullAndWritesNothing()
    {
        var response = SubgraphResponse.FromJson(Parse("""{"data":{"myTweets":null}}"""));
        var store = ResultStore.Rent();
        store.AddRoot(new Part(store.Add(response, response.Length), response.Root.GetProperty("data")));
        var plan = Run.Plan("{ myTweets { nodes { id } } }");
        using var output = new PooledBuffer();
        var errors = new ErrorList(plan.Shape);

        var written = ResponseCompletion.Write(plan.Shape, store, errors, output);
        store.Return();

        Assert.False(written);
        Assert.Equal(0, output.Length);
        Assert.Equal(1, errors.Count);
    }

    [Fact]
    public void ANullableFieldNoSubgraphAnsweredIsNullWithoutAnError()
    {
        var (data, errors) = Complete(
            "{ tweet(id: \"t1\") { ... on Tweet { id retweetOf { id } } } }",
            """{"data":{"tweet":{"id":"t1"}}}""");

        Assert.Equal("""{"tweet":{"id":"t1","retweetOf":null}}""", data);
        Assert.Null(errors);
    }

    /// <summary>Completes <paramref name="query"/> from one root answer, read as a transport reads it; the store disposes it.</summary>
    private static (string? Data, JsonArray? Errors) Complete(string query, string response)
    {
        var answer = SubgraphResponse.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(response)), null, 1 << 20, CancellationToken.None).GetAwaiter().GetResult();
        var store = ResultStore.Rent();
        store.AddRoot(new Part(store.Add(answer, answer.Length), answer.Root.GetProperty("data")));
        return Write(query, store);
    }

    private static (string? Data, JsonArray? Errors) Write(string query, ResultStore store)
    {
        var plan = Run.Plan(query);
        using var output = new PooledBuffer();
        var errors = new ErrorList(plan.Shape);
        var written = ResponseCompletion.Write(plan.Shape, store, errors, output);
        var data = written ? Encoding.UTF8.GetString(output.WrittenSpan) : null;
        store.Return();
        if (data is not null)
        {
            // Whatever was cut and written again must still be one JSON value.
            using var _ = JsonDocument.Parse(data);
        }

        return (data, errors.ToJson());
    }

    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();
}
