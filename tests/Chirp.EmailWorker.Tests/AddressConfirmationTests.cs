using System.Text.Json.Nodes;
using Chirp.Contracts;

namespace Chirp.EmailWorker.Tests;

/// <summary>
/// Address confirmation against real PostgreSQL, Redis and SMTP: a new address is unverified until its owner presses the
/// button behind the mailed link (docs/architecture.md sections 3 and 6).
/// </summary>
public sealed class AddressConfirmationTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan MailTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task UnconfirmedAddressGetsNoRetweetMailAScannersGetConfirmsNothingAndThePostConfirms()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();
        var (status, body) = await h.UpdateSettingsAsync(alice, new JsonObject { ["address"] = "alice@example.test", ["notifyOnRetweet"] = true });
        Assert.Equal(200, status);
        Assert.False(body["data"]!["updateEmailSettings"]!["emailSettings"]!["verified"]!.GetValue<bool>());

        var confirmation = await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout);
        Assert.Equal("Confirm your address for Chirp mail", confirmation.Subject);
        var link = EmailWorkerHarness.LinkIn(confirmation.TextBody);
        Assert.StartsWith(EmailWorkerHarness.PublicBaseUrl + "/email/confirm?token=", link, StringComparison.Ordinal);
        Assert.Contains(link.Replace("&", "&amp;", StringComparison.Ordinal), confirmation.Message.HtmlBody, StringComparison.Ordinal);

        // Unverified: the retweet is acknowledged and nothing is mailed.
        var first = await h.AddEventAsync(EmailWorkerHarness.NewEvent(alice));
        await h.WaitUntilAcknowledgedAsync(first);
        await h.Smtp.AssertNoMailAsync(m => m.Subject?.Contains("retweeted", StringComparison.Ordinal) == true, Quiet);

        // A mail scanner fetching the link twice only gets the page with the button.
        for (var i = 0; i < 2; i++)
        {
            var (getStatus, page) = await h.SendLinkAsync(HttpMethod.Get, link);
            Assert.Equal(200, getStatus);
            Assert.Contains("<form method=\"post\"", page, StringComparison.Ordinal);
            Assert.Contains("alice@example.test", page, StringComparison.Ordinal);
        }

        Assert.False((await h.SettingsAsync(alice))!.Verified);

        var (postStatus, done) = await h.SendLinkAsync(HttpMethod.Post, link);
        Assert.Equal(200, postStatus);
        Assert.Contains("is confirmed", done, StringComparison.Ordinal);
        Assert.True((await h.SettingsAsync(alice))!.Verified);

        var e = EmailWorkerHarness.NewEvent(alice);
        var second = await h.AddEventAsync(e);
        var mail = await h.Smtp.WaitForMailAsync(m => m.Message.MessageId == Events.RetweetMail.MessageIdFor(e.EventId, "alice@example.test"), MailTimeout);
        await h.WaitUntilAcknowledgedAsync(second);
        Assert.Equal(["alice@example.test"], mail.RcptTo);
        Assert.Equal(2, h.Smtp.Messages.Count);
    }

    public static TheoryData<string, int, string> RefusedLinks => new()
    {
        // why, expected status, words on the page
        { "expired", 410, "has expired" },
        { "payload altered", 400, "not valid" },
        { "signature altered", 400, "not valid" },
        { "signed by an unknown key", 400, "not valid" },
        { "an unsubscribe link", 400, "not valid" },
        { "no token", 400, "not valid" },
    };

    [Theory]
    [MemberData(nameof(RefusedLinks))]
    public async Task ExpiredOrAlteredLinkIsRefusedWithAPageThatSaysSoAndChangesNothing(string why, int expected, string words)
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();
        await h.UpdateSettingsAsync(alice, new JsonObject { ["address"] = "alice@example.test", ["notifyOnRetweet"] = true });
        var good = EmailWorkerHarness.LinkIn((await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout)).TextBody);
        var token = good[(good.IndexOf("token=", StringComparison.Ordinal) + 6)..];
        var parts = token.Split('.');
        var link = why switch
        {
            "expired" => h.LinksAt(DateTimeOffset.UtcNow.AddDays(-3)).ConfirmUrl(alice, "alice@example.test"),
            "payload altered" => Replace(good, parts[1], Flip(parts[1])),
            "signature altered" => Replace(good, parts[2], Flip(parts[2])),
            "signed by an unknown key" => h.LinksAt(DateTimeOffset.UtcNow, "links-x", Convert.ToBase64String(new byte[32]))
                .ConfirmUrl(alice, "alice@example.test"),
            "an unsubscribe link" => h.LinksAt(DateTimeOffset.UtcNow).UnsubscribeUrl(alice).Replace("/unsubscribe?", "/confirm?", StringComparison.Ordinal),
            _ => EmailWorkerHarness.PublicBaseUrl + "/email/confirm?token=",
        };

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Post })
        {
            var (status, page) = await h.SendLinkAsync(method, link);
            Assert.True(expected == status, $"{why}, {method}: got {status}");
            Assert.Contains(words, page, StringComparison.Ordinal);
            Assert.Contains("Nothing was changed.", page, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", page, StringComparison.Ordinal);
        }

        Assert.False((await h.SettingsAsync(alice))!.Verified, why);
    }

    [Fact]
    public async Task LinkForAnAddressThatWasReplacedConfirmsNeither()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();
        await h.UpdateSettingsAsync(alice, new JsonObject { ["address"] = "old@example.test" });
        var old = EmailWorkerHarness.LinkIn((await h.Smtp.WaitForMailToAsync("old@example.test", MailTimeout)).TextBody);
        await h.UpdateSettingsAsync(alice, new JsonObject { ["address"] = "new@example.test" });
        await h.Smtp.WaitForMailToAsync("new@example.test", MailTimeout);

        var (status, page) = await h.SendLinkAsync(HttpMethod.Post, old);

        Assert.Equal(409, status);
        Assert.Contains("Nothing was changed.", page, StringComparison.Ordinal);
        var settings = (await h.SettingsAsync(alice))!;
        Assert.Equal(("new@example.test", false), (settings.Address, settings.Verified));
    }

    [Fact]
    public async Task ResendingIsRateLimitedAndARefusedChangeStoresNothing()
    {
        await using var h = await EmailWorkerHarness.StartAsync(
            postgres.Server, new Dictionary<string, string?> { ["EmailLinks:ConfirmationResendInterval"] = "01:00:00" });
        var alice = Guid.CreateVersion7();
        await h.UpdateSettingsAsync(alice, new JsonObject { ["address"] = "alice@example.test" });
        await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout);

        var (_, again) = await h.UpdateSettingsAsync(alice, new JsonObject { ["address"] = "alice@example.test" });
        var (_, other) = await h.UpdateSettingsAsync(alice, new JsonObject { ["address"] = "other@example.test", ["notifyOnRetweet"] = true });

        foreach (var body in new[] { again, other })
        {
            var error = Assert.Single(body["errors"]!.AsArray());
            Assert.Equal(ErrorCodes.RateLimited, error!["extensions"]!["code"]!.GetValue<string>());
            Assert.Contains("try again in", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        await h.Smtp.AssertNoMailAsync(m => m.RcptTo.Contains("other@example.test") || h.Smtp.Messages.Count > 1, Quiet);
        var settings = (await h.SettingsAsync(alice))!;
        Assert.Equal(("alice@example.test", false, false), (settings.Address, settings.Verified, settings.NotifyOnRetweet));
    }

    [Fact]
    public async Task SameUnverifiedAddressSetAgainResendsAndAConfirmedOneDoesNot()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();
        await h.UpdateSettingsAsync(alice, new JsonObject { ["address"] = "alice@example.test" });
        await h.UpdateSettingsAsync(alice, new JsonObject { ["address"] = "alice@example.test" });
        await h.Smtp.WaitForMailAsync(_ => h.Smtp.Messages.Count == 2, MailTimeout);

        var link = EmailWorkerHarness.LinkIn(h.Smtp.Messages[1].TextBody);
        Assert.Equal(200, (await h.SendLinkAsync(HttpMethod.Post, link)).Status);
        var (_, body) = await h.UpdateSettingsAsync(alice, new JsonObject { ["address"] = "alice@example.test" });

        Assert.True(body["data"]!["updateEmailSettings"]!["emailSettings"]!["verified"]!.GetValue<bool>());
        await h.Smtp.AssertNoMailAsync(_ => h.Smtp.Messages.Count > 2, Quiet);
    }

    [Fact]
    public async Task ConfirmationMailTheServerRefusesLeavesTheAddressUnverifiedSaysSoAndMayBeAskedForAgain()
    {
        await using var h = await EmailWorkerHarness.StartAsync(
            postgres.Server, new Dictionary<string, string?> { ["EmailLinks:ConfirmationResendInterval"] = "01:00:00" });
        var alice = Guid.CreateVersion7();
        h.Smtp.FailNext(1, 554, "5.7.1 no thanks");

        var (status, body) = await h.UpdateSettingsAsync(alice, new JsonObject { ["address"] = "alice@example.test" });

        Assert.Equal(294, status);
        Assert.Equal("alice@example.test", body["data"]!["updateEmailSettings"]!["emailSettings"]!["address"]!.GetValue<string>());
        var error = Assert.Single(body["errors"]!.AsArray());
        Assert.Contains("could not be sent", error!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null((await h.SettingsAsync(alice))!.ConfirmationSentAt);

        var (retryStatus, _) = await h.UpdateSettingsAsync(alice, new JsonObject { ["address"] = "alice@example.test" });
        Assert.Equal(200, retryStatus);
        await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout);
    }

    private static string Replace(string link, string part, string with) => link.Replace(part, with, StringComparison.Ordinal);

    /// <summary>Changes the first character of a base64url text to another valid one.</summary>
    private static string Flip(string text) => (text[0] == 'A' ? 'B' : 'A') + text[1..];
}
