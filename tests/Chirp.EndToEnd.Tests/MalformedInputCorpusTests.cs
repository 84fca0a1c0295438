using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.IdentityAssertions;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// A corpus of malformed HTTP and GraphQL inputs sent, with valid credentials so the body is read, to every route
/// that reads a body: at the gateway and at each subgraph directly. Each answer is the exact status the route
/// defines, carries a message, names no internals, and nothing is written.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class MalformedInputCorpusTests(ChirpCluster cluster)
{
    /// <summary>What is wrong with an input, which decides the status each route answers.</summary>
    public enum Fault
    {
        /// <summary>Not JSON the shared reader accepts: syntax, encoding, repeated names, lone surrogates, depth.</summary>
        Unparsable,

        /// <summary>Larger than every route's body limit (256 KiB for GraphQL, 16 KiB elsewhere).</summary>
        TooLarge,

        /// <summary>JSON, but not the object the route reads (wrong types, batches, other top-level values).</summary>
        WrongShape,

        /// <summary>A body that is not declared as JSON.</summary>
        NotJson,
    }

    /// <summary>One malformed input: its name, its bytes, its content type (null: none) and its fault.</summary>
    public sealed record Input(string Name, byte[] Body, string? ContentType, Fault Fault);

    /// <summary>A route that reads a body, and the status it answers for each fault.</summary>
    private sealed record Route(string Name, Func<HttpClient> Client, string Path, IReadOnlyDictionary<Fault, int> Statuses);

    private const string Json = "application/json";

    /// <summary>The corpus: well over 60 inputs.</summary>
    public static IReadOnlyList<Input> Corpus { get; } = BuildCorpus();

    [Fact]
    public void TheCorpusHoldsAtLeastSixtyDistinctInputs()
    {
        Assert.True(Corpus.Count >= 60, $"{Corpus.Count} inputs");
        Assert.Equal(Corpus.Count, Corpus.Select(i => Convert.ToBase64String(i.Body) + i.ContentType).Distinct().Count());
        Assert.All(Enum.GetValues<Fault>(), f => Assert.Contains(Corpus, i => i.Fault == f));
    }

    [Fact]
    public async Task EveryBodyReadingRouteAnswersEachMalformedInputWithItsStatusAMessageAndNoInternals()
    {
        var user = await cluster.NewUserAsync("corpus");
        var leaver = await cluster.NewUserAsync("corpusout");
        var codec = cluster.Gateway.Services.GetRequiredService<IdentityAssertionCodec>();

        // Assertions live 60 s, so each route's client gets a fresh one.
        string UserAssertion() => codec.Sign(user.Id, user.Handle, user.DisplayName, $"{ChirpScopes.TweetsWrite} {ChirpScopes.EmailManage}");
        string ServiceAssertion() => codec.Sign("chirp-gateway", "chirp-gateway", "Chirp gateway", ChirpScopes.CredentialsVerify);
        var before = await CountRowsAsync();

        var graphql = Statuses(400, 413, 422, 415);
        var oauth = Statuses(400, 400, 400, 400);
        var routes = new List<Route>
        {
            new("gateway /graphql", () => cluster.Client(user.AccessToken), "/graphql", graphql),
            new("gateway /tweets", () => cluster.Client(user.AccessToken), "/tweets", Statuses(400, 413, 400, 415)),
            new("gateway /auth/token", () => cluster.Client(), "/auth/token", oauth),
            new("gateway /auth/revoke", () => cluster.Client(), "/auth/revoke", oauth),
            new("users /graphql", () => Direct(cluster.Users, UserAssertion()), "/graphql", graphql),
            new("users credentials", () => Direct(cluster.Users, ServiceAssertion()), InternalRoutes.CredentialsVerify, Statuses(400, 413, 400, 415)),
            new("tweets /graphql", () => Direct(cluster.Tweets, UserAssertion()), "/graphql", graphql),
            new("email worker /graphql", () => Direct(cluster.EmailWorker, UserAssertion()), "/graphql", graphql),
        };

        var failures = new List<string>();
        foreach (var route in routes)
        {
            using var client = route.Client();
            foreach (var input in Corpus)
            {
                await CheckAsync(client, route.Name, route.Path, input, route.Statuses[input.Fault], failures);
            }
        }

        // Log-out reads a body too; only inputs that cannot be read as its parameters are sent (a readable one logs out).
        using (var logout = cluster.Client(leaver.AccessToken))
        {
            foreach (var input in Corpus.Where(i => i.Fault is Fault.Unparsable or Fault.NotJson && i.Body.Length > 0 && !IsBlank(i.Body)))
            {
                await CheckAsync(logout, "gateway /auth/logout", "/auth/logout", input, 400, failures);
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} wrong answers:\n" + string.Join("\n", failures.Take(40)));
        Assert.Equal(before, await CountRowsAsync());
        var (status, _) = await cluster.GraphQLAsync(leaver.AccessToken, "{ me { handle } }");
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task TheGraphQLGetParametersAreReadByTheSameRules()
    {
        var user = await cluster.NewUserAsync("corpusget");
        using var client = cluster.Client(user.AccessToken);
        var failures = new List<string>();
        foreach (var (value, status) in new (string, int)[]
        {
            ("""{"a":1,"a":2}""", 400),
            ("""{"a":"\ud800"}""", 400),
            ("""{"a":""", 400),
            ("""{'a':1}""", 400),
            (new string('[', 200) + new string(']', 200), 400),
            ("[7]", 422),
            ("\"text\"", 422),
            ("7", 422),
        })
        {
            foreach (var parameter in new[] { "variables", "extensions" })
            {
                using var response = await client.GetAsync($"/graphql?query=%7B__typename%7D&{parameter}={Uri.EscapeDataString(value)}");
                var body = await response.Content.ReadAsStringAsync();
                if ((int)response.StatusCode != status || !HasMessage(body) || Leak(body) is not null)
                {
                    failures.Add($"GET {parameter}={value}: {(int)response.StatusCode} (want {status}) {body}");
                }
            }
        }

        Assert.Empty(failures);
    }

    [Fact]
    public async Task RevocationAnswersReadableRequestsForUnknownTokens200AsRfc7009Asks()
    {
        using var client = cluster.Client();
        foreach (var token in new[] { new string('a', 8000), "x.y.z", "\u00e9t\u00e9", "{\"token\":1}", "a..b" })
        {
            using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token });
            using var response = await client.PostAsync("/auth/revoke", form);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    private static async Task CheckAsync(HttpClient client, string route, string path, Input input, int expected, List<string> failures)
    {
        using var content = new ByteArrayContent(input.Body);
        if (input.ContentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(input.ContentType);
        }

        using var response = await client.PostAsync(path, content);
        var body = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode != expected)
        {
            failures.Add($"{route} <- {input.Name}: {(int)response.StatusCode}, want {expected}: {Cut(body)}");
        }
        else if (!HasMessage(body))
        {
            failures.Add($"{route} <- {input.Name}: no message in {Cut(body)}");
        }
        else if (Leak(body) is { } leak)
        {
            failures.Add($"{route} <- {input.Name}: the answer names '{leak}': {Cut(body)}");
        }
    }

    private static HttpClient Direct(Chirp.Testing.ServiceHost service, string assertion)
    {
        var client = service.CreateClient();
        client.DefaultRequestHeaders.Add(ChirpHeaders.Identity, assertion);
        return client;
    }

    private static Dictionary<Fault, int> Statuses(int unparsable, int tooLarge, int wrongShape, int notJson) => new()
    {
        [Fault.Unparsable] = unparsable,
        [Fault.TooLarge] = tooLarge,
        [Fault.WrongShape] = wrongShape,
        [Fault.NotJson] = notJson,
    };

    /// <summary>A problem's <c>detail</c>, a GraphQL error's <c>message</c> or an OAuth <c>error_description</c>.</summary>
    private static bool HasMessage(string body)
    {
        JsonNode? json;
        try
        {
            json = JsonNode.Parse(body);
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }

        var message = json?["detail"] ?? json?["error_description"] ?? json?["errors"]?[0]?["message"];
        return message is JsonValue v && v.TryGetValue<string>(out var text) && text.Length > 0;
    }

    /// <summary>The first sign of internals in an answer: exception names, stack frames, source paths, hosts.</summary>
    private static string? Leak(string body) =>
        new[] { "Exception", "   at ", ".cs:", "/work/", "/root/", "/home/", "System.", "Microsoft.", "Npgsql", "127.0.0.1", "localhost", "stacktrace" }
            .FirstOrDefault(s => body.Contains(s, StringComparison.OrdinalIgnoreCase));

    private static string Cut(string body) => body.Length > 300 ? body[..300] + "..." : body;

    private static bool IsBlank(byte[] body) => body.All(b => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t');

    private async Task<(long Users, long Tweets)> CountRowsAsync()
    {
        async Task<long> CountAsync(string connectionString, string table)
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection);
            return (long)(await command.ExecuteScalarAsync())!;
        }

        return (await CountAsync(cluster.UsersConnectionString, "users"), await CountAsync(cluster.TweetsConnectionString, "tweets"));
    }

    private static List<Input> BuildCorpus()
    {
        var inputs = new List<Input>();
        void Text(string name, string body, Fault fault, string? type = Json) => inputs.Add(new(name, Encoding.UTF8.GetBytes(body), type, fault));
        void Bytes(string name, byte[] body, Fault fault, string? type = Json) => inputs.Add(new(name, body, type, fault));
        byte[] Join(string before, byte[] middle, string after) => [.. Encoding.UTF8.GetBytes(before), .. middle, .. Encoding.UTF8.GetBytes(after)];
        string Nest(int depth, string open, string close, string inner) =>
            string.Concat(Enumerable.Repeat(open, depth)) + inner + string.Concat(Enumerable.Repeat(close, depth));

        // Repeated property names, at every depth.
        Text("duplicate query", """{"query":"{__typename}","query":"{__typename}"}""", Fault.Unparsable);
        Text("duplicate text", """{"text":"a","text":"b","query":"{__typename}"}""", Fault.Unparsable);
        Text("duplicate in variables", """{"query":"{__typename}","variables":{"a":1,"a":2}}""", Fault.Unparsable);
        Text("duplicate at depth 4", """{"query":"{__typename}","variables":{"a":{"b":{"c":{"d":1,"d":1}}}}}""", Fault.Unparsable);
        Text("duplicate in extensions", """{"query":"{__typename}","extensions":{"x":true,"x":false}}""", Fault.Unparsable);
        Text("duplicate inside an array", """{"query":"{__typename}","variables":{"l":[{"k":1},{"k":1,"k":2}]}}""", Fault.Unparsable);
        Text("duplicate through an escape", """{"query":"{__typename}","\u0071uery":"{__typename}"}""", Fault.Unparsable);
        Text("duplicate credentials", """{"handle":"a","handle":"b","password":"p"}""", Fault.Unparsable);
        Text("duplicate grant_type", """{"grant_type":"password","grant_type":"refresh_token","token":"t"}""", Fault.Unparsable);
        Text("duplicate operationName", """{"query":"{__typename}","operationName":null,"operationName":null}""", Fault.Unparsable);

        // Lone surrogates (valid JSON escapes, not Unicode text).
        Text("lone high surrogate", """{"query":"{__typename}","text":"\ud800","handle":"\ud800","password":"p","token":"\ud800"}""", Fault.Unparsable);
        Text("lone low surrogate", """{"query":"{__typename}","text":"\udc00","handle":"\udc00","password":"p","token":"\udc00"}""", Fault.Unparsable);
        Text("reversed surrogate pair", """{"query":"\udc00\ud800","text":"\udc00\ud800"}""", Fault.Unparsable);
        Text("lone surrogate in a name", """{"query":"{__typename}","\ud83d":1}""", Fault.Unparsable);
        Text("lone surrogate deep in variables", """{"query":"{__typename}","variables":{"a":[{"b":"x\udbff"}]}}""", Fault.Unparsable);
        Text("high surrogate at the end", """{"query":"{__typename}\ud83d"}""", Fault.Unparsable);

        // Invalid UTF-8.
        Bytes("byte 0xFF", Join("""{"query":"{__typename}","text":"a""", [0xFF], "\"}"), Fault.Unparsable);
        Bytes("overlong slash", Join("""{"query":"{__typename}","text":"a""", [0xC0, 0xAF], "\"}"), Fault.Unparsable);
        Bytes("truncated sequence", Join("""{"query":"{__typename}","text":"a""", [0xE2, 0x82], "\"}"), Fault.Unparsable);
        Bytes("encoded surrogate", Join("""{"query":"{__typename}","text":"a""", [0xED, 0xA0, 0x80], "\"}"), Fault.Unparsable);
        Bytes("continuation byte alone", Join("""{"query":"{__typename}","text":"a""", [0x80], "\"}"), Fault.Unparsable);
        Bytes("code point above U+10FFFF", Join("""{"query":"{__typename}","text":"a""", [0xF4, 0x90, 0x80, 0x80], "\"}"), Fault.Unparsable);
        Bytes("UTF-16 body", Encoding.Unicode.GetBytes("""{"query":"{__typename}"}"""), Fault.Unparsable);
        Bytes("Latin-1 name", Join("{\"query\":\"{__typename}\",\"", [0xE9], "\":1}"), Fault.Unparsable);

        // Depth.
        Text("arrays 1000 deep", """{"query":"{__typename}","variables":{"a":""" + Nest(1000, "[", "]", "1") + "}}", Fault.Unparsable);
        Text("objects 100 deep", """{"query":"{__typename}","variables":""" + Nest(100, "{\"a\":", "}", "1") + "}", Fault.Unparsable);
        Text("arrays 65 deep at the top", Nest(65, "[", "]", ""), Fault.Unparsable);

        // Syntax.
        Text("empty body", "", Fault.Unparsable);
        Text("whitespace only", "  \n\t ", Fault.Unparsable);
        Text("truncated object", """{"query":"{__typename}" """, Fault.Unparsable);
        Text("truncated string", """{"query":"{__typen""", Fault.Unparsable);
        Text("trailing comma", """{"query":"{__typename}",}""", Fault.Unparsable);
        Text("comment", "/* c */ {\"query\":\"{__typename}\"}", Fault.Unparsable);
        Text("single quotes", "{'query':'{__typename}'}", Fault.Unparsable);
        Text("unquoted name", "{query:\"{__typename}\"}", Fault.Unparsable);
        Text("NaN", """{"query":"{__typename}","variables":{"n":NaN}}""", Fault.Unparsable);
        Text("Infinity", """{"query":"{__typename}","variables":{"n":-Infinity}}""", Fault.Unparsable);
        Text("leading zero", """{"query":"{__typename}","variables":{"n":012}}""", Fault.Unparsable);
        Text("hex number", """{"query":"{__typename}","variables":{"n":0x1F}}""", Fault.Unparsable);
        Text("raw control character", "{\"query\":\"{__typename}\",\"text\":\"a\u0001b\"}", Fault.Unparsable);
        Text("raw newline in a string", "{\"query\":\"{__type\nname}\"}", Fault.Unparsable);
        Text("bad escape", """{"query":"{__typename}","text":"\x41"}""", Fault.Unparsable);
        Text("short unicode escape", """{"query":"{__typename}","text":"\u12"}""", Fault.Unparsable);
        Text("two documents", """{"query":"{__typename}"}{"query":"{__typename}"}""", Fault.Unparsable);
        Text("trailing garbage", """{"query":"{__typename}"} x""", Fault.Unparsable);
        Text("NUL byte", "{\"query\":\"{__typename}\"}\0", Fault.Unparsable);
        Text("bare word", "query", Fault.Unparsable);
        Text("missing colon", """{"query" "{__typename}"}""", Fault.Unparsable);
        Text("missing value", """{"query":}""", Fault.Unparsable);
        Text("unclosed array", """{"query":"{__typename}","variables":{"a":[1,2}}""", Fault.Unparsable);

        // Too large for every route.
        Text("huge string", "{\"query\":\"{__typename}\",\"text\":\"" + new string('x', 300 * 1024) + "\"}", Fault.TooLarge);
        Text("huge number", "{\"query\":\"{__typename}\",\"variables\":{\"n\":" + new string('9', 300 * 1024) + "}}", Fault.TooLarge);
        Text("huge array", "{\"query\":\"{__typename}\",\"variables\":{\"l\":[" + string.Join(',', Enumerable.Repeat("1", 150 * 1024)) + "]}}", Fault.TooLarge);

        // Well-formed JSON of the wrong shape.
        Text("query is a number", """{"query":1e400}""", Fault.WrongShape);
        Text("query is null", """{"query":null}""", Fault.WrongShape);
        Text("query is an array", """{"query":["{__typename}"]}""", Fault.WrongShape);
        Text("query is an object", """{"query":{"text":"{__typename}"}}""", Fault.WrongShape);
        Text("query is true", """{"query":true}""", Fault.WrongShape);
        Text("query is empty", """{"query":""}""", Fault.WrongShape);
        Text("no query", """{"variables":{}}""", Fault.WrongShape);
        Text("empty object", "{}", Fault.WrongShape);
        Text("variables is an array", """{"query":"{__typename}","variables":[7]}""", Fault.WrongShape);
        Text("variables is a string", """{"query":"{__typename}","variables":"{}"}""", Fault.WrongShape);
        Text("variables is a number", """{"query":"{__typename}","variables":123456789012345678901234567890}""", Fault.WrongShape);
        Text("variables is true", """{"query":"{__typename}","variables":true}""", Fault.WrongShape);
        Text("operationName is a number", """{"query":"{__typename}","operationName":99999999999999999999}""", Fault.WrongShape);
        Text("operationName is an object", """{"query":"{__typename}","operationName":{}}""", Fault.WrongShape);
        Text("operationName is an array", """{"query":"{__typename}","operationName":["a"]}""", Fault.WrongShape);
        Text("operationName is false", """{"query":"{__typename}","operationName":false}""", Fault.WrongShape);
        Text("extensions is an array", """{"query":"{__typename}","extensions":[]}""", Fault.WrongShape);
        Text("extensions is a string", """{"query":"{__typename}","extensions":"persisted"}""", Fault.WrongShape);
        Text("extensions is a number", """{"query":"{__typename}","extensions":-0.0}""", Fault.WrongShape);
        Text("batch of one", """[{"query":"{__typename}"}]""", Fault.WrongShape);
        Text("batch of two", """[{"query":"{__typename}"},{"query":"{__typename}"}]""", Fault.WrongShape);
        Text("empty batch", "[]", Fault.WrongShape);
        Text("top-level null", "null", Fault.WrongShape);
        Text("top-level string", "\"{__typename}\"", Fault.WrongShape);
        Text("top-level number", "1e999999", Fault.WrongShape);
        Text("top-level true", "true", Fault.WrongShape);

        // Bodies not declared as JSON.
        Text("text/plain", """{"query":"{__typename}","text":"hi"}""", Fault.NotJson, "text/plain");
        Text("no content type", """{"query":"{__typename}","text":"hi"}""", Fault.NotJson, null);
        Text("XML", "<query>{__typename}</query>", Fault.NotJson, "application/xml");
        Text("graphql document", "{__typename}", Fault.NotJson, "application/graphql");
        return inputs;
    }
}
