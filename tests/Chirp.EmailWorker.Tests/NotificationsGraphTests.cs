using System.Text.Json.Nodes;
using Chirp.Contracts;
using Microsoft.EntityFrameworkCore;

namespace Chirp.EmailWorker.Tests;

/// <summary>The <c>notifications</c> subgraph over HTTP with signed identity assertions (docs/architecture.md section 3, case C10).</summary>
public sealed class NotificationsGraphTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private const string EntitiesQuery = """
        query ($representations: [_Any!]!) {
          _entities(representations: $representations) {
            ... on User { id emailSettings { address verified notifyOnRetweet } }
          }
        }
        """;

    private const string UpdateMutation = """
        mutation ($input: UpdateEmailSettingsInput!) {
          updateEmailSettings(input: $input) { emailSettings { address verified notifyOnRetweet } }
        }
        """;

    private static JsonObject Representations(params Guid[] ids) =>
        new() { ["representations"] = new JsonArray([.. ids.Select(id => (JsonNode)new JsonObject { ["__typename"] = "User", ["id"] = id.ToString() })]) };

    private static JsonObject Input(JsonObject input) => new() { ["input"] = input };

    private static string? Code(JsonNode? error) => error?["extensions"]?["code"]?.GetValue<string>();

    [Fact]
    public async Task OwnEmailSettingsBeforeAnyUpdateAreTheDefaults()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();

        var (status, body) = await h.GraphQLAsync(EntitiesQuery, Representations(alice), h.IdentityFor(alice));

        Assert.Equal(200, status);
        Assert.Null(body["errors"]);
        var settings = body["data"]!["_entities"]![0]!["emailSettings"]!;
        Assert.Equal("""{"address":null,"verified":false,"notifyOnRetweet":false}""", settings.ToJsonString());
    }

    [Fact]
    public async Task EmailSettingsOfAnotherUserAreNullWithForbiddenAtTheirPath()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();
        var carol = Guid.CreateVersion7();
        await h.SetSettingsAsync(alice, "alice@example.test");

        var (status, body) = await h.GraphQLAsync(EntitiesQuery, Representations(carol, alice), h.IdentityFor(carol));

        Assert.Equal(294, status);
        var entities = body["data"]!["_entities"]!.AsArray();
        Assert.Equal("""{"address":null,"verified":false,"notifyOnRetweet":false}""", entities[0]!["emailSettings"]!.ToJsonString());
        Assert.Equal(alice.ToString(), entities[1]!["id"]!.GetValue<string>());
        Assert.Null(entities[1]!["emailSettings"]);
        var error = Assert.Single(body["errors"]!.AsArray());
        Assert.Equal(ErrorCodes.Forbidden, Code(error));
        Assert.Equal("""["_entities",1,"emailSettings"]""", error!["path"]!.ToJsonString());
        Assert.DoesNotContain("alice@example.test", body.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnonymousCallerGetsUnauthenticatedForEmailSettings()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();
        await h.SetSettingsAsync(alice, "alice@example.test");

        var (_, body) = await h.GraphQLAsync(EntitiesQuery, Representations(alice));

        Assert.Null(body["data"]!["_entities"]![0]!["emailSettings"]);
        var error = Assert.Single(body["errors"]!.AsArray());
        Assert.Equal(ErrorCodes.Unauthenticated, Code(error));
        Assert.Equal("""["_entities",0,"emailSettings"]""", error!["path"]!.ToJsonString());
    }

    [Fact]
    public async Task AssertionThatDoesNotVerifyGets401()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();
        var forged = h.IdentityFor(alice)[..^4] + "AAAA";

        var (status, _) = await h.GraphQLAsync(EntitiesQuery, Representations(alice), forged);

        Assert.Equal(401, status);
    }

    [Fact]
    public async Task UpdateEmailSettingsStoresAnUnverifiedAddressAndOmittedFieldsKeepTheirValue()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();
        var identity = h.IdentityFor(alice);

        var (status, first) = await h.GraphQLAsync(UpdateMutation, Input(new JsonObject { ["address"] = "alice@example.test" }), identity);
        Assert.Equal(200, status);
        Assert.Equal(
            """{"address":"alice@example.test","verified":false,"notifyOnRetweet":false}""",
            first["data"]!["updateEmailSettings"]!["emailSettings"]!.ToJsonString());

        var (_, second) = await h.GraphQLAsync(UpdateMutation, Input(new JsonObject { ["notifyOnRetweet"] = true }), identity);
        Assert.Equal(
            """{"address":"alice@example.test","verified":false,"notifyOnRetweet":true}""",
            second["data"]!["updateEmailSettings"]!["emailSettings"]!.ToJsonString());

        var (_, read) = await h.GraphQLAsync(EntitiesQuery, Representations(alice), identity);
        Assert.Equal(
            """{"address":"alice@example.test","verified":false,"notifyOnRetweet":true}""",
            read["data"]!["_entities"]![0]!["emailSettings"]!.ToJsonString());

        var (_, cleared) = await h.GraphQLAsync(UpdateMutation, Input(new JsonObject { ["address"] = null }), identity);
        Assert.Equal(
            """{"address":null,"verified":false,"notifyOnRetweet":true}""",
            cleared["data"]!["updateEmailSettings"]!["emailSettings"]!.ToJsonString());
    }

    public static TheoryData<string> BadAddresses => new()
    {
        "alice@example.test\r\nBcc: spy@evil.test",
        "alice@example.test\n",
        "\ralice@example.test",
        "alice\t@example.test",
        "alice@exa\u0085mple.test",
        "Alice <alice@example.test>",
        "alice@example.test, bob@example.test",
        "alice",
        "@example.test",
        "alice@",
        "",
        new string('a', 250) + "@x.test",
    };

    [Theory]
    [MemberData(nameof(BadAddresses))]
    public async Task BadAddressIsRefusedWithBadUserInputAndNothingIsStored(string address)
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();

        var (status, body) = await h.GraphQLAsync(
            UpdateMutation, Input(new JsonObject { ["address"] = address, ["notifyOnRetweet"] = true }), h.IdentityFor(alice));

        Assert.Equal(294, status);
        Assert.Null(body["data"]);
        var error = Assert.Single(body["errors"]!.AsArray());
        Assert.Equal(ErrorCodes.BadUserInput, Code(error));
        Assert.Equal("""["updateEmailSettings"]""", error!["path"]!.ToJsonString());
        await using var db = h.CreateDbContext();
        Assert.False(await db.EmailSettings.AnyAsync());
    }

    [Fact]
    public async Task UpdateEmailSettingsNeedsSignInAndTheEmailManageScope()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();
        var input = Input(new JsonObject { ["address"] = "alice@example.test" });

        var (_, anonymous) = await h.GraphQLAsync(UpdateMutation, input);
        var (_, unscoped) = await h.GraphQLAsync(UpdateMutation, input, h.IdentityFor(alice, scope: ChirpScopes.TweetsWrite));

        Assert.Equal(ErrorCodes.Unauthenticated, Code(anonymous["errors"]![0]));
        Assert.Equal(ErrorCodes.Forbidden, Code(unscoped["errors"]![0]));
        await using var db = h.CreateDbContext();
        Assert.False(await db.EmailSettings.AnyAsync());
    }
}
