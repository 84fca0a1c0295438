using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// Log-ins beyond the users service's password-check limit (README.md "Capacity") are refused at once as busy, with
/// 503 <c>temporarily_unavailable</c> and <c>Retry-After</c>, as are token requests beyond the gateway's own request
/// limit; only a users service that cannot be reached is reported as an unreachable dependency.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LogInCapacityTests(ChirpCluster cluster)
{
    private const string Password = "correct horse battery";

    [Fact]
    public async Task LogInsBeyondThePasswordCheckLimitAreRefusedFastAsBusyAndTheAdmittedOnesGetTokens()
    {
        var handle = ChirpCluster.NewHandle("busy");
        await cluster.SignUpAsync(handle, "Busy");

        await using var users = await cluster.StartUsersAsync(new()
        {
            ["Limits:ConcurrentPasswordChecks"] = "1",
            ["Limits:QueuedPasswordChecks"] = "1",
        });
        // Twelve failures per handle and address: all twelve log-ins below may be checked at once as far as the
        // log-in throttle is concerned (it lets no more run at once than failures are left).
        await using var gateway = await cluster.StartGatewayAsync(new()
        {
            ["Subgraphs:users:Url"] = new Uri(users.BaseAddress, "/graphql").ToString(),
            ["Tokens:LoginThrottle:FailuresPerHandleAndAddress"] = "12",
        });
        using var client = gateway.CreateClient();

        // One check runs and one waits; of twelve at once for one handle, the rest overflow.
        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => LogInAsync(client, handle)));

        Assert.All(answers, a => Assert.True(a.Status is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"{(int)a.Status} {a.Body}"));
        var refused = answers.Where(a => a.Status == HttpStatusCode.ServiceUnavailable).ToList();
        var admitted = answers.Where(a => a.Status == HttpStatusCode.OK).ToList();
        Assert.NotEmpty(refused);
        Assert.NotEmpty(admitted);
        foreach (var answer in refused)
        {
            Assert.True(answer.Elapsed < TimeSpan.FromSeconds(2), $"refused after {answer.Elapsed.TotalMilliseconds} ms");
            Assert.True(answer.RetryAfter > TimeSpan.Zero, "Retry-After in seconds");
            Assert.Equal("temporarily_unavailable", answer.Body["error"]!.GetValue<string>());
            var description = answer.Body["error_description"]!.GetValue<string>();
            Assert.Contains("busy", description, StringComparison.Ordinal);
            Assert.DoesNotContain("cannot reach", description, StringComparison.Ordinal);
        }

        foreach (var answer in admitted)
        {
            Assert.False(string.IsNullOrEmpty(answer.Body["access_token"]?.GetValue<string>()), answer.Body.ToJsonString());
        }

        // A refusal is not a failed log-in: all twelve failures are still left. Had the throttle counted a refusal,
        // the last of these wrong passwords would get 429.
        for (var i = 0; i < 12; i++)
        {
            var wrong = await LogInAsync(client, handle, "wrong password " + i);
            Assert.Equal(HttpStatusCode.BadRequest, wrong.Status);
        }
    }

    [Fact]
    public async Task AUsersServiceOutOfReachIsReportedAsAnUnreachableDependency()
    {
        var handle = ChirpCluster.NewHandle("nousers");
        await cluster.SignUpAsync(handle, "No Users");
        await using var gateway = await cluster.StartGatewayAsync(new() { ["Subgraphs:users:Url"] = $"http://127.0.0.1:{Chirp.Testing.FreePort.Next()}/graphql" });
        using var client = gateway.CreateClient();

        var answer = await LogInAsync(client, handle);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.Status);
        Assert.True(answer.RetryAfter > TimeSpan.Zero, "Retry-After in seconds");
        Assert.Equal("temporarily_unavailable", answer.Body["error"]!.GetValue<string>());
        Assert.Contains("cannot reach a dependency", answer.Body["error_description"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFullGatewayAnswersTokenRequestsWithAnOAuthBodyAndOtherRoutesWithProblemDetails()
    {
        var handle = ChirpCluster.NewHandle("fullgw");
        await cluster.SignUpAsync(handle, "Full Gateway");
        await using var gateway = await cluster.StartGatewayAsync(new()
        {
            ["Limits:ConcurrentRequests"] = "1",
            ["Limits:QueuedRequests"] = "0",
        });
        using var client = gateway.CreateClient();

        // The one permit is held by a log-in whose user lookup waits on a lock of the users table.
        await using var locker = new NpgsqlConnection(cluster.UsersConnectionString);
        await locker.OpenAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE users IN ACCESS EXCLUSIVE MODE", locker, transaction))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        var held = LogInAsync(client, handle);
        await using (var waiting = new NpgsqlConnection(cluster.UsersConnectionString))
        {
            await waiting.OpenAsync();
            await TransportWsProtocolTests.WaitUntilAsync(() =>
            {
                using var count = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()", waiting);
                return (long)count.ExecuteScalar()! > 0;
            });
        }

        var refused = await LogInAsync(client, handle);
        using var graphql = await client.PostAsJsonAsync("/graphql", new { query = "{ __typename }" });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
        Assert.True(refused.RetryAfter > TimeSpan.Zero, "Retry-After in seconds");
        Assert.Equal("temporarily_unavailable", refused.Body["error"]!.GetValue<string>());
        Assert.Contains("busy", refused.Body["error_description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, graphql.StatusCode);
        Assert.Equal("application/problem+json", graphql.Content.Headers.ContentType?.MediaType);

        await transaction.RollbackAsync();
        Assert.Equal(HttpStatusCode.OK, (await held).Status);
    }

    private static async Task<(HttpStatusCode Status, TimeSpan? RetryAfter, JsonObject Body, TimeSpan Elapsed)> LogInAsync(
        HttpClient client, string handle, string password = Password)
    {
        var watch = Stopwatch.StartNew();
        using var response = await client.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["username"] = handle,
            ["password"] = password,
        }));
        var body = await response.Content.ReadFromJsonAsync<JsonObject>() ?? [];
        return (response.StatusCode, response.Headers.RetryAfter?.Delta, body, watch.Elapsed);
    }
}
