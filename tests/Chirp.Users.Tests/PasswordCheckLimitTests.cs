using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Chirp.Contracts;

namespace Chirp.Users.Tests;

/// <summary>
/// The password-check limit (<see cref="PasswordCheckLimits"/>): beyond <c>Limits:ConcurrentPasswordChecks</c> running
/// and <c>Limits:QueuedPasswordChecks</c> waiting, a check is refused at once with 503 and <c>Retry-After</c>, while the
/// rest of the service keeps answering and the admitted checks finish.
/// </summary>
[Collection(nameof(UsersCollection))]
public sealed class PasswordCheckLimitTests(UsersService users)
{
    [Fact]
    public async Task ACheckBeyondTheLimitAndTheQueueIsRefusedAtOnceAndTheAdmittedOnesFinish()
    {
        var alice = await users.SignUpAsync(password: "correct horse");
        var (connectionString, application) = BlockedUsersTable.Tag(users.ConnectionString, "chirp-pwlimit");
        await using var host = await users.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Users"] = connectionString,
            ["Limits:ConcurrentPasswordChecks"] = "1",
            ["Limits:QueuedPasswordChecks"] = "1",
            ["Limits:RetryAfter"] = "00:00:02",
        });
        using var client = host.CreateClient();

        // The running check holds the one permit while its user lookup waits on the lock.
        await using var table = await BlockedUsersTable.LockAsync(users.ConnectionString);
        var running = VerifyAsync(client, alice);
        await BlockedUsersTable.WaitAsync(async () => await table.CountAsync(application, onlyWaitingOnLock: true) > 0);

        // Of the next two, one takes the queue's one place and the other is refused.
        var watch = Stopwatch.StartNew();
        var second = VerifyAsync(client, alice);
        var third = VerifyAsync(client, alice);
        var refused = await Task.WhenAny(second, third).WaitAsync(TimeSpan.FromSeconds(5));
        var refusedIn = watch.Elapsed;
        var queued = refused == second ? third : second;

        var (status, retryAfter, body) = await refused;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.True(refusedIn < TimeSpan.FromSeconds(2), $"refused after {refusedIn.TotalMilliseconds} ms");
        Assert.Equal(TimeSpan.FromSeconds(2), retryAfter);
        Assert.Equal(503, body["status"]!.GetValue<int>());
        Assert.Contains("password checks", body["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        // Other routes are not held up by the password checks.
        var graph = await client.PostGraphQLAsync("{ __typename }");
        Assert.Equal(200, graph.Status);
        Assert.False(running.IsCompleted);
        Assert.False(queued.IsCompleted);

        await table.ReleaseAsync();
        Assert.Equal(HttpStatusCode.OK, (await running).Status);
        var (queuedStatus, _, queuedBody) = await queued;
        Assert.Equal(HttpStatusCode.OK, queuedStatus);
        Assert.Equal(alice.Id, queuedBody["id"]!.GetValue<string>());
    }

    [Fact]
    public void TheDefaultLimitIsOneCheckPerProcessorWithAShortQueue()
    {
        var defaults = new PasswordCheckLimitsOptions();

        Assert.Equal(Environment.ProcessorCount, defaults.ConcurrentPasswordChecks);
        Assert.Equal(4 * Environment.ProcessorCount, defaults.QueuedPasswordChecks);
    }

    [Fact]
    public async Task ALimitBelowOneStopsTheServiceAtStart()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => users.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Users"] = users.ConnectionString,
            ["Limits:ConcurrentPasswordChecks"] = "0",
        }));

        Assert.Contains("ConcurrentPasswordChecks", error.Message, StringComparison.Ordinal);
    }

    private async Task<(HttpStatusCode Status, TimeSpan? RetryAfter, JsonObject Body)> VerifyAsync(HttpClient client, TestUser user)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, InternalRoutes.CredentialsVerify.TrimStart('/'))
        {
            Content = JsonContent.Create(new { handle = user.Handle, password = user.Password }),
        };
        request.Headers.Add(ChirpHeaders.Identity, users.ServiceAssertion());
        using var response = await client.SendAsync(request);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        return (response.StatusCode, response.Headers.RetryAfter?.Delta, body);
    }
}
