using System.Security.Cryptography;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;

namespace Chirp.EmailWorker.Tests;

/// <summary>What the retweet mail looks like on the wire: DKIM (RFC 6376, RFC 8058 section 3), parts, escaping, and SMTP timeouts.</summary>
public sealed class MailFormatTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan MailTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task MailIsDkimSignedOverTheRequiredHeadersAndVerifiesWithThePublicKey()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();
        await h.SetSettingsAsync(alice, "alice@example.test");

        await h.AddEventAsync(EmailWorkerHarness.NewEvent(alice, "Zoë", "zoe", "Grüße ☕"));
        var mail = await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout);

        var signature = mail.Message.Headers[mail.Message.Headers.IndexOf(HeaderId.DkimSignature)];
        var tags = signature.Value.Split(';').Select(t => t.Trim().Split('=', 2)).Where(t => t.Length == 2)
            .ToDictionary(t => t[0], t => string.Concat(t[1].Where(c => !char.IsWhiteSpace(c))));
        Assert.Equal(("rsa-sha256", EmailWorkerHarness.DkimDomain, EmailWorkerHarness.DkimSelector), (tags["a"], tags["d"], tags["s"]));
        var signed = tags["h"].ToLowerInvariant().Split(':');
        Assert.Subset(signed.ToHashSet(), new HashSet<string> { "from", "subject", "list-unsubscribe", "list-unsubscribe-post" });

        var verifier = new DkimVerifier(new TestKeyLocator(EmailWorkerHarness.DkimKey));
        Assert.True(await verifier.VerifyAsync(mail.Message, signature), "the signature verifies against the public key");

        // Control: the same check fails once a signed header is changed, and under another key.
        var tampered = MimeMessage.Load(new MemoryStream(mail.Raw));
        tampered.Headers.Replace(HeaderId.ListUnsubscribe, "<https://evil.test/>");
        Assert.False(await verifier.VerifyAsync(tampered, tampered.Headers[tampered.Headers.IndexOf(HeaderId.DkimSignature)]));
        using var other = RSA.Create(2048);
        Assert.False(await new DkimVerifier(new TestKeyLocator(other)).VerifyAsync(mail.Message, signature));
    }

    [Fact]
    public async Task ConfirmationMailIsDkimSignedToo()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        await h.UpdateSettingsAsync(Guid.CreateVersion7(), new System.Text.Json.Nodes.JsonObject { ["address"] = "alice@example.test" });
        var mail = await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout);

        var signature = mail.Message.Headers[mail.Message.Headers.IndexOf(HeaderId.DkimSignature)];
        Assert.True(await new DkimVerifier(new TestKeyLocator(EmailWorkerHarness.DkimKey)).VerifyAsync(mail.Message, signature));
        Assert.IsType<MultipartAlternative>(mail.Message.Body);
    }

    [Fact]
    public async Task MailIsTextAndHtmlAlternativesAndTheHtmlEscapesNameAndTweet()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var alice = Guid.CreateVersion7();
        await h.SetSettingsAsync(alice, "alice@example.test");
        const string name = "<script>alert(1)</script> & Co";
        const string text = "<img src=x onerror=alert(2)> \"quoted\" & more";

        await h.AddEventAsync(EmailWorkerHarness.NewEvent(alice, name, "mallory", text));
        var mail = await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout);

        var parts = Assert.IsType<MultipartAlternative>(mail.Message.Body);
        Assert.Equal(["text/plain", "text/html"], parts.Select(p => p.ContentType.MimeType));
        Assert.Equal("no-reply@chirp.test", Assert.IsType<MailboxAddress>(Assert.Single(mail.Message.From)).Address);
        Assert.Contains($"{name} (@mallory)", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains($"> {text}", mail.TextBody, StringComparison.Ordinal);
        var html = mail.Message.HtmlBody;
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co", html, StringComparison.Ordinal);
        Assert.Contains("&lt;img src=x onerror=alert(2)&gt; &quot;quoted&quot; &amp; more", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SmtpServerThatStallsPastTheTimeoutIsCutOffRetriedAndSendsExactlyOneMail()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server, new Dictionary<string, string?> { ["Smtp:Timeout"] = "00:00:01" });
        var alice = Guid.CreateVersion7();
        await h.SetSettingsAsync(alice, "alice@example.test");
        h.Smtp.HoldNext();

        var id = await h.AddEventAsync(EmailWorkerHarness.NewEvent(alice));
        await h.Smtp.WaitUntilHeldAsync(MailTimeout);

        // Never released: only the worker's own timeout can end that attempt.
        await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout);
        await h.WaitUntilAcknowledgedAsync(id);
        Assert.Single(h.Smtp.Messages);
        Assert.Single(await h.SentLogAsync());
    }

    /// <summary>Answers the DNS lookup of <c>{selector}._domainkey.{domain}</c> with the TXT record of a known key.</summary>
    private sealed class TestKeyLocator(RSA key) : DkimPublicKeyLocatorBase
    {
        public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default)
        {
            Assert.Equal((EmailWorkerHarness.DkimDomain, EmailWorkerHarness.DkimSelector), (domain, selector));
            return GetPublicKey("v=DKIM1; k=rsa; p=" + Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()));
        }

        public override Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            Task.FromResult(LocatePublicKey(methods, domain, selector, cancellationToken));
    }
}
