using Chirp.Contracts;

namespace Chirp.Tweets.Tests;

/// <summary><c>createTweet</c>: text rules and <c>@requiresScopes(scopes: [["tweets:write"]])</c>.</summary>
[Collection(TweetsCollection.Name)]
public sealed class CreateTweetTests(TweetsServers servers)
{
    private const string Create = "mutation($t: String!) { createTweet(input: {text: $t}) { tweet { id text createdAt author { id } retweetOf { id } retweetCount } } }";

    [Fact]
    public async Task ACreatedTweetHasItsAuthorTextAndNoRetweets()
    {
        var alice = TestUser.New("alice");

        var result = await servers.GraphQLAsync(Create, new { t = "Hello, Chirp!" }, alice);

        Assert.Null(result["errors"]);
        var tweet = result["data"]!["createTweet"]!["tweet"]!;
        Assert.True(Guid.TryParseExact(tweet["id"]!.GetValue<string>(), "D", out var id));
        Assert.Equal(7, id.Version);
        Assert.Equal("Hello, Chirp!", tweet["text"]!.GetValue<string>());
        Assert.Equal(alice.IdText, tweet["author"]!["id"]!.GetValue<string>());
        Assert.Null(tweet["retweetOf"]);
        Assert.Equal(0, tweet["retweetCount"]!.GetValue<int>());
        var createdAt = DateTimeOffset.Parse(tweet["createdAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.Zero, createdAt.Offset);
        Assert.InRange(createdAt, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    [Fact]
    public async Task TheTextIsStoredInNfcAndACombiningSequenceCountsOnce()
    {
        var alice = TestUser.New("alice");
        var decomposed = string.Concat(Enumerable.Repeat("e\u0301", 280));

        var result = await servers.GraphQLAsync(Create, new { t = decomposed }, alice);

        Assert.Null(result["errors"]);
        Assert.Equal(new string('\u00e9', 280), result.Data("createTweet", "tweet", "text"));
        var stored = await servers.ScalarAsync<string>("SELECT text FROM tweets WHERE id = $1", null, Guid.Parse(result.Data("createTweet", "tweet", "id")));
        Assert.Equal(new string('\u00e9', 280), stored);
    }

    [Fact]
    public async Task TwoHundredEightyEmojiFitAndOneMoreDoesNot()
    {
        var alice = TestUser.New("alice");

        var fits = await servers.GraphQLAsync(Create, new { t = GraphQLResponse.Repeat("🐦", 280) }, alice);
        var tooLong = await servers.GraphQLAsync(Create, new { t = GraphQLResponse.Repeat("🐦", 281) }, alice);

        Assert.Null(fits["errors"]);
        Assert.Equal(ErrorCodes.BadUserInput, tooLong.SingleErrorCode("createTweet"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\n\t")]
    [InlineData("nul\0inside")]
    public async Task EmptyWhitespaceOrControlTextIsBadUserInputAndWritesNothing(string text)
    {
        var alice = TestUser.New("alice");

        var result = await servers.GraphQLAsync(Create, new { t = text }, alice);

        Assert.Equal(ErrorCodes.BadUserInput, result.SingleErrorCode("createTweet"));
        Assert.Equal(0L, await servers.ScalarAsync<long>("SELECT count(*) FROM tweets WHERE author_id = $1", null, alice.Id));
    }

    [Fact]
    public async Task TwoHundredEightyOneCharactersAreBadUserInput()
    {
        var alice = TestUser.New("alice");

        var result = await servers.GraphQLAsync(Create, new { t = new string('a', 281) }, alice);

        Assert.Equal(ErrorCodes.BadUserInput, result.SingleErrorCode("createTweet"));
        Assert.Equal(0L, await servers.ScalarAsync<long>("SELECT count(*) FROM tweets WHERE author_id = $1", null, alice.Id));
    }

    [Fact]
    public async Task AnAnonymousCallerIsUnauthenticated()
    {
        var result = await servers.GraphQLAsync(Create, new { t = "hi" });

        Assert.Equal(ErrorCodes.Unauthenticated, result.SingleErrorCode("createTweet"));
        Assert.Null(result["data"]);
    }

    [Fact]
    public async Task ACallerWithoutTheTweetsWriteScopeIsForbiddenAndWritesNothing()
    {
        var alice = TestUser.New("alice");

        var result = await servers.GraphQLAsync(Create, new { t = "hi" }, alice, scope: ChirpScopes.EmailManage);

        Assert.Equal(ErrorCodes.Forbidden, result.SingleErrorCode("createTweet"));
        Assert.Equal(0L, await servers.ScalarAsync<long>("SELECT count(*) FROM tweets WHERE author_id = $1", null, alice.Id));
    }
}
