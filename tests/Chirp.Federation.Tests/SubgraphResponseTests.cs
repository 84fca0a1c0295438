using System.Text;
using System.Text.Json;

namespace Chirp.Federation.Tests;

/// <summary>Reading a subgraph's answer into pooled memory, as the HTTP transport does.</summary>
public sealed class SubgraphResponseTests
{
    [Fact]
    public async Task AnAnswerIsReadWhateverItsAnnouncedLength()
    {
        var body = """{"data":{"tweet":{"id":"t1"}}}""";

        // No length, a right one, and a wrong (too small) one: the body is read to its end every time.
        foreach (long? length in (long?[])[null, body.Length, 3])
        {
            using var response = await Read(body, length, maxBytes: 1024);
            Assert.Equal("t1", response.Root.GetProperty("data").GetProperty("tweet").GetProperty("id").GetString());
        }
    }

    [Fact]
    public async Task AnAnswerLargerThanTheLimitIsRefused()
    {
        var body = "{\"data\":{\"text\":\"" + new string('x', 5000) + "\"}}";
        using (var withinLimit = await Read(body, null, maxBytes: 8192))
        {
            Assert.Equal(5000, withinLimit.Root.GetProperty("data").GetProperty("text").GetString()!.Length);
        }


        await Assert.ThrowsAsync<JsonException>(() => Read(body, null, maxBytes: 4096));
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("{\"data\":")]
    [InlineData("<html>busy</html>")]
    public async Task AnAnswerThatIsNotAJsonObjectIsRefused(string body) =>
        await Assert.ThrowsAnyAsync<JsonException>(() => Read(body, null, maxBytes: 1024));

    private static Task<SubgraphResponse> Read(string body, long? length, int maxBytes) =>
        SubgraphResponse.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(body)), length, maxBytes, CancellationToken.None);
}
