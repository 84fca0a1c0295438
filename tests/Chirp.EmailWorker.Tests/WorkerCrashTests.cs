namespace Chirp.EmailWorker.Tests;

/// <summary>
/// Case C09 with real crashes: the worker runs as a child process and is killed with SIGKILL at a known point between
/// reading an event and the SMTP server accepting its mail (another worker reclaims the entry and mails it once), and
/// Redis restarts from its append-only file while an event is in flight.
/// </summary>
public sealed class WorkerCrashTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task WorkerKilledWhileTheSmtpServerHoldsItsSendIsReclaimedAndMailedExactlyOnce()
    {
        await using var h = await EmailWorkerHarness.StartAsync(
            postgres.Server, new Dictionary<string, string?> { ["EmailWorker:ClaimIdleTime"] = "00:00:03" }, startWorker: false);
        var alice = Guid.CreateVersion7();
        await h.SetSettingsAsync(alice, "alice@example.test");
        h.Smtp.HoldNext();

        await using var child = await h.StartWorkerProcessAsync();
        try
        {
            await h.WaitForGroupAsync(TimeSpan.FromSeconds(60));
            var e = EmailWorkerHarness.NewEvent(alice);
            var id = await h.AddEventAsync(e);

            // The child has read the event and sent RCPT TO; the sink holds it there, before DATA.
            await h.Smtp.WaitUntilHeldAsync(TimeSpan.FromSeconds(30));
            await child.KillAsync();
            h.Smtp.ReleaseHeld();
            Assert.Equal(1, await h.PendingCountAsync());
            Assert.Empty(h.Smtp.Messages);

            await h.StartWorkerAsync();
            var mail = await h.Smtp.WaitForMailToAsync("alice@example.test", TimeSpan.FromSeconds(30));
            await h.WaitUntilAcknowledgedAsync(id, TimeSpan.FromSeconds(30));

            Assert.Equal(Events.RetweetMail.MessageIdFor(e.EventId, "alice@example.test"), mail.Message.MessageId);
            await h.Smtp.AssertNoMailAsync(_ => h.Smtp.Messages.Count > 1, TimeSpan.FromSeconds(4));
            Assert.Single(await h.SentLogAsync());
            Assert.Equal(0, await h.PendingCountAsync());
        }
        catch (Exception e)
        {
            throw new InvalidOperationException("The killed worker process printed:" + Environment.NewLine + child.Output, e);
        }
    }

    [Fact]
    public async Task RedisWithAnAppendOnlyFileRestartsWhileAnEventIsInFlightAndOneMailGoesOut()
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server, redisAppendOnly: true);
        var alice = Guid.CreateVersion7();
        await h.SetSettingsAsync(alice, "alice@example.test");
        await h.WaitForGroupAsync();
        h.Smtp.HoldNext();
        var id = await h.AddEventAsync(EmailWorkerHarness.NewEvent(alice));
        await h.Smtp.WaitUntilHeldAsync(TimeSpan.FromSeconds(30));

        // The entry is read and pending while Redis goes down and comes back from its append-only file.
        await h.Redis.StopAsync();
        await h.Redis.StartAgainAsync();
        h.Smtp.ReleaseHeld();

        await h.Smtp.WaitForMailToAsync("alice@example.test", TimeSpan.FromSeconds(30));
        await h.WaitUntilAcknowledgedAsync(id, TimeSpan.FromSeconds(30));
        await h.Smtp.AssertNoMailAsync(_ => h.Smtp.Messages.Count > 1, TimeSpan.FromSeconds(3));
        Assert.Single(await h.SentLogAsync());
        Assert.Empty(await h.DeadLettersAsync());
    }
}
