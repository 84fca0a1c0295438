namespace Chirp.Users.Tests;

[Collection(nameof(UsersCollection))]
public sealed class LookupTests(UsersService users)
{
    private const string Entities = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id handle displayName } } }";

    [Fact]
    public async Task UserByIdAnswersTheUser()
    {
        var alice = await users.SignUpAsync(displayName: "Alice");

        var response = await users.Client.PostGraphQLAsync("query($id: ID!) { user(id: $id) { id handle displayName } }", new { id = alice.Id });

        Assert.Equal(200, response.Status);
        Assert.Equal(alice.Handle, (string)response.Data!["user"]!["handle"]!);
        Assert.Equal("Alice", (string)response.Data!["user"]!["displayName"]!);
    }

    [Theory]
    [InlineData("01a227f1-e41f-7d01-b22e-5c40970a7299")]
    [InlineData("nope")]
    [InlineData("")]
    [InlineData("01a227f1e41f7d01b22e5c40970a7299x")]
    [InlineData("'; DROP TABLE users; --")]
    public async Task UserByUnknownOrMalformedIdIsNullWithoutError(string id)
    {
        var response = await users.Client.PostGraphQLAsync("query($id: ID!) { user(id: $id) { id } }", new { id });

        Assert.Equal(200, response.Status);
        Assert.Empty(response.Errors);
        Assert.Null(response.Data!["user"]);
    }

    [Fact]
    public async Task UserByHandleMatchesAnyLetterCase()
    {
        var alice = await users.SignUpAsync();

        var response = await users.Client.PostGraphQLAsync("query($h: String!) { userByHandle(handle: $h) { id } }", new { h = alice.Handle.ToUpperInvariant() });

        Assert.Equal(alice.Id, (string)response.Data!["userByHandle"]!["id"]!);
    }

    [Theory]
    [InlineData("nobody_here_xyz")]
    [InlineData("not a handle!")]
    [InlineData("")]
    public async Task UserByUnknownOrImpossibleHandleIsNullWithoutError(string handle)
    {
        var response = await users.Client.PostGraphQLAsync("query($h: String!) { userByHandle(handle: $h) { id } }", new { h = handle });

        Assert.Equal(200, response.Status);
        Assert.Empty(response.Errors);
        Assert.Null(response.Data!["userByHandle"]);
    }

    [Fact]
    public async Task EntitiesResolvesRepresentationsInOrderWithNullForUnknownOnes()
    {
        var alice = await users.SignUpAsync(displayName: "Alice");
        var bob = await users.SignUpAsync(displayName: "Bob");

        var response = await users.Client.PostGraphQLAsync(Entities, new
        {
            r = new object[]
            {
                new { __typename = "User", id = bob.Id },
                new { __typename = "User", id = "not-a-uuid" },
                new { __typename = "User", id = alice.Id },
                new { __typename = "User", id = Guid.CreateVersion7().ToString() },
                new { __typename = "User", id = bob.Id },
            },
        });

        Assert.Equal(200, response.Status);
        var entities = response.Data!["_entities"]!.AsArray();
        Assert.Equal([bob.Handle, null, alice.Handle, null, bob.Handle], entities.Select(e => (string?)e?["handle"]));
    }

    [Fact]
    public async Task EntitiesLoadsAllRepresentationsWithOneQuery()
    {
        var someUsers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => users.SignUpAsync()));
        var before = users.Sql.Commands.Count;

        var response = await users.Client.PostGraphQLAsync(Entities, new
        {
            r = someUsers.Select(u => new { __typename = "User", id = u.Id }).Append(new { __typename = "User", id = Guid.CreateVersion7().ToString() }).ToArray(),
        });

        Assert.Equal(200, response.Status);
        Assert.Equal(someUsers.Select(u => u.Handle), response.Data!["_entities"]!.AsArray().Take(4).Select(e => (string?)e!["handle"]));
        var queries = users.Sql.Commands.Skip(before).Where(sql => sql.Contains("FROM users", StringComparison.Ordinal)).ToList();
        Assert.Single(queries);
    }

    [Fact]
    public async Task SeveralUserLookupsInOneRequestShareOneQuery()
    {
        var alice = await users.SignUpAsync();
        var bob = await users.SignUpAsync();
        var before = users.Sql.Commands.Count;

        var response = await users.Client.PostGraphQLAsync("query($a: ID!, $b: ID!) { a: user(id: $a) { handle } b: user(id: $b) { handle } }", new { a = alice.Id, b = bob.Id });

        Assert.Equal(alice.Handle, (string)response.Data!["a"]!["handle"]!);
        Assert.Equal(bob.Handle, (string)response.Data!["b"]!["handle"]!);
        Assert.Single(users.Sql.Commands.Skip(before), sql => sql.Contains("FROM users", StringComparison.Ordinal));
    }
}
