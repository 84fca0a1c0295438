using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.GraphQL.AspNetCore;
using Chirp.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// Case C07: a corpus of malformed and forged access tokens and Authorization headers. Each is refused the same way
/// on <c>POST /graphql</c> and <c>GET /tweets</c> (401, <c>WWW-Authenticate: Bearer error="invalid_token"</c>) and on a
/// WebSocket <c>connection_init</c> (close 4403), never with a 500, except where the protocol says otherwise: a token
/// over Kestrel's header limit is 431, two Authorization headers are 400 <c>invalid_request</c> (RFC 6750 section
/// 3.1), and a <c>connection_init</c> over the WebSocket message limit closes 1009. Forged tokens are signed with the
/// cluster's real key (<see cref="ChirpCluster.KeyDirectory"/>) where that makes the forgery sharper: what is refused
/// is then the forged part, not the signature.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class TokenCorpusTests(ChirpCluster cluster) : IDisposable
{
    private const string Kid = "test-key";

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static readonly ConditionalWeakTable<ChirpCluster, Task<TestUser>> Users = [];

    /// <summary>How the gateway must answer one corpus entry.</summary>
    public enum Expect
    {
        /// <summary>401 with <c>Bearer error="invalid_token"</c>; WebSocket close 4403.</summary>
        InvalidToken,

        /// <summary>400 with <c>Bearer error="invalid_request"</c>; WebSocket close 4403.</summary>
        InvalidRequest,

        /// <summary>431 from Kestrel; WebSocket close 4403 (under the message limit) or 1009 (over it).</summary>
        HeaderTooLarge,
    }

    /// <summary>One corpus entry: the Authorization header field values to send and the expected answer.</summary>
    private sealed record Forged(IReadOnlyList<string> Authorization, Expect Expect);

    public static TheoryData<string> Corpus =>
    [
        // alg
        "alg-none", "alg-None", "alg-NONE", "alg-nOnE", "alg-none-keeping-the-real-signature",
        "hs256-keyed-with-public-key-pem", "hs256-keyed-with-public-key-der", "hs256-keyed-with-public-point",
        "es384-header-with-es256-signature", "rs256-header",
        // keys
        "other-ec-key-with-real-kid", "embedded-jwk-of-other-key", "embedded-jwk-of-other-key-with-real-kid",
        "embedded-jwk-of-real-key", "jku-to-attacker", "jku-signed-by-real-key", "x5u-signed-by-real-key",
        "x5c-signed-by-real-key", "unknown-kid", "path-kid", "absolute-path-kid", "kid-with-pem-extension",
        "kid-missing", "kid-number",
        // header parameters
        "crit-x-unknown", "crit-empty", "duplicate-header-alg", "duplicate-header-kid",
        // claims
        "expired-90s", "nbf-10min", "iat-1h-in-the-future", "iat-2min-in-the-future", "wrong-iss", "wrong-aud",
        "wrong-aud-array", "missing-sub", "missing-exp", "missing-iat", "missing-iss", "missing-aud", "missing-jti",
        "missing-context", "context-not-an-object", "exp-as-string", "duplicate-claim-sub", "duplicate-claim-exp",
        "duplicate-claim-in-context",
        // signature and shape
        "payload-changed-after-signing", "signature-cut-short", "empty-signature", "two-segments",
        "five-segments", "non-base64-header", "non-base64-payload", "header-not-json", "payload-an-array",
        "not-a-token", "token-20kb", "token-over-the-header-limit", "token-100kb",
        // the header field itself
        "empty-bearer", "bearer-without-token", "lower-case-bearer-bad-token", "upper-case-bearer-bad-token",
        "refresh-token-as-bearer", "two-authorization-headers",
    ];

    [Fact]
    public void TheCorpusHoldsAtLeastFortyEntries() => Assert.True(Corpus.Count >= 40, $"{Corpus.Count} entries");

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task RefusedOnGraphQLOverHttp(string entry)
    {
        var forged = await ForgeAsync(entry);
        var (status, headers, body) = await SendAsync(HttpMethod.Post, "/graphql", forged.Authorization, """{"query":"{ me { handle } }"}""");
        AssertRefused(forged, status, headers, body);
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task RefusedOnTheRestShim(string entry)
    {
        var forged = await ForgeAsync(entry);
        var (status, headers, body) = await SendAsync(HttpMethod.Get, "/tweets", forged.Authorization, null);
        AssertRefused(forged, status, headers, body);
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task RefusedOnWebSocketConnectionInit(string entry)
    {
        var forged = await ForgeAsync(entry);
        var payload = new JsonObject
        {
            // Two header fields have no single-value form in a JSON payload: both credentials go in as an array.
            ["Authorization"] = forged.Authorization.Count == 1 ? forged.Authorization[0] : new JsonArray([.. forged.Authorization.Select(a => JsonValue.Create(a))]),
        };
        var message = new JsonObject { ["type"] = "connection_init", ["payload"] = payload };
        var limit = cluster.Gateway.Services.GetRequiredService<IOptions<GraphQLLiveOptions>>().Value.MaxMessageBytes;
        var expected = Encoding.UTF8.GetByteCount(message.ToJsonString()) > limit ? 1009 : 4403;

        await using var socket = await TransportWsSocket.ConnectAsync(cluster.Gateway.BaseAddress);
        await socket.SendAsync(message);

        Assert.Equal(expected, await socket.WaitForCloseAsync(Wait));
    }

    [Fact]
    public async Task TwoAuthorizationEntriesInConnectionInitClose4403()
    {
        var user = await UserAsync();
        await using var socket = await TransportWsSocket.ConnectAsync(cluster.Gateway.BaseAddress);

        // Property names differ only in case, so the JSON is well-formed; which one counts would be a guess.
        var bearer = "Bearer " + user.AccessToken;
        await socket.SendAsync(new JsonObject
        {
            ["type"] = "connection_init",
            ["payload"] = new JsonObject { ["Authorization"] = bearer, ["authorization"] = bearer },
        });

        Assert.Equal(4403, await socket.WaitForCloseAsync(Wait));
    }

    [Theory]
    [InlineData("issued")]
    [InlineData("exp-60s-ahead")]
    public async Task ControlTokensWorkEverywhere(string entry)
    {
        var user = await UserAsync();
        var token = entry == "issued" ? user.AccessToken : Sign(Header(), Claims(user, c => c["exp"] = Now() + 60));

        var (status, _, body) = await SendAsync(HttpMethod.Post, "/graphql", ["Bearer " + token], """{"query":"{ me { handle } }"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(user.Handle, JsonNode.Parse(body)!["data"]!["me"]!["handle"]!.GetValue<string>());

        var (restStatus, _, _) = await SendAsync(HttpMethod.Get, "/tweets", ["Bearer " + token], null);
        Assert.Equal(HttpStatusCode.OK, restStatus);

        await using var socket = await TransportWsSocket.OpenAsync(cluster.Gateway.BaseAddress, token);
        Assert.Equal("graphql-transport-ws", socket.SubProtocol);
    }

    private static void AssertRefused(Forged forged, HttpStatusCode status, Dictionary<string, string> headers, string body)
    {
        switch (forged.Expect)
        {
            case Expect.InvalidToken:
                Assert.Equal(HttpStatusCode.Unauthorized, status);
                Assert.Equal("Bearer error=\"invalid_token\"", headers.GetValueOrDefault("WWW-Authenticate"));
                break;
            case Expect.InvalidRequest:
                Assert.Equal(HttpStatusCode.BadRequest, status);
                Assert.Equal("Bearer error=\"invalid_request\"", headers.GetValueOrDefault("WWW-Authenticate"));
                break;
            case Expect.HeaderTooLarge:
                Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, status);
                break;
        }

        // Nothing of the credential comes back, and no stack trace.
        Assert.DoesNotContain("at Chirp", body, StringComparison.Ordinal);
        foreach (var value in forged.Authorization.Where(a => a.Length > 20))
        {
            Assert.DoesNotContain(value["Bearer ".Length..], body, StringComparison.Ordinal);
        }
    }

    private Task<(HttpStatusCode Status, Dictionary<string, string> Headers, string Body)> SendAsync(
        HttpMethod method, string path, IReadOnlyList<string> authorization, string? jsonBody)
    {
        var headers = authorization.Select(a => ("Authorization", a)).ToList();
        if (jsonBody is not null)
        {
            headers.Add(("Content-Type", "application/json"));
        }

        return RawHttp.SendAsync(cluster.Gateway.BaseAddress, method, path, headers, jsonBody is null ? null : Encoding.UTF8.GetBytes(jsonBody));
    }

    private Task<TestUser> UserAsync() => Users.GetValue(cluster, c => c.NewUserAsync("corpus"));

    private async Task<Forged> ForgeAsync(string entry)
    {
        var user = await UserAsync();
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        static Forged Token(string token) => new(["Bearer " + token], Expect.InvalidToken);
        var claims = Claims(user);
        var header = Header();
        return entry switch
        {
            "alg-none" => Token(Unsigned("none", claims)),
            "alg-None" => Token(Unsigned("None", claims)),
            "alg-NONE" => Token(Unsigned("NONE", claims)),
            "alg-nOnE" => Token(Unsigned("nOnE", claims)),
            "alg-none-keeping-the-real-signature" => Token(Unsigned("none", claims) + Sign(header, claims).Split('.')[2]),
            "hs256-keyed-with-public-key-pem" => Token(Hs256(Encoding.ASCII.GetBytes(RealKey().ExportSubjectPublicKeyInfoPem()), claims)),
            "hs256-keyed-with-public-key-der" => Token(Hs256(RealKey().ExportSubjectPublicKeyInfo(), claims)),
            "hs256-keyed-with-public-point" => Token(Hs256(PublicPoint(RealKey()), claims)),
            "es384-header-with-es256-signature" => Token(Sign(Header(h => h["alg"] = "ES384"), claims)),
            "rs256-header" => Token(Sign(Header(h => h["alg"] = "RS256"), claims)),
            "other-ec-key-with-real-kid" => Token(Sign(header, claims, other)),
            "embedded-jwk-of-other-key" => Token(Sign(Header(h => { h.Remove("kid"); h["jwk"] = Jwk(other); }), claims, other)),
            "embedded-jwk-of-other-key-with-real-kid" => Token(Sign(Header(h => h["jwk"] = Jwk(other)), claims, other)),
            "embedded-jwk-of-real-key" => Token(Sign(Header(h => h["jwk"] = Jwk(RealKey())), claims)),
            "jku-to-attacker" => Token(Sign(Header(h => { h["kid"] = "attacker"; h["jku"] = "http://127.0.0.1:9/jwks.json"; }), claims, other)),
            "jku-signed-by-real-key" => Token(Sign(Header(h => h["jku"] = new Uri(cluster.Gateway.BaseAddress, "/.well-known/jwks.json").ToString()), claims)),
            "x5u-signed-by-real-key" => Token(Sign(Header(h => h["x5u"] = "http://127.0.0.1:9/cert.pem"), claims)),
            "x5c-signed-by-real-key" => Token(Sign(Header(h => h["x5c"] = new[] { Convert.ToBase64String(RealKey().ExportSubjectPublicKeyInfo()) }), claims)),
            "unknown-kid" => Token(Sign(Header(h => h["kid"] = "no-such-key"), claims)),
            "path-kid" => Token(Sign(Header(h => h["kid"] = "../../etc/passwd"), claims)),
            "absolute-path-kid" => Token(Sign(Header(h => h["kid"] = Path.Combine(cluster.KeyDirectory, Kid)), claims)),
            "kid-with-pem-extension" => Token(Sign(Header(h => h["kid"] = Kid + ".pem"), claims)),
            "kid-missing" => Token(Sign(Header(h => h.Remove("kid")), claims)),
            "kid-number" => Token(Sign(Header(h => h["kid"] = 7), claims)),
            "crit-x-unknown" => Token(Sign(Header(h => { h["crit"] = new[] { "x-unknown" }; h["x-unknown"] = true; }), claims)),
            "crit-empty" => Token(Sign(Header(h => h["crit"] = Array.Empty<string>()), claims)),
            "duplicate-header-alg" => Token(SignRaw("""{"alg":"none","typ":"JWT","kid":"test-key","alg":"ES256"}""", Json(claims))),
            "duplicate-header-kid" => Token(SignRaw("""{"alg":"ES256","typ":"JWT","kid":"no-such-key","kid":"test-key"}""", Json(claims))),
            "expired-90s" => Token(Sign(header, Claims(user, c => { c["exp"] = Now() - 90; c["iat"] = c["nbf"] = Now() - 600; }))),
            "nbf-10min" => Token(Sign(header, Claims(user, c => c["nbf"] = Now() + 600))),
            "iat-1h-in-the-future" => Token(Sign(header, Claims(user, c => { c["iat"] = Now() + 3600; c["exp"] = Now() + 3900; }))),
            "iat-2min-in-the-future" => Token(Sign(header, Claims(user, c => c["iat"] = Now() + 120))),
            "wrong-iss" => Token(Sign(header, Claims(user, c => c["iss"] = "https://evil.example"))),
            "wrong-aud" => Token(Sign(header, Claims(user, c => c["aud"] = "someone-else"))),
            "wrong-aud-array" => Token(Sign(header, Claims(user, c => c["aud"] = new[] { "someone-else", "another" }))),
            "missing-sub" => Token(Sign(header, Claims(user, c => c.Remove("sub")))),
            "missing-exp" => Token(Sign(header, Claims(user, c => c.Remove("exp")))),
            "missing-iat" => Token(Sign(header, Claims(user, c => c.Remove("iat")))),
            "missing-iss" => Token(Sign(header, Claims(user, c => c.Remove("iss")))),
            "missing-aud" => Token(Sign(header, Claims(user, c => c.Remove("aud")))),
            "missing-jti" => Token(Sign(header, Claims(user, c => c.Remove("jti")))),
            "missing-context" => Token(Sign(header, Claims(user, c => c.Remove("context")))),
            "context-not-an-object" => Token(Sign(header, Claims(user, c => c["context"] = user.Handle))),
            "exp-as-string" => Token(Sign(header, Claims(user, c => c["exp"] = (Now() + 300).ToString(System.Globalization.CultureInfo.InvariantCulture)))),
            "duplicate-claim-sub" => Token(SignRaw(Json(Header()), Json(claims).Replace("{", "{\"sub\":\"" + Guid.CreateVersion7() + "\",", StringComparison.Ordinal))),
            "duplicate-claim-exp" => Token(SignRaw(Json(Header()), Json(claims).Replace("{", "{\"exp\":" + (Now() + 86_400) + ",", StringComparison.Ordinal))),
            "duplicate-claim-in-context" => Token(SignRaw(Json(Header()), Json(claims).Replace("\"handle\":", "\"handle\":\"admin\",\"handle\":", StringComparison.Ordinal))),
            "payload-changed-after-signing" => Token(WithPart(Sign(header, claims), 1, B64(Json(Claims(user, c => c["scope"] = "tweets:write email:manage admin"))))),
            "signature-cut-short" => Token(Sign(header, claims)[..^10]),
            "empty-signature" => Token(WithPart(Sign(header, claims), 2, "")),
            "two-segments" => Token(B64(Json(header)) + "." + B64(Json(claims))),
            "five-segments" => Token(Sign(header, claims) + ".e30.e30"),
            "non-base64-header" => Token(WithPart(Sign(header, claims), 0, "!!!not*base64!!!")),
            "non-base64-payload" => Token(WithPart(Sign(header, claims), 1, "%%%%")),
            "header-not-json" => Token(SignRaw("alg=ES256", Json(claims))),
            "payload-an-array" => Token(SignRaw(Json(header), "[" + Json(claims) + "]")),
            "not-a-token" => Token("not.a.token"),
            // Under Kestrel's header limit, over the validator's 8 KB: refused without being parsed.
            "token-20kb" => Token(Sign(header, Claims(user, c => c["pad"] = new string('x', 15 * 1024)))),
            // About 54 KB: over Kestrel's 32 KB of request headers, under the 64 KB WebSocket message limit.
            "token-over-the-header-limit" => new(["Bearer " + Sign(header, Claims(user, c => c["pad"] = new string('x', 40 * 1024)))], Expect.HeaderTooLarge),
            "token-100kb" => new(["Bearer " + Sign(header, Claims(user, c => c["pad"] = new string('x', 75 * 1024)))], Expect.HeaderTooLarge),
            "empty-bearer" => new(["Bearer  "], Expect.InvalidToken),
            "bearer-without-token" => new(["Bearer"], Expect.InvalidToken),
            "lower-case-bearer-bad-token" => new(["bearer " + Sign(header, claims, other)], Expect.InvalidToken),
            "upper-case-bearer-bad-token" => new(["BEARER " + Unsigned("none", claims)], Expect.InvalidToken),
            "refresh-token-as-bearer" => Token(await RefreshTokenAsync(user)),
            "two-authorization-headers" => new(["Bearer " + user.AccessToken, "Bearer " + Sign(header, claims, other)], Expect.InvalidRequest),
            _ => throw new ArgumentOutOfRangeException(nameof(entry), entry, "Not in the corpus."),
        };
    }

    private async Task<string> RefreshTokenAsync(TestUser user)
    {
        using var client = cluster.Client();
        using var response = await client.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["username"] = user.Handle,
            ["password"] = "correct horse battery",
        }));
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["refresh_token"]!.GetValue<string>();
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static Dictionary<string, object> Header(Action<Dictionary<string, object>>? change = null)
    {
        var header = new Dictionary<string, object> { ["alg"] = "ES256", ["typ"] = "JWT", ["kid"] = Kid };
        change?.Invoke(header);
        return header;
    }

    /// <summary>Claims like those of a real access token for <paramref name="user"/>, valid for 5 minutes, then changed.</summary>
    private static Dictionary<string, object> Claims(TestUser user, Action<Dictionary<string, object>>? change = null)
    {
        var now = Now();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = "https://chirp.local",
            ["aud"] = "chirp-api",
            ["sub"] = user.Id,
            ["jti"] = Guid.NewGuid().ToString(),
            ["scope"] = "tweets:write email:manage",
            ["sid"] = Guid.NewGuid().ToString("N"),
            ["context"] = new Dictionary<string, object> { ["userId"] = user.Id, ["handle"] = user.Handle, ["displayName"] = user.DisplayName },
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + 300,
        };
        change?.Invoke(claims);
        return claims;
    }

    private static string Json(object value) => JsonSerializer.Serialize(value);

    private static string B64(string text) => Base64UrlEncoder.Encode(text);

    private string Sign(Dictionary<string, object> header, Dictionary<string, object> claims, ECDsa? key = null) =>
        SignRaw(Json(header), Json(claims), key);

    /// <summary>A compact JWS over the given header and payload text, ES256-signed by <paramref name="key"/> (default: the gateway's).</summary>
    private string SignRaw(string header, string payload, ECDsa? key = null)
    {
        var input = B64(header) + "." + B64(payload);
        var signature = (key ?? RealKey()).SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256);
        return input + "." + Base64UrlEncoder.Encode(signature);
    }

    private static string Unsigned(string alg, Dictionary<string, object> claims) =>
        B64(Json(new Dictionary<string, object> { ["alg"] = alg, ["typ"] = "JWT" })) + "." + B64(Json(claims)) + ".";

    private static string Hs256(byte[] secret, Dictionary<string, object> claims)
    {
        var input = B64(Json(Header(h => h["alg"] = "HS256"))) + "." + B64(Json(claims));
        return input + "." + Base64UrlEncoder.Encode(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(input)));
    }

    private static string WithPart(string token, int index, string part)
    {
        var parts = token.Split('.');
        parts[index] = part;
        return string.Join('.', parts);
    }

    private static byte[] PublicPoint(ECDsa key)
    {
        var q = key.ExportParameters(false).Q;
        return [0x04, .. q.X!, .. q.Y!];
    }

    private static Dictionary<string, string> Jwk(ECDsa key)
    {
        var q = key.ExportParameters(false).Q;
        return new() { ["kty"] = "EC", ["crv"] = "P-256", ["x"] = Base64UrlEncoder.Encode(q.X), ["y"] = Base64UrlEncoder.Encode(q.Y) };
    }

    private ECDsa? _realKey;

    public void Dispose() => _realKey?.Dispose();

    /// <summary>The gateway's own signing key, read from the cluster's key folder.</summary>
    private ECDsa RealKey()
    {
        if (_realKey is null)
        {
            _realKey = ECDsa.Create();
            _realKey.ImportFromPem(File.ReadAllText(Path.Combine(cluster.KeyDirectory, Kid + ".pem")));
        }

        return _realKey;
    }
}
