using Chirp.Tweets.Data;

namespace Chirp.Tweets.Tests;

public sealed class TweetCursorTests
{
    [Fact]
    public void ACursorRoundTripsToTheMicrosecond()
    {
        var cursor = new TweetCursor(new DateTimeOffset(2026, 11, 29, 1, 2, 3, TimeSpan.Zero).AddTicks(4_567_890), Guid.CreateVersion7());

        Assert.True(TweetCursor.TryDecode(cursor.Encode(), out var decoded));
        Assert.Equal(cursor, decoded);
    }

    [Theory]
    [InlineData("")]
    [InlineData("nope")]
    [InlineData("!!!!")]
    [InlineData("dDE6MTIzOm5vdC1hLWd1aWQ")]
    [InlineData("eDE6MTIzOjAxOTJmM2E0LTViNmMtN2Q4ZS05ZjAxLTIzNDU2Nzg5YWJjZA")]
    [InlineData("dDE6OTk5OTk5OTk5OTk5OTk5OTk5OTk5OjAxOTJmM2E0LTViNmMtN2Q4ZS05ZjAxLTIzNDU2Nzg5YWJjZA")]
    public void AnythingElseIsNotACursor(string text) => Assert.False(TweetCursor.TryDecode(text, out _));
}
