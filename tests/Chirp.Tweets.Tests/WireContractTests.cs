using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.Testing;

namespace Chirp.Tweets.Tests;

/// <summary>The <c>tweet-retweeted</c> v1 wire format is the checked-in <c>schema/events</c> contract.</summary>
public sealed class WireContractTests
{
    private static readonly TweetRetweeted Example = new(
        EventId: "0192f3a4-5b6c-7d8e-9f01-23456789abcd",
        OccurredAt: new DateTimeOffset(2026, 11, 29, 12, 34, 56, TimeSpan.Zero).AddTicks(7_890_120),
        RetweetId: "0192f3a4-6c7d-7e8f-9012-3456789abcde",
        TweetId: "0192f3a4-0a1b-7c2d-8e3f-456789abcdef",
        TweetAuthorId: "0192f3a0-1111-7222-8333-444455556666",
        TweetText: "Grüße ☕",
        RetweetedById: "0192f3a0-7777-7888-8999-aaaabbbbcccc",
        RetweetedByHandle: "carol",
        RetweetedByDisplayName: "Carol Ångström",
        Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");

    private static string ContractFile => RepoPaths.Combine("schema", "events", "tweet-retweeted.v1.json");

    [Fact]
    public void TheEventSerialisesExactlyAsTheCheckedInExample()
    {
        var serialised = JsonSerializer.Serialize(Example, ContractsJsonContext.Default.TweetRetweeted);
        var file = File.ReadAllText(ContractFile);

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(file), JsonNode.Parse(serialised)), $"file:       {file}\nserialised: {serialised}");
        Assert.Equal(file.TrimEnd('\n'), serialised);
    }

    [Fact]
    public void TheCheckedInExampleHasEveryFieldOfTheEvent()
    {
        var names = JsonNode.Parse(File.ReadAllText(ContractFile))!.AsObject().Select(p => p.Key);

        Assert.Equal(
            ["eventId", "occurredAt", "retweetId", "tweetId", "tweetAuthorId", "tweetText", "retweetedById", "retweetedByHandle",
                "retweetedByDisplayName", "traceparent"],
            names);
        Assert.Equal(Example, JsonSerializer.Deserialize(File.ReadAllText(ContractFile), ContractsJsonContext.Default.TweetRetweeted));
    }

    [Fact]
    public void AStreamEntryHasTheFieldsTypeVersionAndData()
    {
        Assert.Equal(["type", "v", "data"], new[] { TweetRetweetedStream.TypeField, TweetRetweetedStream.VersionField, TweetRetweetedStream.DataField });
        Assert.Equal("tweet-retweeted", TweetRetweetedStream.EventType);
        Assert.Equal("1", TweetRetweetedStream.Version);
        Assert.Equal("tweet-retweeted", TweetRetweetedStream.StreamName);
        Assert.Equal("tweet-retweeted", TweetRetweetedStream.ChannelName);
    }

    [Fact]
    public void TheChannelMessageCarriesTheEntryIdAndItsFieldsAndReadsBack()
    {
        var data = JsonSerializer.Serialize(Example, ContractsJsonContext.Default.TweetRetweeted);
        var entry = new TweetRetweetedEnvelope("1732883696789-0", "tweet-retweeted", "1", data);

        var json = JsonNode.Parse(entry.ToChannelMessage())!.AsObject();

        Assert.Equal(["id", "type", "v", "data"], json.Select(p => p.Key));
        Assert.Equal(data, json["data"]!.GetValue<string>());
        Assert.True(TweetRetweetedEnvelope.TryParseChannelMessage(entry.ToChannelMessage(), out var parsed, out var @event));
        Assert.Equal(entry, parsed);
        Assert.Equal(Example, @event);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"id":"1-0","type":"tweet-retweeted","v":"2","data":"{}"}""")]
    [InlineData("""{"id":"1-0","type":"other","v":"1","data":"{}"}""")]
    [InlineData("""{"id":"1-0","type":"tweet-retweeted","v":"1","data":"nope"}""")]
    [InlineData("""{"id":"1-0","type":"tweet-retweeted","v":"1","data":7}""")]
    public void AMalformedChannelMessageIsRefusedWithoutThrowing(string message) =>
        Assert.False(TweetRetweetedEnvelope.TryParseChannelMessage(message, out _, out _));
}
