using Chirp.Testing;

namespace Chirp.Users.Tests;

[Collection(nameof(UsersCollection))]
public sealed class SchemaTests(UsersService users)
{
    [Fact]
    public async Task ServedSdlMatchesTheCheckedInSchema()
    {
        var response = await users.Client.PostGraphQLAsync("{ _service { sdl } }");
        var served = (string)response.Data!["_service"]!["sdl"]!;
        var checkedIn = await File.ReadAllTextAsync(RepoPaths.Combine("schema", "users.graphql"));

        var diff = SdlShape.Diff(checkedIn, served);

        Assert.True(diff.Length == 0, "schema/users.graphql (-) and the served SDL (+) differ:" + Environment.NewLine + diff);
    }

    [Fact]
    public async Task SdlComparisonNoticesAMissingDirectiveAFieldTypeAndALinkImport()
    {
        var checkedIn = await File.ReadAllTextAsync(RepoPaths.Combine("schema", "users.graphql"));

        var withoutAuthenticated = checkedIn.Replace("me: User @authenticated", "me: User", StringComparison.Ordinal);
        var nullableHandle = checkedIn.Replace("handle: String!\n  displayName: String!\n  createdAt", "handle: String\n  displayName: String!\n  createdAt", StringComparison.Ordinal);
        var moreImports = checkedIn.Replace("import: [\"@key\", \"@authenticated\"]", "import: [\"@key\", \"@authenticated\", \"@shareable\"]", StringComparison.Ordinal);

        Assert.Contains("- Query.me @authenticated", SdlShape.Diff(checkedIn, withoutAuthenticated), StringComparison.Ordinal);
        Assert.Contains("+ User.handle: String", SdlShape.Diff(checkedIn, nullableHandle), StringComparison.Ordinal);
        Assert.Contains("@shareable", SdlShape.Diff(checkedIn, moreImports), StringComparison.Ordinal);
        Assert.Equal("", SdlShape.Diff(checkedIn, "# reordered\n" + checkedIn.Replace("\n", "\n\n", StringComparison.Ordinal)));
    }
}
