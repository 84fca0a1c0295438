using Chirp.Tweets.Data;

namespace Chirp.Tweets.Tests;

/// <summary>Tweet text: 1-280 Unicode scalar values after NFC normalisation (docs/architecture.md section 3).</summary>
public sealed class TweetTextTests
{
    [Theory]
    [InlineData("\u200b\u200b")]
    [InlineData(" \ufeff \u200d ")]
    public void TextOfOnlyInvisibleCharactersIsEmpty(string invisible) =>
        Assert.False(TweetText.TryNormalize(invisible, out _, out _));

    [Fact]
    public void ACombiningAccentIsComposedAndCountsAsOne()
    {
        Assert.True(TweetText.TryNormalize("e\u0301", out var text, out _));
        Assert.Equal("\u00e9", text);
    }

    [Fact]
    public void TwoHundredEightyDecomposedAccentsFitBecauseTheyCountAfterComposition()
    {
        var decomposed = string.Concat(Enumerable.Repeat("e\u0301", 280));
        Assert.Equal(560, decomposed.Length);

        Assert.True(TweetText.TryNormalize(decomposed, out var text, out _));
        Assert.Equal(new string('\u00e9', 280), text);
    }

    [Fact]
    public void AnEmojiOutsideTheBasicPlaneCountsAsOne()
    {
        var birds = string.Concat(Enumerable.Repeat("🐦", 280));
        Assert.Equal(560, birds.Length);

        Assert.True(TweetText.TryNormalize(birds, out _, out _));
        Assert.False(TweetText.TryNormalize(birds + "🐦", out _, out _));
    }

    [Fact]
    public void TwoHundredEightyOneScalarsAreTooMany()
    {
        Assert.True(TweetText.TryNormalize(new string('a', 280), out _, out _));
        Assert.False(TweetText.TryNormalize(new string('a', 281), out _, out var error));
        Assert.Contains("280", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\n\t \r\n")]
    [InlineData("\u3000\u00a0")]
    public void EmptyOrWhitespaceOnlyTextIsRefused(string input) =>
        Assert.False(TweetText.TryNormalize(input, out _, out _));

    [Theory]
    [InlineData("a\0b")]
    [InlineData("bell\u0007")]
    public void ControlCharactersAreRefused(string input) =>
        Assert.False(TweetText.TryNormalize(input, out _, out _));

    [Fact]
    public void AnUnpairedSurrogateIsRefused()
    {
        Assert.False(TweetText.TryNormalize("lone " + '\ud800', out _, out _));
        Assert.False(TweetText.TryNormalize('\udc00' + " lone", out _, out _));
        Assert.True(TweetText.TryNormalize("pair \ud83d\udc26", out _, out _));
    }

    [Fact]
    public void LineBreaksAndTabsAreKept()
    {
        Assert.True(TweetText.TryNormalize("line one\nline\ttwo\r\n", out var text, out _));
        Assert.Equal("line one\nline\ttwo\r\n", text);
    }
}
