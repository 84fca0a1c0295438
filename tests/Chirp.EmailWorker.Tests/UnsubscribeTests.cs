namespace Chirp.EmailWorker.Tests;

/// <summary>
/// RFC 8058 one-click unsubscribe against real PostgreSQL, Redis and SMTP: the headers every retweet mail carries, the
/// POST that needs no log-in, the page a GET shows, forged links, and links that outlive a key rotation.
/// </summary>
public sealed class UnsubscribeTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan MailTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task RetweetMailCarriesTheOneClickHeadersAndTheLinkInBothParts()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();
        await h.SetSettingsAsync(alice, "alice@example.test");

        await h.AddEventAsync(EmailWorkerHarness.NewEvent(alice));
        var mail = await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout);

        var header = mail.Message.Headers[MimeKit.HeaderId.ListUnsubscribe] ?? "";
        Assert.StartsWith("<" + EmailWorkerHarness.PublicBaseUrl + "/email/unsubscribe?token=", header, StringComparison.Ordinal);
        Assert.EndsWith(">", header, StringComparison.Ordinal);
        Assert.Equal("List-Unsubscribe=One-Click", mail.Message.Headers[MimeKit.HeaderId.ListUnsubscribePost]);
        var link = header[1..^1];
        Assert.Equal(link, EmailWorkerHarness.LinkIn(mail.TextBody));
        Assert.Contains($"<a href=\"{link}\">Stop retweet mail</a>", mail.Message.HtmlBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnePostWithoutLogInTurnsRetweetMailOff()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();
        await h.SetSettingsAsync(alice, "alice@example.test");
        await h.AddEventAsync(EmailWorkerHarness.NewEvent(alice));
        var link = (await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout)).Message.Headers[MimeKit.HeaderId.ListUnsubscribe]![1..^1];

        var (status, page) = await h.SendLinkAsync(HttpMethod.Post, link);

        Assert.Equal(200, status);
        Assert.Contains("Retweet mail is off", page, StringComparison.Ordinal);
        Assert.False((await h.SettingsAsync(alice))!.NotifyOnRetweet);
        var next = await h.AddEventAsync(EmailWorkerHarness.NewEvent(alice));
        await h.WaitUntilAcknowledgedAsync(next);
        await h.Smtp.AssertNoMailAsync(_ => h.Smtp.Messages.Count > 1, TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task GetShowsAPageThatOffersTheOneClickPostAndChangesNothing()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();
        await h.SetSettingsAsync(alice, "alice@example.test");
        var link = h.LinksAt(DateTimeOffset.UtcNow).UnsubscribeUrl(alice);

        var (status, page) = await h.SendLinkAsync(HttpMethod.Get, link);

        Assert.Equal(200, status);
        Assert.Contains("<form method=\"post\"", page, StringComparison.Ordinal);
        Assert.Contains("name=\"List-Unsubscribe\" value=\"One-Click\"", page, StringComparison.Ordinal);
        Assert.Contains("Stop retweet mail", page, StringComparison.Ordinal);
        Assert.True((await h.SettingsAsync(alice))!.NotifyOnRetweet);
    }

    [Fact]
    public async Task ForgedOrExpiredLinkDoesNothing()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();
        await h.SetSettingsAsync(alice, "alice@example.test");
        var now = DateTimeOffset.UtcNow;
        var forged = h.LinksAt(now, EmailWorkerHarness.LinkKeyId, Convert.ToBase64String(new byte[32])).UnsubscribeUrl(alice);
        var confirmLink = h.LinksAt(now).ConfirmUrl(alice, "alice@example.test").Replace("/confirm?", "/unsubscribe?", StringComparison.Ordinal);
        var expired = h.LinksAt(now.AddDays(-91)).UnsubscribeUrl(alice);

        foreach (var (link, expected) in new[] { (forged, 400), (confirmLink, 400), (expired, 410) })
        {
            var (status, page) = await h.SendLinkAsync(HttpMethod.Post, link);
            Assert.Equal(expected, status);
            Assert.Contains("Nothing was changed.", page, StringComparison.Ordinal);
        }

        Assert.True((await h.SettingsAsync(alice))!.NotifyOnRetweet);
    }

    [Fact]
    public async Task LinkSignedByARetiredKeyEightyNineDaysAgoStillWorks()
    {
        const string oldKey = "Y2hpcnAtZW1haWwtd29ya2VyLXRlc3RzLW9sZC1saW5rLWtleS0wMTIzNDU2Nzg5";
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server, startWorker: false);
        h.LinkKeys.Write("links-0", oldKey);
        await h.StartWorkerAsync();
        var alice = Guid.CreateVersion7();
        await h.SetSettingsAsync(alice, "alice@example.test");
        await h.AddEventAsync(EmailWorkerHarness.NewEvent(alice));
        var fresh = (await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout)).Message.Headers[MimeKit.HeaderId.ListUnsubscribe]![1..^1];
        var old = h.LinksAt(DateTimeOffset.UtcNow.AddDays(-89), "links-0", oldKey).UnsubscribeUrl(alice);

        var (status, _) = await h.SendLinkAsync(HttpMethod.Post, old);

        Assert.Equal(200, status);
        Assert.False((await h.SettingsAsync(alice))!.NotifyOnRetweet);
        // Only the signing key signs new links; the retired one only verifies.
        Assert.StartsWith(EmailWorkerHarness.LinkKeyId + ".", Token(fresh), StringComparison.Ordinal);
    }

    private static string Token(string link) => link[(link.IndexOf("token=", StringComparison.Ordinal) + 6)..];
}
