using System.Net;
using Chirp.Contracts;
using Microsoft.Extensions.Options;

namespace Chirp.Tweets.Tests;

/// <summary>Start-up checks and failures that must not leak details.</summary>
[Collection(TweetsCollection.Name)]
public sealed class FailureTests(TweetsServers servers)
{
    [Theory]
    [InlineData("ConnectionStrings:Tweets")]
    [InlineData("ConnectionStrings:Redis")]
    public async Task TheSubgraphRefusesToStartWithoutARequiredSetting(string key)
    {
        var settings = servers.Settings(servers.TweetsConnectionString, servers.Redis.ConnectionString);
        settings[key] = null;

        await Assert.ThrowsAsync<OptionsValidationException>(() =>
            Chirp.Testing.ServiceHost.StartAsync("Chirp.Tweets", settings, b => b.AddTweetsSubgraph(), a => a.MapTweetsSubgraph()));
    }

    [Fact]
    public async Task WithItsDatabaseGoneTheSubgraphIsNotReadyAndAnswersInternalErrorsThatRevealNothing()
    {
        var missing = servers.Postgres.ConnectionStringFor("no_such_database");
        await using var host = await servers.StartTweetsAsync(missing, servers.Redis.ConnectionString);
        var alice = TestUser.New("alice");
        using var http = host.CreateClient();

        var ready = await http.GetAsync("health/ready");
        var read = await servers.GraphQLAsync("{ tweet(id: \"0190a000-0000-7000-8000-000000000000\") { id } }", host: host);
        var write = await servers.GraphQLAsync("mutation { createTweet(input: {text: \"hi\"}) { tweet { id } } }", user: alice, host: host);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(ErrorCodes.Internal, read.SingleErrorCode("tweet"));
        Assert.Equal(ErrorCodes.Internal, write.SingleErrorCode("createTweet"));
        foreach (var body in new[] { read.ToJsonString(), write.ToJsonString() })
        {
            Assert.DoesNotContain("no_such_database", body, StringComparison.Ordinal);
            Assert.DoesNotContain("Npgsql", body, StringComparison.Ordinal);
            Assert.DoesNotContain(" at ", body, StringComparison.Ordinal);
        }
    }
}
