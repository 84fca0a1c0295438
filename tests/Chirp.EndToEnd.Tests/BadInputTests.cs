using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace Chirp.EndToEnd.Tests;

/// <summary>Bad input gets the status or error code of docs/architecture.md, never a 500, and writes nothing.</summary>
[Collection(ClusterCollection.Name)]
public sealed class BadInputTests(ChirpCluster cluster)
{
    [Fact]
    public async Task InvalidTokenIsRefusedWith401BeforeAnythingRuns()
    {
        using var client = cluster.Client("not.a.token");
        using var response = await client.PostAsJsonAsync("/graphql", new { query = "{ __typename }" });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());

        using var rest = await client.PostAsJsonAsync("/tweets", new { text = "never stored" });
        Assert.Equal(HttpStatusCode.Unauthorized, rest.StatusCode);
    }

    [Fact]
    public async Task AJsonBodyThatRepeatsAKeyIsRefusedWith4xxEverywhereAndStoresNothing()
    {
        var user = await cluster.NewUserAsync("dupkey");
        using var client = cluster.Client(user.AccessToken);

        async Task<HttpStatusCode> PostAsync(string path, string json)
        {
            using var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
            using var response = await client.PostAsync(path, content);
            var body = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.BadRequest, await PostAsync("/graphql", """{"query":"{__typename}","query":"{__typename}"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, await PostAsync("/graphql", """{"query":"{__typename}","variables":{"a":1,"a":2}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, await PostAsync("/tweets", """{"text":"one","text":"two"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, await PostAsync("/auth/token", """{"grant_type":"password","grant_type":"password","username":"x","password":"y"}"""));
        using var get = await client.GetAsync("/graphql?query=%7B__typename%7D&variables=" + Uri.EscapeDataString("""{"a":1,"a":2}"""));
        Assert.Equal(HttpStatusCode.BadRequest, get.StatusCode);

        var (status, body) = await cluster.GraphQLAsync(user.AccessToken, "{ myTweets { nodes { id } } }");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(body["data"]!["myTweets"]!["nodes"]!.AsArray());
    }

    [Fact]
    public async Task WrongPasswordGetsInvalidGrant()
    {
        var user = await cluster.NewUserAsync("wrongpw");
        using var client = cluster.Client();
        using var response = await client.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["username"] = user.Handle,
            ["password"] = "not the password",
        }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("invalid_grant", body!["error"]!.GetValue<string>());
        Assert.Null(body["access_token"]);
    }

    [Fact]
    public async Task TokenEndpointRefusesUnknownGrantTypes()
    {
        using var client = cluster.Client();
        using var response = await client.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("unsupported_grant_type", (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task RetweetOfAnUnknownTweetIsNotFoundAndWritesNothing()
    {
        var user = await cluster.NewUserAsync("notfound");
        var before = await CountAsync("SELECT count(*) FROM outbox_messages");

        using var client = cluster.Client(user.AccessToken);
        using var rest = await client.PostAsync($"/tweets/{Guid.CreateVersion7()}/retweet", null);
        Assert.Equal(HttpStatusCode.NotFound, rest.StatusCode);
        Assert.Equal("application/problem+json", rest.Content.Headers.ContentType!.MediaType);

        var (_, body) = await cluster.GraphQLAsync(user.AccessToken, "mutation { retweet(input: { tweetId: \"nope\" }) { tweet { id } } }");
        Assert.Equal("NOT_FOUND", body["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());
        Assert.Equal("""["retweet"]""", body["errors"]![0]!["path"]!.ToJsonString());

        Assert.Equal(before, await CountAsync("SELECT count(*) FROM outbox_messages"));
        Assert.Equal(0, await CountAsync($"SELECT count(*) FROM tweets WHERE author_id = '{user.Id}'"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public async Task EmptyTweetTextIsBadInputAndStoresNothing(string? text)
    {
        var user = await cluster.NewUserAsync("empty");
        using var client = cluster.Client(user.AccessToken);
        using var response = await client.PostAsJsonAsync("/tweets", new { text = text ?? "" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, await CountAsync($"SELECT count(*) FROM tweets WHERE author_id = '{user.Id}'"));
    }

    [Fact]
    public async Task OverLongTweetTextIsBadInputAndStoresNothing()
    {
        var user = await cluster.NewUserAsync("longtext");
        using var client = cluster.Client(user.AccessToken);
        using var response = await client.PostAsJsonAsync("/tweets", new { text = new string('a', 281) });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("BAD_USER_INPUT", problem!["code"]!.GetValue<string>());

        var (_, body) = await cluster.GraphQLAsync(user.AccessToken, "mutation($t: String!) { createTweet(input: { text: $t }) { tweet { id } } }", new { t = new string('b', 281) });
        Assert.Equal("BAD_USER_INPUT", body["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());
        Assert.Equal(0, await CountAsync($"SELECT count(*) FROM tweets WHERE author_id = '{user.Id}'"));

        using var ok = await client.PostAsJsonAsync("/tweets", new { text = new string('c', 280) });
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
    }

    [Fact]
    public async Task MalformedShimBodyIsBadRequest()
    {
        var user = await cluster.NewUserAsync("malformed");
        using var client = cluster.Client(user.AccessToken);
        using var response = await client.PostAsync("/tweets", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("""{"text":"lone \ud800 surrogate"}""")]
    [InlineData("""{"text":"bad \udfff"}""")]
    public async Task TweetTextThatIsNotUnicodeIsBadRequest(string json)
    {
        var user = await cluster.NewUserAsync("surrogate");
        using var client = cluster.Client(user.AccessToken);
        using var response = await client.PostAsync("/tweets", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, await CountAsync($"SELECT count(*) FROM tweets WHERE author_id = '{user.Id}'"));
    }

    [Fact]
    public async Task BodiesThatAreNotUtf8OrTooLargeGet4xx()
    {
        var user = await cluster.NewUserAsync("bytes");
        using var client = cluster.Client(user.AccessToken);
        using var invalid = new ByteArrayContent([.. "{\"text\":\"bad "u8.ToArray(), 0xff, 0xfe, .. "\"}"u8.ToArray()]);
        invalid.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var notUtf8 = await client.PostAsync("/tweets", invalid);
        Assert.Equal(HttpStatusCode.BadRequest, notUtf8.StatusCode);

        using var huge = await client.PostAsJsonAsync("/tweets", new { text = new string('x', 300_000) });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);

        Assert.Equal(0, await CountAsync($"SELECT count(*) FROM tweets WHERE author_id = '{user.Id}'"));
    }

    [Theory]
    [InlineData("first=abc")]
    [InlineData("first=1&first=2")]
    [InlineData("first=0")]
    [InlineData("first=100000")]
    [InlineData("after=not-a-cursor")]
    public async Task BadPagingParametersAreBadRequest(string query)
    {
        var user = await cluster.NewUserAsync("paging");
        using var client = cluster.Client(user.AccessToken);
        using var response = await client.GetAsync("/tweets?" + query);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task GraphQLVariableThatIsNotUnicodeIsBadRequest()
    {
        using var client = cluster.Client();
        using var response = await client.PostAsync("/graphql", new StringContent(
            """{"query":"query($h: String!) { userByHandle(handle: $h) { id } }","variables":{"h":"\ud800"}}""",
            System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task DocumentsSelectingTooManyFieldsAreRefusedBeforeRunning()
    {
        var aliases = string.Join(' ', Enumerable.Range(0, 400).Select(i => $"a{i}: tweet(id: \"x\") {{ id text author {{ handle displayName }} }}"));
        var (status, body) = await cluster.GraphQLAsync(null, "{ " + aliases + " }");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.False(body.ContainsKey("data"));

        var fanOut = "query { ...A ...A } fragment A on Query { ...B ...B ...B ...B } fragment B on Query { ...C ...C ...C ...C } "
            + "fragment C on Query { ...D ...D ...D ...D } fragment D on Query { ...E ...E ...E ...E } fragment E on Query { t1: tweet(id: \"x\") { id } t2: tweet(id: \"y\") { id } }";
        (status, _) = await cluster.GraphQLAsync(null, fanOut);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("has space")]
    [InlineData("way_too_long_handle")]
    [InlineData("bad-dash")]
    public async Task BadHandleIsBadUserInput(string handle)
    {
        var (status, body) = await cluster.GraphQLAsync(null,
            "mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }",
            new { input = new { handle, displayName = "Someone", password = "correct horse battery" } });
        Assert.NotEqual(HttpStatusCode.InternalServerError, status);
        Assert.Equal("BAD_USER_INPUT", body["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());
        Assert.Equal(0, await CountUsersAsync(handle.ToLowerInvariant()));
    }

    [Fact]
    public async Task DuplicateHandleIsAConflictAndKeepsTheFirstAccount()
    {
        var handle = ChirpCluster.NewHandle("dup");
        await cluster.SignUpAsync(handle, "First");
        var (_, body) = await cluster.GraphQLAsync(null,
            "mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }",
            new { input = new { handle = handle.ToUpperInvariant(), displayName = "Second", password = "another password" } });
        Assert.Equal("CONFLICT", body["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());
        Assert.Equal(1, await CountUsersAsync(handle));
        await cluster.LogInAsync(handle);
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(cluster.TweetsConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<long> CountUsersAsync(string handle)
    {
        await using var connection = new NpgsqlConnection(cluster.UsersConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM users WHERE handle = @h", connection);
        command.Parameters.AddWithValue("h", handle);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
