namespace Chirp.Contracts;

/// <summary>HTTP header names shared between the gateway and the services (no <c>X-</c> prefix, RFC 6648).</summary>
public static class ChirpHeaders
{
    /// <summary>
    /// The gateway's signed statement of who the caller is: <c>base64url(json payload) "." base64url(HMAC-SHA256)</c>.
    /// Clients never get to set it; the gateway drops any client copy.
    /// </summary>
    public const string Identity = "Chirp-Identity";

    /// <summary>
    /// Set by the users subgraph on the response to a successful password change; the value is the user's id. The
    /// gateway, which sent that request as this user, then ends every other session of the user (it alone holds
    /// sessions and the revocation state).
    /// </summary>
    public const string CredentialsChanged = "Chirp-Credentials-Changed";
}

/// <summary>Redis stream, channel and consumer group names of the retweet pipeline (docs/architecture.md section 5).</summary>
public static class TweetRetweetedStream
{
    /// <summary>The Redis stream that carries <see cref="TweetRetweeted"/> events.</summary>
    public const string StreamName = "tweet-retweeted";

    /// <summary>The pub/sub channel on which the same entry is published for live subscriptions.</summary>
    public const string ChannelName = "tweet-retweeted";

    /// <summary>Where entries go that cannot be processed.</summary>
    public const string DeadLetterStreamName = "tweet-retweeted.dead";

    /// <summary>The email worker's consumer group.</summary>
    public const string EmailWorkerGroup = "email-worker";

    /// <summary>Stream entry field with the event type name.</summary>
    public const string TypeField = "type";

    /// <summary>Stream entry field with the schema version of <see cref="DataField"/>.</summary>
    public const string VersionField = "v";

    /// <summary>Stream entry field with the event as JSON.</summary>
    public const string DataField = "data";

    /// <summary>The value of <see cref="TypeField"/>.</summary>
    public const string EventType = "tweet-retweeted";

    /// <summary>The value of <see cref="VersionField"/>.</summary>
    public const string Version = "1";
}

/// <summary>The scopes an access token may carry (docs/architecture.md section 3).</summary>
public static class ChirpScopes
{
    public const string TweetsWrite = "tweets:write";
    public const string EmailManage = "email:manage";

    /// <summary>Held only by the gateway's own service assertion, for <see cref="InternalRoutes.CredentialsVerify"/>.</summary>
    public const string CredentialsVerify = "internal:credentials:verify";

    /// <summary>What a password grant gets when it asks for no scope.</summary>
    public static readonly IReadOnlyList<string> Default = [TweetsWrite, EmailManage];
}

/// <summary>The <c>extensions.code</c> values of GraphQL errors (docs/architecture.md section 3).</summary>
public static class ErrorCodes
{
    public const string Unauthenticated = "UNAUTHENTICATED";
    public const string Forbidden = "FORBIDDEN";
    public const string NotFound = "NOT_FOUND";
    public const string BadUserInput = "BAD_USER_INPUT";
    public const string Conflict = "CONFLICT";
    public const string RateLimited = "RATE_LIMITED";
    public const string Internal = "INTERNAL";

    /// <summary>A service that the answer needs cannot be reached or is overloaded; retrying later may work (REST: 503).</summary>
    public const string Unavailable = "UNAVAILABLE";
}

/// <summary>Routes between services that are outside the graph.</summary>
public static class InternalRoutes
{
    /// <summary>
    /// Users subgraph: checks a handle and password. Body <c>{"handle","password"}</c>; answers 200
    /// <c>{"id","handle","displayName"}</c> or 401. Callable only with a gateway service assertion whose scope
    /// holds <see cref="ChirpScopes.CredentialsVerify"/>.
    /// </summary>
    public const string CredentialsVerify = "/internal/credentials/verify";
}
