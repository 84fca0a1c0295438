using System.Net;
using System.Text.Json.Nodes;

namespace Chirp.Users.Tests;

/// <summary>
/// The shared concurrency limit (<c>Chirp.Hosting.RequestLimits</c>, README.md "Capacity"): requests beyond
/// <c>Limits:ConcurrentRequests</c> and a full queue get 503 with <c>Retry-After</c> at once; probes are not counted.
/// </summary>
[Collection(nameof(UsersCollection))]
public sealed class RequestLimitTests(UsersService users)
{
    [Fact]
    public async Task ARequestBeyondTheLimitAndTheQueueIsAnswered503WithRetryAfterWhileProbesStillAnswer()
    {
        var (connectionString, application) = BlockedUsersTable.Tag(users.ConnectionString, "chirp-limit");
        await using var host = await users.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Users"] = connectionString,
            ["Limits:ConcurrentRequests"] = "1",
            ["Limits:QueuedRequests"] = "0",
            ["Limits:RetryAfter"] = "00:00:02",
        });
        using var client = host.CreateClient();

        // One request runs (its query waits on the lock); with no queue, the next one is refused at once.
        await using var table = await BlockedUsersTable.LockAsync(users.ConnectionString);
        var running = client.PostGraphQLAsync("{ userByHandle(handle: \"nobody1\") { id } }");
        await BlockedUsersTable.WaitAsync(async () => await table.CountAsync(application, onlyWaitingOnLock: true) > 0);

        using var refused = await client.PostAsync("graphql", JsonContent("{ __typename }"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), refused.Headers.RetryAfter?.Delta);
        var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        Assert.Equal(503, problem["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(problem["detail"]?.GetValue<string>()));

        using (var ready = await client.GetAsync("health/live"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        Assert.False(running.IsCompleted);
        await table.ReleaseAsync();
        Assert.Equal(200, (await running).Status);
    }

    private static StringContent JsonContent(string query) =>
        new(new JsonObject { ["query"] = query }.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
}
