using System.Text.Json;
using System.Text.Json.Serialization;

namespace Chirp.Contracts;

/// <summary>
/// Integration event: a user retweeted a tweet. Carried as the <c>data</c> field (JSON, camelCase) of a
/// <c>tweet-retweeted</c> stream entry with <c>type=tweet-retweeted</c> and <c>v=1</c>. The checked-in file
/// <c>schema/events/tweet-retweeted.v1.json</c> is the wire contract.
/// </summary>
/// <param name="EventId">UUIDv7 of the event; with the recipient it keys the email sent log.</param>
/// <param name="OccurredAt">When the retweet was committed (UTC).</param>
/// <param name="RetweetId">Id of the new retweet.</param>
/// <param name="TweetId">Id of the original tweet.</param>
/// <param name="TweetAuthorId">Id of the original tweet's author (the one to notify).</param>
/// <param name="TweetText">Text of the original tweet.</param>
/// <param name="RetweetedById">Id of the user who retweeted.</param>
/// <param name="RetweetedByHandle">Handle of the user who retweeted.</param>
/// <param name="RetweetedByDisplayName">Display name of the user who retweeted.</param>
/// <param name="Traceparent">W3C trace context of the mutation, so consumers continue its trace; may be null.</param>
public sealed record TweetRetweeted(
    string EventId,
    DateTimeOffset OccurredAt,
    string RetweetId,
    string TweetId,
    string TweetAuthorId,
    string TweetText,
    string RetweetedById,
    string RetweetedByHandle,
    string RetweetedByDisplayName,
    string? Traceparent);

/// <summary>
/// The payload of a <see cref="ChirpHeaders.Identity"/> assertion (docs/architecture.md section 2).
/// <c>iat</c> and <c>exp</c> are Unix seconds; <c>kid</c> names the internal HMAC key that signed it.
/// </summary>
public sealed record IdentityAssertionPayload(
    [property: JsonPropertyName("sub")] string Sub,
    [property: JsonPropertyName("handle")] string Handle,
    [property: JsonPropertyName("displayName")] string DisplayName,
    [property: JsonPropertyName("scope")] string Scope,
    [property: JsonPropertyName("iat")] long Iat,
    [property: JsonPropertyName("exp")] long Exp,
    [property: JsonPropertyName("kid")] string Kid);

/// <summary>Source-generated JSON for the wire contracts, camelCase, no reflection.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(TweetRetweeted))]
[JsonSerializable(typeof(IdentityAssertionPayload))]
public sealed partial class ContractsJsonContext : JsonSerializerContext;
