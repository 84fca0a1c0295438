using Chirp.Testing;

namespace Chirp.Tweets.Tests;

/// <summary>The served SDL (<c>{ _service { sdl } }</c>) and <c>schema/tweets.graphql</c> describe the same subgraph.</summary>
[Collection(TweetsCollection.Name)]
public sealed class SchemaDriftTests(TweetsServers servers)
{
    [Fact]
    public async Task ServedSdlMatchesTheCheckedInSchemaFile()
    {
        var response = await servers.GraphQLAsync("{ _service { sdl } }");
        var served = response.Data("_service", "sdl");
        var file = await File.ReadAllTextAsync(RepoPaths.Combine("schema", "tweets.graphql"));

        Assert.Equal("", SdlShape.Diff(file, served));
    }

    [Fact]
    public void TheShapeSeesADroppedDirectiveOrChangedDefault()
    {
        const string a = "type Query { f(first: Int = 20): String @authenticated }";
        Assert.NotEqual(SdlShape.Of(a), SdlShape.Of("type Query { f(first: Int = 20): String }"));
        Assert.NotEqual(SdlShape.Of(a), SdlShape.Of("type Query { f(first: Int = 10): String @authenticated }"));
        Assert.Equal(SdlShape.Of(a), SdlShape.Of("\"doc\" type Query {\n  f(first: Int = 20): String @authenticated\n}"));
    }
}

