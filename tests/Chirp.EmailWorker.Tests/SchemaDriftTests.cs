using Chirp.Testing;

namespace Chirp.EmailWorker.Tests;

/// <summary>The served SDL (<c>_service { sdl }</c>) and <c>schema/notifications.graphql</c> describe the same subgraph.</summary>
public sealed class SchemaDriftTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task ServedSdlMatchesTheCheckedInNotificationsSchema()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var (status, body) = await h.GraphQLAsync("{ _service { sdl } }");
        Assert.Equal(200, status);
        var served = body["data"]!["_service"]!["sdl"]!.GetValue<string>();
        var file = await File.ReadAllTextAsync(RepoPaths.Combine("schema", "notifications.graphql"));

        Assert.Equal("", SdlShape.Diff(file, served));
        Assert.Contains("""@requiresScopes(scopes: [["email:manage"]])""", served, StringComparison.Ordinal);
    }

    [Fact]
    public void NormalisedSchemaSeesAChangedDirectiveArgument()
    {
        const string a = """type Mutation { x: Int @requiresScopes(scopes: [["email:manage"]]) }""";
        const string b = """type Mutation { x: Int @requiresScopes(scopes: [["tweets:write"]]) }""";

        Assert.NotEqual(SdlShape.Of(a), SdlShape.Of(b));
        Assert.Equal(SdlShape.Of(a), SdlShape.Of("type Mutation {\n  x: Int\n    @requiresScopes(scopes: [[\"email:manage\"]])\n}"));
    }

}
