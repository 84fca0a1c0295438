using System.Text;
using Chirp.Contracts;
using Chirp.EmailWorker.Events;
using MimeKit;
using MimeKit.Utils;
using StackExchange.Redis;

namespace Chirp.EmailWorker.Tests;

/// <summary>The retweet mail consumer against real Redis, PostgreSQL and SMTP (docs/architecture.md section 5, cases C09 and C10).</summary>
public sealed class RetweetMailTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan MailTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task OptedInVerifiedAuthorGetsOneMailNamingTheRetweeterAndQuotingTheTweet()
    {
        await using var h = await EmailWorkerHarness.StartWithAliceAsync(postgres.Server);
        var e = EmailWorkerHarness.NewEvent(h.Alice, "Carol Jones", "carol", "My first tweet");

        var id = await h.AddEventAsync(e);

        var mail = await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout);
        await h.WaitUntilAcknowledgedAsync(id);
        Assert.Equal(["alice@example.test"], mail.RcptTo);
        Assert.Equal("no-reply@chirp.test", mail.MailFrom);
        Assert.Equal("Carol Jones (@carol) retweeted your tweet \"My first tweet\"", mail.Subject);
        Assert.Contains("Carol Jones (@carol)", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains("> My first tweet", mail.TextBody, StringComparison.Ordinal);
        Assert.Equal(RetweetMail.MessageIdFor(e.EventId, "alice@example.test"), mail.Message.MessageId);
        Assert.StartsWith(e.EventId + ".", mail.Message.MessageId, StringComparison.Ordinal);
        Assert.Single(h.Smtp.Messages);
        Assert.Equal(0, await h.PendingCountAsync());
        var sent = Assert.Single(await h.SentLogAsync());
        Assert.Equal((Guid.Parse(e.EventId), "alice@example.test", mail.Message.MessageId), (sent.EventId, sent.Recipient, sent.MessageId));
    }

    public static TheoryData<string, bool, bool, string?> AuthorsWhoGetNoMail => new()
    {
        { "opted out", false, true, "bob@example.test" },
        { "address not verified", true, false, "bob@example.test" },
        { "no address", true, false, null },
        { "no settings at all", false, false, "-" },
    };

    [Theory]
    [MemberData(nameof(AuthorsWhoGetNoMail))]
    public async Task AuthorWhoDidNotOptInWithAVerifiedAddressGetsNoMailAndTheEntryIsAcknowledged(string why, bool notify, bool verified, string? address)
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var bob = Guid.CreateVersion7();
        if (address != "-")
        {
            await h.SetSettingsAsync(bob, address, verified, notify);
        }

        var id = await h.AddEventAsync(EmailWorkerHarness.NewEvent(bob));

        await h.WaitUntilAcknowledgedAsync(id);
        Assert.True(h.Smtp.Messages.Count == 0, $"{why}: expected no mail");
        Assert.Empty(await h.SentLogAsync());
        Assert.Empty(await h.DeadLettersAsync());
    }

    [Fact]
    public async Task SameEventDeliveredTwiceSendsOneMail()
    {
        await using var h = await EmailWorkerHarness.StartWithAliceAsync(postgres.Server);
        var e = EmailWorkerHarness.NewEvent(h.Alice);

        await h.AddEventAsync(e);
        var second = await h.AddEventAsync(e);

        await h.WaitUntilAcknowledgedAsync(second);
        await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout);
        Assert.Single(h.Smtp.Messages);
        Assert.Single(await h.SentLogAsync());
    }

    [Fact]
    public async Task TransientSmtpFailureIsRetriedAndSendsExactlyOneMail()
    {
        await using var h = await EmailWorkerHarness.StartWithAliceAsync(postgres.Server);
        h.Smtp.FailNext(1, 451, "4.3.0 try again later");

        var id = await h.AddEventAsync(EmailWorkerHarness.NewEvent(h.Alice));

        await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout);
        await h.WaitUntilAcknowledgedAsync(id);
        Assert.Equal(1, h.Smtp.RejectedCount);
        Assert.Single(h.Smtp.Messages);
        Assert.Empty(await h.DeadLettersAsync());
    }

    [Fact]
    public async Task PermanentSmtpFailureMovesTheEntryToTheDeadLetterStream()
    {
        await using var h = await EmailWorkerHarness.StartWithAliceAsync(postgres.Server);
        h.Smtp.FailNext(1, 554, "5.7.1 rejected");
        var e = EmailWorkerHarness.NewEvent(h.Alice);

        var id = await h.AddEventAsync(e);

        var dead = await h.WaitForDeadLetterAsync();
        await h.WaitUntilAcknowledgedAsync(id);
        Assert.Contains("554", dead[DeadLetters.ReasonField].ToString(), StringComparison.Ordinal);
        Assert.Equal(id, dead[DeadLetters.SourceIdField]);
        Assert.Equal(TweetRetweetedStream.EventType, dead[TweetRetweetedStream.TypeField]);
        Assert.Contains(e.EventId, dead[TweetRetweetedStream.DataField].ToString(), StringComparison.Ordinal);
        Assert.Empty(h.Smtp.Messages);
        Assert.Empty(await h.SentLogAsync());
    }

    [Fact]
    public async Task TransientFailuresUntilMaxDeliveriesMoveTheEntryToTheDeadLetterStream()
    {
        await using var h = await EmailWorkerHarness.StartWithAliceAsync(postgres.Server, new Dictionary<string, string?>
        {
            ["EmailWorker:MaxDeliveries"] = "3",
            ["EmailWorker:RetryBaseDelay"] = "00:00:00.050",
        });
        h.Smtp.FailNext(100, 421, "4.4.2 busy");

        var id = await h.AddEventAsync(EmailWorkerHarness.NewEvent(h.Alice));

        var dead = await h.WaitForDeadLetterAsync();
        await h.WaitUntilAcknowledgedAsync(id);
        Assert.Equal(3, h.Smtp.RejectedCount);
        Assert.Equal("3", dead[DeadLetters.DeliveriesField].ToString());
        Assert.Empty(h.Smtp.Messages);
    }

    [Fact]
    public async Task ReplayedDeadLetterIsMailed()
    {
        await using var h = await EmailWorkerHarness.StartWithAliceAsync(postgres.Server);
        h.Smtp.FailNext(1, 550, "5.1.1 mailbox unavailable");
        await h.AddEventAsync(EmailWorkerHarness.NewEvent(h.Alice));
        var dead = await h.WaitForDeadLetterAsync();

        var command = EmailWorkerService.Commands["dead-letters"];
        Assert.Equal(0, await command(h.Worker!.Services, ["list"], CancellationToken.None));
        Assert.Equal(1, await command(h.Worker.Services, ["replay", "1-1"], CancellationToken.None));
        Assert.Equal(2, await command(h.Worker.Services, ["replay"], CancellationToken.None));
        Assert.Single(await h.DeadLettersAsync());

        Assert.Equal(0, await command(h.Worker.Services, ["replay", dead.Id.ToString()], CancellationToken.None));

        var mail = await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout);
        Assert.Empty(await h.DeadLettersAsync());
        Assert.Single(h.Smtp.Messages);
        Assert.Equal(TweetRetweetedStream.EventType, (await h.Db.StreamRangeAsync(TweetRetweetedStream.StreamName, "-", "+", 1, Order.Descending))[0][TweetRetweetedStream.TypeField]);
        Assert.DoesNotContain((await h.Db.StreamRangeAsync(TweetRetweetedStream.StreamName, "-", "+", 1, Order.Descending))[0].Values, v => v.Name == DeadLetters.ReasonField);
        Assert.NotNull(mail.Message.MessageId);
    }

    [Fact]
    public async Task EventWrittenBeforeTheWorkersFirstStartIsMailed()
    {
        await using var h = await EmailWorkerHarness.StartWithAliceAsync(postgres.Server, startWorker: false);
        var id = await h.AddEventAsync(EmailWorkerHarness.NewEvent(h.Alice));

        await h.StartWorkerAsync();

        await AssertAliceGotOneMailAsync(h, id);
    }

    [Fact]
    public async Task EventWrittenWhileTheWorkerIsStoppedIsMailedAfterItStarts()
    {
        await using var h = await EmailWorkerHarness.StartWithAliceAsync(postgres.Server);
        await h.WaitForGroupAsync();
        await h.StopWorkerAsync();

        var id = await h.AddEventAsync(EmailWorkerHarness.NewEvent(h.Alice));
        await Task.Delay(300);
        Assert.Empty(h.Smtp.Messages);
        await h.StartWorkerAsync();

        await AssertAliceGotOneMailAsync(h, id);
    }

    [Fact]
    public async Task EntryReadByAConsumerThatDiedBeforeSendingIsReclaimedAndMailedOnce()
    {
        await using var h = await EmailWorkerHarness.StartWithAliceAsync(postgres.Server, new Dictionary<string, string?>
        {
            ["EmailWorker:ClaimIdleTime"] = "00:00:01",
            ["EmailWorker:RetryMaxDelay"] = "00:00:00.500",
        }, startWorker: false);
        await h.Db.StreamCreateConsumerGroupAsync(TweetRetweetedStream.StreamName, TweetRetweetedStream.EmailWorkerGroup, StreamPosition.Beginning, createStream: true);
        var id = await h.AddEventAsync(EmailWorkerHarness.NewEvent(h.Alice));
        // A worker on another host reads the entry and is killed before it sends anything.
        var read = await h.Db.StreamReadGroupAsync(TweetRetweetedStream.StreamName, TweetRetweetedStream.EmailWorkerGroup, "dead-host-4242", StreamPosition.NewMessages, 10);
        Assert.Single(read);
        Assert.Equal(1, await h.PendingCountAsync());

        await h.StartWorkerAsync();

        await AssertAliceGotOneMailAsync(h, id);
    }

    [Fact]
    public async Task RedisRestartWhileTheWorkerIsIdleThenAnEventSendsOneMail()
    {
        await using var h = await EmailWorkerHarness.StartWithAliceAsync(postgres.Server);
        await h.WaitForGroupAsync();

        await h.Redis.StopAsync();
        await Task.Delay(500);
        await h.Redis.StartAgainAsync();
        var id = await h.AddEventAsync(EmailWorkerHarness.NewEvent(h.Alice));

        await AssertAliceGotOneMailAsync(h, id);
    }

    [Fact]
    public async Task WorkerThatStartsWhileRedisIsDownMailsOnceRedisIsBack()
    {
        await using var h = await EmailWorkerHarness.StartWithAliceAsync(postgres.Server, startWorker: false);
        await h.Redis.StopAsync();

        await h.StartWorkerAsync();
        using (var http = h.Worker!.CreateClient())
        {
            Assert.Equal(200, (int)(await http.GetAsync("health/ready")).StatusCode);
        }

        await Task.Delay(1000);
        await h.Redis.StartAgainAsync();
        var id = await h.AddEventAsync(EmailWorkerHarness.NewEvent(h.Alice));

        await AssertAliceGotOneMailAsync(h, id);
    }

    public static TheoryData<string, string?, string?, string?> PoisonEntries => new()
    {
        { "unknown type", "tweet-deleted", "1", """{"eventId":"x"}""" },
        { "unknown version", TweetRetweetedStream.EventType, "2", "{}" },
        { "data not JSON", TweetRetweetedStream.EventType, "1", "{not json" },
        { "data lacks fields", TweetRetweetedStream.EventType, "1", """{"eventId":"0193a1b2-0000-7000-8000-000000000001"}""" },
        { "no data", TweetRetweetedStream.EventType, "1", null },
        { "no type", null, "1", "{}" },
    };

    [Theory]
    [MemberData(nameof(PoisonEntries))]
    public async Task PoisonEntryGoesToTheDeadLetterStreamAndIsAcknowledged(string why, string? type, string? version, string? data)
    {
        await using var h = await EmailWorkerHarness.StartAsync(postgres.Server);
        var fields = new List<NameValueEntry>();
        if (type is not null)
        {
            fields.Add(new(TweetRetweetedStream.TypeField, type));
        }

        if (version is not null)
        {
            fields.Add(new(TweetRetweetedStream.VersionField, version));
        }

        fields.Add(new(data is null ? "other" : TweetRetweetedStream.DataField, data ?? "x"));

        var id = await h.AddEntryAsync([.. fields]);

        var dead = await h.WaitForDeadLetterAsync();
        await h.WaitUntilAcknowledgedAsync(id);
        Assert.False(dead[DeadLetters.ReasonField].IsNullOrEmpty, why);
        Assert.Equal(id, dead[DeadLetters.SourceIdField]);
        foreach (var field in fields)
        {
            Assert.Equal(field.Value, dead[field.Name]);
        }

        Assert.Empty(h.Smtp.Messages);
    }

    [Fact]
    public async Task NonAsciiNameAndTextGiveSevenBitEncodedHeadersThatDecodeExactlyAndAUtf8Body()
    {
        await using var h = await EmailWorkerHarness.StartWithAliceAsync(postgres.Server);
        const string name = "Zoë Ångström 🐦";
        const string text = "Grüße ☕";

        await h.AddEventAsync(EmailWorkerHarness.NewEvent(h.Alice, name, "zoe", text));

        var mail = await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout);
        Assert.All(mail.Raw, b => Assert.True(b < 0x80, "every byte on the wire is 7-bit"));
        var rawSubject = RawHeader(mail.RawText, "Subject");
        Assert.Contains("=?utf-8?", rawSubject, StringComparison.OrdinalIgnoreCase);
        Assert.Equal($"{name} (@zoe) retweeted your tweet \"{text}\"", Rfc2047.DecodeText(Encoding.ASCII.GetBytes(rawSubject)));
        Assert.Equal($"{name} (@zoe) retweeted your tweet \"{text}\"", mail.Subject);

        var parts = Assert.IsType<MultipartAlternative>(mail.Message.Body);
        Assert.All(parts.OfType<TextPart>(), part => Assert.Equal("utf-8", part.ContentType.Charset, ignoreCase: true));
        var body = parts.OfType<TextPart>().Single(p => p.IsPlain);
        Assert.Contains($"{name} (@zoe)", body.Text, StringComparison.Ordinal);
        Assert.Contains($"> {text}", body.Text, StringComparison.Ordinal);
        var html = System.Net.WebUtility.HtmlDecode(mail.Message.HtmlBody);
        Assert.Contains($"{name}</strong> (@zoe)", html, StringComparison.Ordinal);
        Assert.Contains(text, html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DisplayNameWithCrLfNeverAddsAHeaderOrARecipient()
    {
        await using var h = await EmailWorkerHarness.StartWithAliceAsync(postgres.Server);

        await h.AddEventAsync(EmailWorkerHarness.NewEvent(h.Alice, "Eve\r\nBcc: spy@evil.test", "eve\r\nX-Injected: 1", "hi\r\nthere"));

        var mail = await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout);
        Assert.Equal(["alice@example.test"], mail.RcptTo);
        Assert.DoesNotContain(mail.Message.Headers, header => header.Field is "Bcc" or "X-Injected");
        Assert.Empty(mail.Message.Bcc);
        var headerLines = mail.RawText[..mail.RawText.IndexOf("\r\n\r\n", StringComparison.Ordinal)].Split("\r\n");
        Assert.DoesNotContain(headerLines, line => line.StartsWith("Bcc", StringComparison.OrdinalIgnoreCase) || line.StartsWith("X-Injected", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain('\n', mail.Subject ?? "");
        Assert.StartsWith("Eve", mail.Subject, StringComparison.Ordinal);
        Assert.Contains("> hi", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains("> there", mail.TextBody, StringComparison.Ordinal);
    }

    /// <summary>The unfolded raw value of header <paramref name="name"/> from the message's header section.</summary>
    private static string RawHeader(string rawMessage, string name)
    {
        var headers = rawMessage[..rawMessage.IndexOf("\r\n\r\n", StringComparison.Ordinal)];
        var unfolded = headers.Replace("\r\n ", " ", StringComparison.Ordinal).Replace("\r\n\t", "\t", StringComparison.Ordinal);
        var line = unfolded.Split("\r\n").Single(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase));
        return line[(name.Length + 1)..].Trim();
    }

    /// <summary>The assert step of the delivery tests: Alice got exactly one mail and the entry <paramref name="id"/> is acknowledged.</summary>
    private static async Task AssertAliceGotOneMailAsync(EmailWorkerHarness h, RedisValue id)
    {
        await h.Smtp.WaitForMailToAsync("alice@example.test", MailTimeout);
        await h.WaitUntilAcknowledgedAsync(id);
        Assert.Single(h.Smtp.Messages);
    }
}
