using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.Testing;
using Chirp.Users.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Chirp.Users.Tests;

[Collection(nameof(UsersCollection))]
public sealed class CredentialsTests(UsersService users)
{
    [Fact]
    public async Task TheRightPasswordAnswersTheUser()
    {
        var alice = await users.SignUpAsync(displayName: "Alice", password: "correct horse");

        var (status, body) = await VerifyAsync(new { handle = alice.Handle.ToUpperInvariant(), password = "correct horse" }, users.ServiceAssertion());

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(alice.Id, (string)body["id"]!);
        Assert.Equal(alice.Handle, (string)body["handle"]!);
        Assert.Equal("Alice", (string)body["displayName"]!);
    }

    [Fact]
    public async Task AWrongPasswordAndAnUnknownHandleGetTheSame401()
    {
        var alice = await users.SignUpAsync(password: "correct horse");

        var (wrongStatus, wrong) = await VerifyAsync(new { handle = alice.Handle, password = "wrong horse" }, users.ServiceAssertion());
        var (unknownStatus, unknown) = await VerifyAsync(new { handle = UsersService.NewHandle(), password = "correct horse" }, users.ServiceAssertion());
        var (impossibleStatus, impossible) = await VerifyAsync(new { handle = "not a handle!", password = "correct horse" }, users.ServiceAssertion());

        Assert.Equal(HttpStatusCode.Unauthorized, wrongStatus);
        Assert.Equal(HttpStatusCode.Unauthorized, unknownStatus);
        Assert.Equal(HttpStatusCode.Unauthorized, impossibleStatus);
        Assert.Equal((string?)wrong["detail"], (string?)unknown["detail"]);
        Assert.Equal((string?)wrong["detail"], (string?)impossible["detail"]);
        Assert.Null(wrong["id"]);
    }

    [Fact]
    public async Task AnUnknownHandleCostsAPasswordHashToo()
    {
        var alice = await users.SignUpAsync(password: "correct horse");
        await VerifyAsync(new { handle = UsersService.NewHandle(), password = "warm up" }, users.ServiceAssertion());

        // The fastest of three runs each, so that a busy machine's hiccups do not count.
        var wrong = await FastestAsync(() => VerifyAsync(new { handle = alice.Handle, password = "wrong horse" }, users.ServiceAssertion()));
        var unknown = await FastestAsync(() => VerifyAsync(new { handle = UsersService.NewHandle(), password = "wrong horse" }, users.ServiceAssertion()));

        // Both run one PBKDF2 verification; without the dummy hash an unknown handle answers many times faster.
        Assert.True(unknown > wrong / 4, $"unknown handle {unknown.TotalMilliseconds} ms, wrong password {wrong.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task AnOverlongPasswordIsWrongWithoutFurtherWork()
    {
        var alice = await users.SignUpAsync(password: "correct horse");

        var (status, body) = await VerifyAsync(new { handle = alice.Handle, password = new string('p', 100_000) }, users.ServiceAssertion());

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Null(body["id"]);
    }

    [Fact]
    public async Task WithoutAnAssertionTheCheckIs401()
    {
        var alice = await users.SignUpAsync(password: "correct horse");

        var (status, body) = await VerifyAsync(new { handle = alice.Handle, password = "correct horse" }, assertion: null);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Null(body["id"]);
    }

    [Fact]
    public async Task AUserAssertionWithoutTheScopeIs403()
    {
        var alice = await users.SignUpAsync(password: "correct horse");

        var (status, body) = await VerifyAsync(new { handle = alice.Handle, password = "correct horse" }, users.UserAssertion(alice));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Null(body["id"]);
    }

    [Fact]
    public async Task AForgedServiceAssertionIs401()
    {
        var alice = await users.SignUpAsync(password: "correct horse");
        using var forged = KeyFolder.Create(Convert.ToBase64String(new byte[32]));
        var forger = forged.Codec();

        var (status, _) = await VerifyAsync(new { handle = alice.Handle, password = "correct horse" },
            forger.Sign("chirp-gateway", "chirp-gateway", "Chirp gateway", ChirpScopes.CredentialsVerify));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Theory]
    [InlineData("{\"handle\":\"alice\"")]
    [InlineData("[1, 2]")]
    [InlineData("{\"handle\":\"alice\"}")]
    [InlineData("{\"handle\":7,\"password\":\"x\"}")]
    [InlineData("")]
    public async Task AMalformedBodyIs400Problem(string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, InternalRoutes.CredentialsVerify.TrimStart('/'))
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(ChirpHeaders.Identity, users.ServiceAssertion());

        using var response = await users.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task AHashWithOutdatedSettingsIsReplacedOnSuccess()
    {
        var alice = await users.SignUpAsync(password: "correct horse");
        var v2 = new PasswordHasher<User>(Options.Create(new PasswordHasherOptions { CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV2 }));
        await users.QueryScalarAsync<int>("UPDATE users SET password_hash = @hash WHERE id = @id RETURNING 1",
            ("hash", v2.HashPassword(new User(), "correct horse")), ("id", Guid.Parse(alice.Id)));

        var (status, _) = await VerifyAsync(new { handle = alice.Handle, password = "correct horse" }, users.ServiceAssertion());

        Assert.Equal(HttpStatusCode.OK, status);
        var hash = await users.QueryScalarAsync<string>("SELECT password_hash FROM users WHERE id = @id", ("id", Guid.Parse(alice.Id)));
        Assert.Equal(0x01, Convert.FromBase64String(hash)[0]);
        var (again, _) = await VerifyAsync(new { handle = alice.Handle, password = "correct horse" }, users.ServiceAssertion());
        Assert.Equal(HttpStatusCode.OK, again);
    }

    private async Task<(HttpStatusCode Status, JsonObject Body)> VerifyAsync(object body, string? assertion)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, InternalRoutes.CredentialsVerify.TrimStart('/')) { Content = JsonContent.Create(body) };
        if (assertion is not null)
        {
            request.Headers.Add(ChirpHeaders.Identity, assertion);
        }

        using var response = await users.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? [] : JsonNode.Parse(text)!.AsObject());
    }

    private static async Task<TimeSpan> FastestAsync(Func<Task> action)
    {
        var fastest = TimeSpan.MaxValue;
        for (var i = 0; i < 3; i++)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            await action();
            fastest = watch.Elapsed < fastest ? watch.Elapsed : fastest;
        }

        return fastest;
    }
}
