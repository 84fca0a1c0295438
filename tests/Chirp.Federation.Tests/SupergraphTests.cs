using Chirp.Federation.Schema;

namespace Chirp.Federation.Tests;

public sealed class SupergraphTests
{
    [Fact]
    public void SubgraphNamesAndDefaultUrlsComeFromJoinGraph()
    {
        var supergraph = TestSupergraph.Value;

        Assert.Equal(["notifications", "tweets", "users"], supergraph.SubgraphNames.Order());
        Assert.Equal(new Uri("http://127.0.0.1:5001/graphql"), supergraph.DefaultUrl("users"));
        Assert.Equal(new Uri("http://127.0.0.1:5002/graphql"), supergraph.DefaultUrl("tweets"));
        Assert.Throws<ArgumentException>(() => supergraph.DefaultUrl("nope"));
    }

    [Fact]
    public void ApiSchemaHasNoFederationMetadata()
    {
        var sdl = TestSupergraph.Value.ApiSdl;

        Assert.DoesNotContain("join__", sdl, StringComparison.Ordinal);
        Assert.DoesNotContain("link", sdl, StringComparison.Ordinal);
        Assert.DoesNotContain("@authenticated", sdl, StringComparison.Ordinal);
        Assert.DoesNotContain("requiresScopes", sdl, StringComparison.Ordinal);
        Assert.Contains("myTweets(first: Int = 20, after: String): TweetConnection!", sdl, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("type Query {")]
    [InlineData("type Query { a: Int }")]
    [InlineData("enum join__Graph { A @join__graph(name: \"a\", url: \"not a url\") } type Query { a: Int }")]
    [InlineData("enum join__Graph { A @join__graph(name: \"a\", url: \"http://a\") } type Query @join__type(graph: B) { a: Int }")]
    public void ABrokenSupergraphIsRefusedWithAClearMessage(string sdl)
    {
        var error = Assert.Throws<SupergraphException>(() => Supergraph.Parse(sdl));
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }
}
