using System.Net;
using Chirp.Testing;
using Microsoft.Extensions.Options;

namespace Chirp.Users.Tests;

[Collection(nameof(UsersCollection))]
public sealed class HostingTests(UsersService users)
{
    [Fact]
    public async Task ReadinessIsHealthyWhenTheDatabaseAnswers()
    {
        using var response = await users.Client.GetAsync("health/ready");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task WithTheDatabaseGoneReadinessFailsAndFieldsGetAGenericInternalError()
    {
        await using var host = await users.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Users"] = $"Host=127.0.0.1;Port={FreePort.Next()};Database=users;Username=postgres;Timeout=3",
        });
        using var client = host.CreateClient();

        using var ready = await client.GetAsync("health/ready");
        var response = await client.PostGraphQLAsync("{ userByHandle(handle: \"alice\") { id } }");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(294, response.Status);
        Assert.Equal(["INTERNAL"], response.ErrorCodes);
        var error = response.Errors[0]!.ToJsonString();
        Assert.DoesNotContain("Npgsql", error, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("127.0.0.1", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingConnectionStringStopsTheStart()
    {
        await Assert.ThrowsAsync<OptionsValidationException>(() => users.StartAsync(new Dictionary<string, string?>()));
    }

    [Fact]
    public async Task AMissingIdentityKeyFolderStopsTheStart()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => users.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Users"] = users.ConnectionString,
            ["IdentityAssertion:KeyDirectory"] = Path.Combine(Path.GetTempPath(), "chirp-no-such-folder-" + Guid.NewGuid().ToString("N")),
        }));

        Assert.Contains("IdentityAssertion:KeyDirectory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnIdentityKeyFolderWithoutAUsableKeyStopsTheStart()
    {
        var folder = Directory.CreateTempSubdirectory("chirp-empty-keys-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "short.key"), Convert.ToBase64String(new byte[16]));
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => users.StartAsync(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Users"] = users.ConnectionString,
                ["IdentityAssertion:KeyDirectory"] = folder,
            }));

            Assert.Contains("at least 32 bytes", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task MigrateAgainstAnUnreachableDatabaseFailsWithExitCode1()
    {
        await using var host = await users.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Users"] = $"Host=127.0.0.1;Port={FreePort.Next()};Database=users;Username=postgres;Timeout=3",
        });

        var exitCode = await UsersSubgraph.Commands["migrate"](host.Services, [], CancellationToken.None);

        Assert.Equal(1, exitCode);
    }

    [Fact]
    public async Task MigrateCanRunAgainWithoutChanges()
    {
        var exitCode = await UsersSubgraph.Commands["migrate"](users.Host.Services, [], CancellationToken.None);

        Assert.Equal(0, exitCode);
    }
}
