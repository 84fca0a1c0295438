namespace Chirp.Users.Tests;

[Collection(nameof(UsersCollection))]
public sealed class SignUpTests(UsersService users)
{
    private const string SignUp = "mutation($input: SignUpInput!) { signUp(input: $input) { user { id handle displayName createdAt } } }";

    [Fact]
    public async Task SignUpStoresTheHandleLowerCaseAndAnswersTheNewUser()
    {
        var handle = UsersService.NewHandle();
        var before = DateTimeOffset.UtcNow;

        var response = await users.Client.PostGraphQLAsync(SignUp, new { input = new { handle = handle.ToUpperInvariant(), displayName = "Alice", password = "correct horse" } });

        Assert.Equal(200, response.Status);
        var user = response.Data!["signUp"]!["user"]!;
        Assert.Equal(handle, (string)user["handle"]!);
        Assert.Equal("Alice", (string)user["displayName"]!);
        Assert.True(Guid.TryParseExact((string)user["id"]!, "D", out var id));
        Assert.Equal(7, id.Version);
        var createdAt = DateTimeOffset.Parse((string)user["createdAt"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.Zero, createdAt.Offset);
        Assert.InRange(createdAt, before.AddSeconds(-5), DateTimeOffset.UtcNow.AddSeconds(5));
        Assert.EndsWith("Z", (string)user["createdAt"]!, StringComparison.Ordinal);
        Assert.Equal(handle, await users.QueryScalarAsync<string>("SELECT handle FROM users WHERE id = @id", ("id", id)));
    }

    [Fact]
    public async Task SignUpStoresOnlyAPasswordHash()
    {
        var user = await users.SignUpAsync(password: "correct horse battery");

        var hash = await users.QueryScalarAsync<string>("SELECT password_hash FROM users WHERE id = @id", ("id", Guid.Parse(user.Id)));

        Assert.DoesNotContain("correct horse", hash, StringComparison.Ordinal);
        Assert.Equal(0x01, Convert.FromBase64String(hash)[0]); // ASP.NET Core Identity v3 format (PBKDF2)
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("sixteen_chars_xx")]
    [InlineData("bad-handle")]
    [InlineData("bad handle")]
    [InlineData("alice\n")]
    [InlineData("ålice")]
    [InlineData("\u212Aelvin")] // KELVIN SIGN lower-cases to 'k' in some tables: still not a handle
    [InlineData("")]
    public async Task SignUpRefusesAHandleThatBreaksTheRule(string handle)
    {
        var response = await users.Client.PostGraphQLAsync(SignUp, new { input = new { handle, displayName = "Someone", password = "correct horse" } });

        Assert.Equal(["BAD_USER_INPUT"], response.ErrorCodes);
        Assert.Contains("^[a-z0-9_]{3,15}$", (string)response.Errors[0]!["message"]!, StringComparison.Ordinal);
        Assert.Equal(["signUp"], response.Errors[0]!["path"]!.AsArray().Select(p => (string)p!));
        Assert.Null(response.Data);
    }

    [Fact]
    public async Task SignUpWithATakenHandleIsAConflictAndWritesNoSecondRow()
    {
        var first = await users.SignUpAsync(displayName: "First");

        var response = await users.Client.PostGraphQLAsync(SignUp, new { input = new { handle = first.Handle.ToUpperInvariant(), displayName = "Second", password = "another password" } });

        Assert.Equal(["CONFLICT"], response.ErrorCodes);
        Assert.Contains(first.Handle, (string)response.Errors[0]!["message"]!, StringComparison.Ordinal);
        Assert.Equal(1L, await users.QueryScalarAsync<long>("SELECT count(*) FROM users WHERE handle = @h", ("h", first.Handle)));
        Assert.Equal("First", await users.QueryScalarAsync<string>("SELECT display_name FROM users WHERE handle = @h", ("h", first.Handle)));
    }

    [Fact]
    public async Task ConcurrentSignUpsOfOneHandleCreateOneAccount()
    {
        var handle = UsersService.NewHandle();

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            users.Client.PostGraphQLAsync(SignUp, new { input = new { handle, displayName = $"Racer {i}", password = "correct horse" } })));

        Assert.Single(responses, r => r.Status == 200);
        Assert.All(responses.Where(r => r.Status != 200), r => Assert.Equal(["CONFLICT"], r.ErrorCodes));
        Assert.Equal(1L, await users.QueryScalarAsync<long>("SELECT count(*) FROM users WHERE handle = @h", ("h", handle)));
    }

    [Theory]
    [InlineData("Eve\r\nBcc: spy@evil.test")]
    [InlineData("Eve\nBcc: spy@evil.test")]
    [InlineData("Eve\rX")]
    [InlineData("Eve\u0000")]
    [InlineData("Eve\tTab")]
    [InlineData("Eve\u0085Next")]
    [InlineData("Eve\u2028Line")]
    [InlineData("Eve\u202Eevil")]
    public async Task SignUpRefusesADisplayNameWithControlCharacters(string displayName)
    {
        var handle = UsersService.NewHandle();

        var response = await users.Client.PostGraphQLAsync(SignUp, new { input = new { handle, displayName, password = "correct horse" } });

        Assert.Equal(["BAD_USER_INPUT"], response.ErrorCodes);
        Assert.Contains("control characters", (string)response.Errors[0]!["message"]!, StringComparison.Ordinal);
        Assert.Equal(0L, await users.QueryScalarAsync<long>("SELECT count(*) FROM users WHERE handle = @h", ("h", handle)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task SignUpRefusesAnEmptyOrInvalidDisplayName(string displayName)
    {
        var response = await users.Client.PostGraphQLAsync(SignUp, new { input = new { handle = UsersService.NewHandle(), displayName, password = "correct horse" } });

        Assert.Equal(["BAD_USER_INPUT"], response.ErrorCodes);
    }

    [Fact]
    public async Task ADisplayNameThatIsNotUnicodeTextIsRefusedAsBadInput()
    {
        var handle = UsersService.NewHandle();
        var body = """
            {"query": "mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }",
             "variables": {"input": {"handle": "HANDLE", "displayName": "a\ud83d", "password": "correct horse"}}}
            """.Replace("HANDLE", handle, StringComparison.Ordinal);
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");

        using var response = await users.Client.PostAsync("graphql", content);
        var json = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.InRange((int)response.StatusCode, 200, 499);
        Assert.Equal("BAD_USER_INPUT", (string?)json["errors"]![0]!["extensions"]!["code"]);
        Assert.Equal(0L, await users.QueryScalarAsync<long>("SELECT count(*) FROM users WHERE handle = @h", ("h", handle)));
    }

    [Fact]
    public async Task DisplayNamesCountUnicodeCharactersNotUtf16Units()
    {
        var fifty = string.Concat(Enumerable.Repeat("🐦", 50));

        var accepted = await users.SignUpAsync(displayName: fifty);
        var refused = await users.Client.PostGraphQLAsync(SignUp, new { input = new { handle = UsersService.NewHandle(), displayName = fifty + "🐦", password = "correct horse" } });

        Assert.Equal(fifty, accepted.DisplayName);
        Assert.Equal(["BAD_USER_INPUT"], refused.ErrorCodes);
        Assert.Contains("50", (string)refused.Errors[0]!["message"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NonAsciiDisplayNamesAreKeptExactlyAndTrimmed()
    {
        var user = await users.SignUpAsync(displayName: "  Zoë Ångström 🐦 ");

        Assert.Equal("Zoë Ångström 🐦", user.DisplayName);
        Assert.Equal("Zoë Ångström 🐦", await users.QueryScalarAsync<string>("SELECT display_name FROM users WHERE handle = @h", ("h", user.Handle)));
    }

    [Fact]
    public async Task DisplayNamesAreStoredInNormalizationFormC()
    {
        var user = await users.SignUpAsync(displayName: "Zoe\u0308"); // e + COMBINING DIAERESIS

        Assert.Equal("Zo\u00EB", user.DisplayName);
        Assert.Equal("Zo\u00EB", await users.QueryScalarAsync<string>("SELECT display_name FROM users WHERE handle = @h", ("h", user.Handle)));
    }

    [Theory]
    [InlineData(7)]
    [InlineData(129)]
    public async Task SignUpRefusesAPasswordOfTheWrongLength(int length)
    {
        var handle = UsersService.NewHandle();

        var response = await users.Client.PostGraphQLAsync(SignUp, new { input = new { handle, displayName = "Someone", password = new string('p', length) } });

        Assert.Equal(["BAD_USER_INPUT"], response.ErrorCodes);
        Assert.Contains("8 to 128", (string)response.Errors[0]!["message"]!, StringComparison.Ordinal);
        Assert.Equal(0L, await users.QueryScalarAsync<long>("SELECT count(*) FROM users WHERE handle = @h", ("h", handle)));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(128)]
    public async Task SignUpAcceptsPasswordsAtTheLimits(int length)
    {
        var user = await users.SignUpAsync(password: new string('p', length));

        Assert.NotEmpty(user.Id);
    }
}
