using Chirp.Contracts;
using Chirp.Testing;

namespace Chirp.Users.Tests;

[Collection(nameof(UsersCollection))]
public sealed class IdentityTests(UsersService users)
{
    private const string UpdateProfile = "mutation($name: String!) { updateProfile(input: { displayName: $name }) { user { id displayName } } }";

    [Fact]
    public async Task MeWithAnAssertionIsTheCaller()
    {
        var alice = await users.SignUpAsync(displayName: "Alice");

        var response = await users.Client.PostGraphQLAsync("{ me { id handle displayName } }", assertion: users.UserAssertion(alice));

        Assert.Equal(200, response.Status);
        Assert.Equal(alice.Id, (string)response.Data!["me"]!["id"]!);
        Assert.Equal(alice.Handle, (string)response.Data!["me"]!["handle"]!);
    }

    [Fact]
    public async Task MeWithoutAnAssertionIsUnauthenticatedAtItsPath()
    {
        var response = await users.Client.PostGraphQLAsync("{ me { id } user(id: \"nope\") { id } }");

        Assert.Equal(294, response.Status);
        Assert.Equal(["UNAUTHENTICATED"], response.ErrorCodes);
        Assert.Equal(["me"], response.Errors[0]!["path"]!.AsArray().Select(p => (string)p!));
        Assert.Null(response.Data!["me"]);
    }

    [Fact]
    public async Task AnAssertionSignedWithAnotherKeyIsRefusedWith401()
    {
        var alice = await users.SignUpAsync();
        using var forged = KeyFolder.Create(Convert.ToBase64String(new byte[32]));
        var forger = forged.Codec();

        var response = await users.Client.PostGraphQLAsync("{ me { id } }", assertion: forger.Sign(alice.Id, alice.Handle, alice.DisplayName, "tweets:write"));

        Assert.Equal(401, response.Status);
        Assert.Null(response.Body["data"]);
    }

    [Fact]
    public async Task AnExpiredAssertionIsRefusedWith401()
    {
        var alice = await users.SignUpAsync();
        var past = users.AssertionsAt(new FixedTime(DateTimeOffset.UtcNow.AddMinutes(-5)));

        var response = await users.Client.PostGraphQLAsync("{ me { id } }", assertion: past.Sign(alice.Id, alice.Handle, alice.DisplayName, "tweets:write"));

        Assert.Equal(401, response.Status);
    }

    [Fact]
    public async Task UpdateProfileChangesTheCallersDisplayName()
    {
        var alice = await users.SignUpAsync(displayName: "Alice");

        var response = await users.Client.PostGraphQLAsync(UpdateProfile, new { name = "Alice Liddell" }, users.UserAssertion(alice));

        Assert.Equal(200, response.Status);
        Assert.Equal(alice.Id, (string)response.Data!["updateProfile"]!["user"]!["id"]!);
        Assert.Equal("Alice Liddell", (string)response.Data!["updateProfile"]!["user"]!["displayName"]!);
        Assert.Equal("Alice Liddell", await users.QueryScalarAsync<string>("SELECT display_name FROM users WHERE id = @id", ("id", Guid.Parse(alice.Id))));
    }

    [Fact]
    public async Task UpdateProfileWithoutAnAssertionIsUnauthenticatedAndChangesNothing()
    {
        var alice = await users.SignUpAsync(displayName: "Alice");

        var response = await users.Client.PostGraphQLAsync(UpdateProfile, new { name = "Mallory" });

        Assert.Equal(["UNAUTHENTICATED"], response.ErrorCodes);
        Assert.Equal("Alice", await users.QueryScalarAsync<string>("SELECT display_name FROM users WHERE id = @id", ("id", Guid.Parse(alice.Id))));
    }

    [Fact]
    public async Task UpdateProfileRefusesAHeaderInjectionAndKeepsTheOldName()
    {
        var eve = await users.SignUpAsync(displayName: "Eve");

        var response = await users.Client.PostGraphQLAsync(UpdateProfile, new { name = "Eve\r\nBcc: spy@evil.test" }, users.UserAssertion(eve));

        Assert.Equal(["BAD_USER_INPUT"], response.ErrorCodes);
        Assert.Equal("Eve", await users.QueryScalarAsync<string>("SELECT display_name FROM users WHERE id = @id", ("id", Guid.Parse(eve.Id))));
    }

    [Fact]
    public async Task UpdateProfileOfAnUnknownUserIsNotFound()
    {
        var ghost = new TestUser(Guid.CreateVersion7().ToString(), "ghost", "Ghost", "");

        var response = await users.Client.PostGraphQLAsync(UpdateProfile, new { name = "Boo" }, users.UserAssertion(ghost));

        Assert.Equal([ErrorCodes.NotFound], response.ErrorCodes);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
