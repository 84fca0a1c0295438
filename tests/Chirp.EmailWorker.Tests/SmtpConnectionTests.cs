using Chirp.Testing;
using Chirp.EmailWorker.Events;
using Chirp.EmailWorker.Mail;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Chirp.EmailWorker.Tests;

/// <summary>
/// How the worker uses SMTP connections, against a real SMTP server: one connection carries a burst of mail, an idle one
/// is closed, one the server dropped is replaced without failing a mail, and one that failed is not used again.
/// </summary>
public sealed class SmtpConnectionTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ConsecutiveMailsShareOneConnection()
    {
        await using var smtp = await SmtpSink.StartAsync();
        await using var sender = Sender(smtp, TimeSpan.FromSeconds(30));

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(SendOutcome.Accepted, (await sender.SendAsync(Mail(), CancellationToken.None)).Outcome);
        }

        Assert.Equal(3, smtp.Messages.Count);
        Assert.Equal(1, smtp.SessionCount);
    }

    [Fact]
    public async Task ZeroKeepAliveOpensOneConnectionPerMail()
    {
        await using var smtp = await SmtpSink.StartAsync();
        await using var sender = Sender(smtp, TimeSpan.Zero);

        await sender.SendAsync(Mail(), CancellationToken.None);
        await sender.SendAsync(Mail(), CancellationToken.None);

        Assert.Equal(2, smtp.Messages.Count);
        Assert.Equal(2, smtp.SessionCount);
        await smtp.WaitForEndedSessionsAsync(2, Wait);
    }

    [Fact]
    public async Task ConnectionTheServerClosedWhileIdleIsReplacedWithoutFailingTheMail()
    {
        await using var smtp = await SmtpSink.StartAsync(idleTimeout: TimeSpan.FromMilliseconds(500));
        await using var sender = Sender(smtp, TimeSpan.FromSeconds(30));
        Assert.Equal(SendOutcome.Accepted, (await sender.SendAsync(Mail(), CancellationToken.None)).Outcome);
        await smtp.WaitForEndedSessionsAsync(1, Wait);
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        var second = await sender.SendAsync(Mail(), CancellationToken.None);

        Assert.Equal(SendOutcome.Accepted, second.Outcome);
        Assert.Equal(2, smtp.Messages.Count);
        Assert.Equal(2, smtp.SessionCount);
    }

    [Fact]
    public async Task ConnectionUnusedForTheKeepAliveIsClosedWithQuit()
    {
        await using var smtp = await SmtpSink.StartAsync();
        await using var sender = Sender(smtp, TimeSpan.FromMilliseconds(300));
        await sender.SendAsync(Mail(), CancellationToken.None);

        await sender.CloseIfIdleAsync(CancellationToken.None);
        await Task.Delay(200);
        Assert.Equal(0, smtp.EndedSessionCount);
        await Task.Delay(200);
        await sender.CloseIfIdleAsync(CancellationToken.None);

        await smtp.WaitForEndedSessionsAsync(1, Wait);
        Assert.Equal(SendOutcome.Accepted, (await sender.SendAsync(Mail(), CancellationToken.None)).Outcome);
        Assert.Equal(2, smtp.SessionCount);
    }

    [Fact]
    public async Task ConnectionIsNotReusedAfterAFailedSend()
    {
        await using var smtp = await SmtpSink.StartAsync();
        await using var sender = Sender(smtp, TimeSpan.FromSeconds(30));
        smtp.FailNext(1, 451, "4.3.0 try again later");

        var failed = await sender.SendAsync(Mail(), CancellationToken.None);
        var next = await sender.SendAsync(Mail(), CancellationToken.None);

        Assert.Equal(SendOutcome.Transient, failed.Outcome);
        Assert.StartsWith("451", failed.Detail, StringComparison.Ordinal);
        Assert.Equal(SendOutcome.Accepted, next.Outcome);
        Assert.Equal(2, smtp.SessionCount);
    }

    [Fact]
    public async Task EventRepeatedWithinOneBatchSendsOneMailAndSkippedEventsAreAcknowledged()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server, startWorker: false);
        var alice = Guid.CreateVersion7();
        await h.SetSettingsAsync(alice, "alice@example.test");
        var e = EmailWorkerHarness.NewEvent(alice);
        var ids = new List<StackExchange.Redis.RedisValue> { await h.AddEventAsync(e), await h.AddEventAsync(e) };
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await h.AddEventAsync(EmailWorkerHarness.NewEvent(Guid.CreateVersion7())));
        }

        await h.StartWorkerAsync();

        foreach (var id in ids)
        {
            await h.WaitUntilAcknowledgedAsync(id);
        }

        await h.Smtp.WaitForMailToAsync("alice@example.test", Wait);
        Assert.Single(h.Smtp.Messages);
        Assert.Single(await h.SentLogAsync());
        Assert.Equal(0, await h.PendingCountAsync());
    }

    private static SmtpMailSender Sender(SmtpSink smtp, TimeSpan keepAlive) => new(
        Options.Create(new SmtpOptions
        {
            Host = smtp.Host,
            Port = smtp.Port,
            From = "no-reply@chirp.test",
            Timeout = TimeSpan.FromSeconds(5),
            KeepAlive = keepAlive,
        }),
        new MailSigner(Options.Create(EmailWorkerHarness.Dkim)),
        TimeProvider.System);

    private static MimeMessage Mail() => RetweetMail.Create(
        EmailWorkerHarness.NewEvent(Guid.CreateVersion7()), MailboxAddress.Parse("no-reply@chirp.test"), "alice@example.test",
        EmailWorkerHarness.PublicBaseUrl + "/email/unsubscribe?token=x", DateTimeOffset.UtcNow);
}
