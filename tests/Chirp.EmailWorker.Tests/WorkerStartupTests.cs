using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.EmailWorker.Events;
using Chirp.EmailWorker.Mail;
using Chirp.Testing;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Chirp.EmailWorker.Tests;

/// <summary>Configuration checks at start, failure classification and error shaping.</summary>
public sealed class WorkerStartupTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IDisposable
{
    private readonly KeyFolder _identityKeys = KeyFolder.Create();
    private readonly KeyFolder _linkKeys = KeyFolder.Create(EmailWorkerHarness.LinkKey, EmailWorkerHarness.LinkKeyId);

    public void Dispose()
    {
        _identityKeys.Dispose();
        _linkKeys.Dispose();
    }

    [Theory]
    [InlineData("Smtp:From", null)]
    [InlineData("Smtp:From", "not a mailbox")]
    [InlineData("Smtp:Host", null)]
    [InlineData("Smtp:Port", null)]
    [InlineData("ConnectionStrings:Redis", null)]
    [InlineData("ConnectionStrings:Email", null)]
    [InlineData("EmailWorker:RetryMaxDelay", "01:00:00")]
    [InlineData("EmailLinks:PublicBaseUrl", null)]
    [InlineData("EmailLinks:PublicBaseUrl", "http://chirp.example.com")]
    [InlineData("EmailLinks:PublicBaseUrl", "/relative")]
    [InlineData("EmailLinks:KeyDirectory", null)]
    [InlineData("EmailLinks:KeyDirectory", "/nonexistent/chirp-link-keys")]
    [InlineData("IdentityAssertion:KeyDirectory", null)]
    [InlineData("EmailLinks:UnsubscribeLifetime", "59.00:00:00")]
    [InlineData("Dkim:Domain", null)]
    [InlineData("Dkim:Domain", "elsewhere.test")]
    [InlineData("Dkim:Selector", null)]
    [InlineData("Dkim:PrivateKeyFile", null)]
    [InlineData("Dkim:PrivateKeyFile", "/nonexistent/dkim.pem")]
    public async Task StartFailsWhenARequiredSettingIsMissingOrInvalid(string key, string? value)
    {
        var settings = new Dictionary<string, string?>(ValidSettings)
        {
            [key] = value,
        };
        if (value is null)
        {
            settings.Remove(key);
        }

        await Assert.ThrowsAsync<OptionsValidationException>(() =>
            ServiceHost.StartAsync("Chirp.EmailWorker", settings, b => b.AddEmailWorker(), a => a.MapEmailWorker()));
    }

    [Fact]
    public async Task StartFailsWhenTheLinkKeyIsAnIdentityAssertionKeyAndTheMessageHidesTheKey()
    {
        var identityKey = Convert.ToBase64String(new byte[32]);
        _identityKeys.Write("reused", identityKey);
        using var reusing = KeyFolder.Create(identityKey, EmailWorkerHarness.LinkKeyId);
        var settings = new Dictionary<string, string?>(ValidSettings)
        {
            ["EmailLinks:KeyDirectory"] = reusing.Directory,
        };

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ServiceHost.StartAsync("Chirp.EmailWorker", settings, b => b.AddEmailWorker(), a => a.MapEmailWorker()));
        Assert.Contains("must not hold an IdentityAssertion key", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(identityKey, e.Message, StringComparison.Ordinal);
    }

    /// <summary>Settings with which the worker starts (it then only fails to reach its servers).</summary>
    private Dictionary<string, string?> ValidSettings => new()
    {
        ["ConnectionStrings:Email"] = "Host=127.0.0.1;Database=none",
        ["ConnectionStrings:Redis"] = "127.0.0.1:1,abortConnect=false",
        ["Smtp:Host"] = "127.0.0.1",
        ["Smtp:Port"] = "25",
        ["Smtp:From"] = "Chirp <no-reply@chirp.test>",
        ["IdentityAssertion:KeyDirectory"] = _identityKeys.Directory,
        ["EmailLinks:PublicBaseUrl"] = EmailWorkerHarness.PublicBaseUrl,
        ["EmailLinks:KeyDirectory"] = _linkKeys.Directory,
        ["Dkim:Domain"] = EmailWorkerHarness.DkimDomain,
        ["Dkim:Selector"] = EmailWorkerHarness.DkimSelector,
        ["Dkim:PrivateKeyFile"] = EmailWorkerHarness.DkimKeyFile,
    };

    [Fact]
    public async Task RefusedSmtpConnectionIsATransientFailure()
    {
        var sender = new SmtpMailSender(Options.Create(new SmtpOptions
        {
            Host = "127.0.0.1",
            Port = FreePort.Next(),
            From = "no-reply@chirp.test",
            Timeout = TimeSpan.FromSeconds(5),
        }), new MailSigner(Options.Create(EmailWorkerHarness.Dkim)), TimeProvider.System);
        var message = RetweetMail.Create(
            EmailWorkerHarness.NewEvent(Guid.CreateVersion7()), MailboxAddress.Parse("no-reply@chirp.test"), "alice@example.test",
            EmailWorkerHarness.PublicBaseUrl + "/email/unsubscribe?token=x", DateTimeOffset.UtcNow);

        var result = await sender.SendAsync(message, CancellationToken.None);

        Assert.Equal(SendOutcome.Transient, result.Outcome);
    }

    [Fact]
    public void MessageIdIsTheSameForEveryRepeatOfOneEventToOneRecipient()
    {
        var eventId = Guid.CreateVersion7().ToString();

        var first = RetweetMail.MessageIdFor(eventId, "alice@example.test");

        Assert.Equal(first, RetweetMail.MessageIdFor(eventId, "Alice@Example.test"));
        Assert.NotEqual(first, RetweetMail.MessageIdFor(eventId, "bob@example.test"));
        Assert.NotEqual(first, RetweetMail.MessageIdFor(Guid.CreateVersion7().ToString(), "alice@example.test"));
        Assert.Matches($"^{eventId}\\.[0-9a-f]{{16}}@chirp$", first);
        Assert.DoesNotContain("alice", first, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DatabaseFailureGivesAnInternalErrorWithoutDetailsAndReadinessFails()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server, new Dictionary<string, string?>
        {
            ["ConnectionStrings:Email"] = postgres.Server.ConnectionStringFor("no_such_database"),
        });
        var alice = Guid.CreateVersion7();

        var (status, body) = await h.GraphQLAsync(
            "query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { emailSettings { address } } } }",
            new JsonObject { ["r"] = new JsonArray(new JsonObject { ["__typename"] = "User", ["id"] = alice.ToString() }) },
            h.IdentityFor(alice));

        Assert.Equal(294, status);
        var error = Assert.Single(body["errors"]!.AsArray());
        Assert.Equal(ErrorCodes.Internal, error!["extensions"]!["code"]!.GetValue<string>());
        Assert.Equal("An internal error occurred.", error["message"]!.GetValue<string>());
        Assert.DoesNotContain("no_such_database", body.ToJsonString(), StringComparison.Ordinal);
        using var http = h.Worker!.CreateClient();
        Assert.Equal(503, (int)(await http.GetAsync("health/ready")).StatusCode);
        Assert.Equal(200, (int)(await http.GetAsync("health/live")).StatusCode);
    }
}
