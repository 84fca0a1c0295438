using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.GraphQL;
using Chirp.GraphQL.AspNetCore;
using GraphQLParser;
using GraphQLParser.AST;

namespace Chirp.Gateway.Rest;

/// <summary>
/// The REST shim: <c>POST /tweets</c>, <c>GET /tweets</c>, <c>GET /tweets/{id}</c> and
/// <c>POST /tweets/{id}/retweet</c> as stored GraphQL operations run through the same executor as
/// <c>/graphql</c>. Errors are RFC 9457 problem details; GraphQL error codes map to 400/401/403/404/409/429/503/500.
/// </summary>
public static class TweetsShim
{
    /// <summary>Largest accepted body of <c>POST /tweets</c>; a tweet is 280 characters, so this is generous.</summary>
    private const int MaxBodyBytes = 16 * 1024;

    private const string TweetFields = "id text createdAt retweetCount author { id handle displayName } retweetOf { id text author { id handle displayName } }";

    private static readonly StoredOperation CreateTweet = new(
        $"mutation CreateTweet($text: String!) {{ createTweet(input: {{ text: $text }}) {{ tweet {{ {TweetFields} }} }} }}");

    private static readonly StoredOperation MyTweets = new(
        $"query MyTweets($first: Int, $after: String) {{ myTweets(first: $first, after: $after) {{ nodes {{ {TweetFields} }} pageInfo {{ hasNextPage endCursor }} }} }}");

    private static readonly StoredOperation TweetById = new(
        $"query Tweet($id: ID!) {{ tweet(id: $id) {{ {TweetFields} }} }}");

    private static readonly StoredOperation Retweet = new(
        $"mutation Retweet($id: ID!) {{ retweet(input: {{ tweetId: $id }}) {{ created tweet {{ {TweetFields} }} }} }}");

    /// <summary>A tweet as the shim returns it.</summary>
    public sealed record TweetBody(string Id, string Text, DateTimeOffset CreatedAt, int RetweetCount, JsonObject Author, JsonObject? RetweetOf);

    /// <summary>One page of the caller's tweets, newest first; <c>nextCursor</c> is null on the last page.</summary>
    public sealed record TweetPage(IReadOnlyList<JsonNode?> Items, string? NextCursor);

    /// <summary>The body of <c>POST /tweets</c>.</summary>
    public sealed record CreateTweetBody(string? Text);

    /// <summary>Maps the shim's routes; each needs an access token.</summary>
    public static IEndpointRouteBuilder MapTweetsShim(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/tweets").WithTags("tweets")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        group.MapPost("/", (Delegate)CreateAsync).Accepts<CreateTweetBody>("application/json")
            .Produces<TweetBody>(StatusCodes.Status201Created).WithSummary("Post a tweet");
        group.MapGet("/", (Delegate)ListAsync).Produces<TweetPage>().WithSummary("List your tweets, newest first (query: first = 1..100, after = a cursor)");
        group.MapGet("/{id}", GetAsync).Produces<TweetBody>().ProducesProblem(StatusCodes.Status404NotFound).WithSummary("Get one tweet");
        group.MapPost("/{id}/retweet", RetweetAsync)
            .Produces<TweetBody>(StatusCodes.Status201Created).Produces<TweetBody>().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Retweet a tweet (201 the first time, 200 with the existing retweet after that)");
        return endpoints;
    }

    private static async Task<IResult> CreateAsync(HttpContext context)
    {
        if (Unauthenticated(context) is { } denied)
        {
            return denied;
        }

        if (!context.Request.HasJsonContentType())
        {
            return Problem(context, StatusCodes.Status415UnsupportedMediaType, "Content-Type must be application/json.", ErrorCodes.BadUserInput);
        }

        var (body, status, unreadable) = await JsonRequestBody.ReadAsync(context.Request, MaxBodyBytes, context.RequestAborted);
        if (unreadable is not null)
        {
            return Problem(context, status, unreadable + " Send {\"text\": \"...\"}.", ErrorCodes.BadUserInput);
        }

        if (body is not JsonObject o || o["text"] is not JsonValue v || !v.TryGetValue<string>(out var text))
        {
            return Problem(context, StatusCodes.Status400BadRequest, "The body must be a JSON object with a string \"text\".", ErrorCodes.BadUserInput);
        }

        var (data, error) = await RunAsync(context, CreateTweet, new JsonObject { ["text"] = text });
        if (error is not null)
        {
            return error;
        }

        var tweet = data!["createTweet"]!["tweet"]!;
        return WithLocation(context, tweet, Results.Json(tweet, statusCode: StatusCodes.Status201Created));
    }

    private static async Task<IResult> ListAsync(HttpContext context)
    {
        if (Unauthenticated(context) is { } denied)
        {
            return denied;
        }

        var query = context.Request.Query;
        if (query["first"].Count > 1 || query["after"].Count > 1)
        {
            return Problem(context, StatusCodes.Status400BadRequest, "Give 'first' and 'after' at most once each.", ErrorCodes.BadUserInput);
        }

        var variables = new JsonObject();
        var first = query["first"].FirstOrDefault();
        var after = query["after"].FirstOrDefault();
        if (first is not null)
        {
            if (!int.TryParse(first, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var count))
            {
                return Problem(context, StatusCodes.Status400BadRequest, "'first' must be a whole number between 1 and 100.", ErrorCodes.BadUserInput);
            }

            variables["first"] = count;
        }

        if (after is not null)
        {
            variables["after"] = after;
        }

        var (data, error) = await RunAsync(context, MyTweets, variables);
        if (error is not null)
        {
            return error;
        }

        var connection = data!["myTweets"]!;
        var nodes = connection["nodes"]!.AsArray().Select(n => n?.DeepClone()).ToList();
        var hasNext = connection["pageInfo"]?["hasNextPage"]?.GetValue<bool>() == true;
        return Results.Json(new TweetPage(nodes, hasNext ? connection["pageInfo"]?["endCursor"]?.GetValue<string>() : null));
    }

    private static async Task<IResult> GetAsync(HttpContext context, string id)
    {
        if (Unauthenticated(context) is { } denied)
        {
            return denied;
        }

        var (data, error) = await RunAsync(context, TweetById, new JsonObject { ["id"] = id });
        if (error is not null)
        {
            return error;
        }

        return data!["tweet"] is { } tweet
            ? Results.Json(tweet)
            : Problem(context, StatusCodes.Status404NotFound, $"No tweet has the id '{id}'.", ErrorCodes.NotFound);
    }

    private static async Task<IResult> RetweetAsync(HttpContext context, string id)
    {
        if (Unauthenticated(context) is { } denied)
        {
            return denied;
        }

        var (data, error) = await RunAsync(context, Retweet, new JsonObject { ["id"] = id });
        if (error is not null)
        {
            return error;
        }

        var payload = data!["retweet"]!;
        var tweet = payload["tweet"]!;
        var created = payload["created"]?.GetValue<bool>() == true;
        var result = Results.Json(tweet, statusCode: created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
        return created ? WithLocation(context, tweet, result) : result;
    }

    private static IResult WithLocation(HttpContext context, JsonNode tweet, IResult result)
    {
        context.Response.Headers.Location = "/tweets/" + Uri.EscapeDataString(tweet["id"]!.GetValue<string>());
        return result;
    }

    private static IResult? Unauthenticated(HttpContext context)
    {
        if (context.User.Identity?.IsAuthenticated == true)
        {
            return null;
        }

        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Problem(context, StatusCodes.Status401Unauthorized, "An access token is required: send Authorization: Bearer <token> (get one at POST /auth/token).", ErrorCodes.Unauthenticated);
    }

    /// <summary>
    /// Runs a stored operation; returns its data, or the problem response for its first error. A write whose own field
    /// resolved but whose answer lost a nested lookup (a tweet's non-null author while the users service is down) has
    /// happened: its 503 carries no <c>Retry-After</c> and says so, since repeating it would tweet twice.
    /// </summary>
    private static async Task<(JsonNode? Data, IResult? Error)> RunAsync(HttpContext context, StoredOperation operation, JsonObject variables)
    {
        var executor = context.RequestServices.GetRequiredService<IGraphQLExecutor>();
        var result = await executor.ExecuteAsync(
            new GraphQLExecutionRequest
            {
                Request = new GraphQLRequest(operation.Text, null, variables, null),
                Document = operation.Document,
                Operation = operation.Operation,
                User = context.User,
                HttpContext = context,
            },
            context.RequestAborted);

        try
        {
            if (result.Errors is { Count: > 0 } errors)
            {
                var first = errors[0]!;
                var code = first["extensions"]?["code"]?.GetValue<string>() ?? ErrorCodes.Internal;
                var message = first["message"]?.GetValue<string>() ?? "The request failed.";
                if (result.Failure != GraphQLRequestFailure.None)
                {
                    code = ErrorCodes.BadUserInput;
                }

                if (operation.Operation.Operation == OperationType.Mutation && result.Failure == GraphQLRequestFailure.None
                    && code == ErrorCodes.Unavailable && errors.All(e => e?["path"] is JsonArray { Count: > 1 }))
                {
                    return (null, Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
                        detail: message + " The change itself was made: do not send it again; GET /tweets shows it.",
                        extensions: new Dictionary<string, object?> { ["code"] = code }));
                }

                return (null, Problem(context, StatusFor(code), message, code));
            }

            return result.Data is null
                ? (null, Problem(context, StatusCodes.Status500InternalServerError, "The request produced no data.", ErrorCodes.Internal))
                : (result.Data, null);
        }
        finally
        {
            // Data is a tree parsed from the pooled bytes by now: they can go back.
            result.Lease?.Dispose();
        }
    }

    /// <summary>The HTTP status for a GraphQL error code (docs/architecture.md section 3).</summary>
    public static int StatusFor(string code) => code switch
    {
        ErrorCodes.Unauthenticated => StatusCodes.Status401Unauthorized,
        ErrorCodes.Forbidden => StatusCodes.Status403Forbidden,
        ErrorCodes.NotFound => StatusCodes.Status404NotFound,
        ErrorCodes.BadUserInput => StatusCodes.Status400BadRequest,
        ErrorCodes.Conflict => StatusCodes.Status409Conflict,
        ErrorCodes.RateLimited => StatusCodes.Status429TooManyRequests,
        ErrorCodes.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    private static IResult Problem(HttpContext context, int status, string detail, string code)
    {
        if (status == StatusCodes.Status500InternalServerError)
        {
            detail = "The request failed inside Chirp; try again later.";
        }
        else if (status == StatusCodes.Status503ServiceUnavailable)
        {
            // A subgraph that cannot be reached or is overloaded: a client may retry, so say when (RFC 9110 section 10.2.3).
            context.Response.Headers.RetryAfter = "1";
        }

        return Results.Problem(statusCode: status, detail: detail, extensions: new Dictionary<string, object?> { ["code"] = code });
    }

    /// <summary>A GraphQL operation parsed once at start.</summary>
    private sealed class StoredOperation(string text)
    {
        public string Text { get; } = text;

        public GraphQLDocument Document { get; } = Parser.Parse(text);

        /// <summary>The document's one operation, selected once for every request that runs it.</summary>
        public GraphQLOperationDefinition Operation => field ??= GraphQLOperations.Select(Document, null)
            ?? throw new InvalidOperationException("A stored operation holds exactly one operation.");
    }
}
