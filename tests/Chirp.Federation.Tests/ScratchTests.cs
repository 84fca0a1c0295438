using Xunit.Abstractions;

namespace Chirp.Federation.Tests;

public sealed class ScratchTests(ITestOutputHelper output)
{
    [Fact]
    public void Scratch()
    {
        foreach (var q in new[] {
            "{ tweet(id:\"t1\"){id} me{handle} user(id:\"u1\"){handle} }",
            "{ myTweets { nodes { id author { handle displayName } } } }",
            "query Feed($n: Int!) { me { handle tweets(first: $n) { nodes { id author { displayName } } } } }",
            "{ tweet(id:\"t1\") { id: text author { id: handle } retweetOf { author { handle } } } }",
            "mutation { a: createTweet(input:{text:\"x\"}) { tweet { id } } b: signUp(input:{handle:\"a\",displayName:\"b\",password:\"c\"}) { user { id } } c: createTweet(input:{text:\"y\"}) { tweet { author { handle } } } }",
            "{ __typename __schema { queryType { name } } }",
        })
        {
            output.WriteLine(q);
            output.WriteLine(Run.Plan(q).ToString());
        }
    }
}
