using Chirp.Tweets.Data;

namespace Chirp.Tweets.Tests;

public sealed class TweetTextTests
{
    [Fact]
    public void ACombiningAccentIsComposedAndCountsAsOne()
    {
        Assert.True(TweetText.TryNormalize("e\u0301", out var text, out _));
        Assert.Equal("\u00e9", text);
    }
}
