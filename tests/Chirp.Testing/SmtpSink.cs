using System.Buffers;
using System.Net;
using MimeKit;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Storage;
using SmtpReplyCode = SmtpServer.Protocol.SmtpReplyCode;
using SmtpResponse = SmtpServer.Protocol.SmtpResponse;

namespace Chirp.Testing;

/// <summary>One message the sink accepted: the SMTP envelope (RFC 5321) and the message (RFC 5322).</summary>
/// <param name="MailFrom">The <c>MAIL FROM</c> address; empty for the null reverse-path <c>&lt;&gt;</c>.</param>
/// <param name="RcptTo">The <c>RCPT TO</c> addresses, in order.</param>
/// <param name="Raw">The message bytes as received after <c>DATA</c>.</param>
/// <param name="Message">The parsed message.</param>
/// <param name="ReceivedAt">When the sink accepted it.</param>
public sealed record ReceivedMail(string MailFrom, IReadOnlyList<string> RcptTo, byte[] Raw, MimeMessage Message, DateTimeOffset ReceivedAt)
{
    /// <summary>The decoded <c>Subject</c> header.</summary>
    public string? Subject => Message.Subject;

    /// <summary>The <c>text/plain</c> body, decoded.</summary>
    public string? TextBody => Message.TextBody;

    /// <summary>The raw bytes as Latin-1 text, for asserting on headers exactly as sent on the wire.</summary>
    public string RawText => System.Text.Encoding.Latin1.GetString(Raw);
}

/// <summary>Thrown by <see cref="SmtpSink"/> waits and assertions.</summary>
public sealed class MailAssertionException(string message) : Exception(message);

/// <summary>
/// An in-process SMTP server on a free loopback port that keeps every message it accepts. No TLS and no
/// authentication. Replies can be scripted: <see cref="FailNext"/> makes the next transactions end in an error
/// reply to <c>DATA</c> (a transient <c>451 4.3.0</c> by default), so retry behaviour can be tested, and
/// <see cref="HoldNext"/> stops transactions before <c>DATA</c> until released.
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly List<ReceivedMail> _messages = [];
    private readonly Queue<SmtpResponse> _scriptedFailures = new();
    private readonly List<TaskCompletionSource> _heldNow = [];
    private int _holdsLeft;
    private TaskCompletionSource _holding = NewSignal();
    private readonly CancellationTokenSource _stop = new();
    private SmtpServer.SmtpServer? _server;
    private Task _serverTask = Task.CompletedTask;
    private TaskCompletionSource _changed = NewSignal();
    private int _rejected;
    private int _sessions;
    private int _endedSessions;
    private TimeSpan? _idleTimeout;

    private SmtpSink(int port) => Port = port;

    /// <summary>Always <c>127.0.0.1</c>.</summary>
    public string Host => "127.0.0.1";

    /// <summary>The TCP port.</summary>
    public int Port { get; }

    /// <summary>Every accepted message, in order of acceptance.</summary>
    public IReadOnlyList<ReceivedMail> Messages
    {
        get
        {
            lock (_lock)
            {
                return [.. _messages];
            }
        }
    }

    /// <summary>How many transactions got a scripted error reply so far.</summary>
    public int RejectedCount => Volatile.Read(ref _rejected);

    /// <summary>How many SMTP sessions (TCP connections) clients have opened so far.</summary>
    public int SessionCount => Volatile.Read(ref _sessions);

    /// <summary>How many SMTP sessions have ended so far (the client quit or went away, or the sink timed it out).</summary>
    public int EndedSessionCount => Volatile.Read(ref _endedSessions);

    /// <summary>
    /// Starts the sink and waits until it accepts connections. <paramref name="idleTimeout"/>, when given, is how long
    /// the sink waits for a client's next command before it closes the connection, as real servers do with idle clients.
    /// </summary>
    public static async Task<SmtpSink> StartAsync(TimeSpan? idleTimeout = null, CancellationToken ct = default)
    {
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var sink = new SmtpSink(FreePort.Next()) { _idleTimeout = idleTimeout };
            try
            {
                await sink.ListenAsync(ct);
                return sink;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                last = e;
                await sink.DisposeAsync();
            }
        }

        throw new InvalidOperationException("The SMTP sink did not start.", last);
    }

    /// <summary>
    /// Makes the next <paramref name="count"/> transactions end with <paramref name="code"/> and
    /// <paramref name="text"/> in reply to the end of <c>DATA</c> instead of accepting the message
    /// (RFC 5321 section 4.2: 4yz is transient, 5yz permanent). Rejected messages are not kept.
    /// </summary>
    public void FailNext(int count, int code = 451, string text = "4.3.0 try again later")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_lock)
        {
            for (var i = 0; i < count; i++)
            {
                _scriptedFailures.Enqueue(new SmtpResponse((SmtpReplyCode)code, text));
            }
        }
    }

    /// <summary>
    /// Makes the next <paramref name="count"/> transactions stop at their <c>RCPT TO</c> (before <c>DATA</c>, so nothing
    /// is accepted) without answering, until <see cref="ReleaseHeld"/> or until the client goes away. Lets a test act at a
    /// known point of a send: kill the client, or let it run into its timeout.
    /// </summary>
    public void HoldNext(int count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_lock)
        {
            _holdsLeft += count;
        }
    }

    /// <summary>Waits until a transaction is being held by <see cref="HoldNext"/>; throws <see cref="MailAssertionException"/> after <paramref name="timeout"/>.</summary>
    public async Task WaitUntilHeldAsync(TimeSpan timeout)
    {
        Task holding;
        lock (_lock)
        {
            holding = _holding.Task;
        }

        if (await Task.WhenAny(holding, Task.Delay(timeout)) != holding)
        {
            throw new MailAssertionException($"No transaction reached RCPT TO within {timeout.TotalSeconds:0.#} s. {Describe()}");
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> sessions have ended; throws <see cref="MailAssertionException"/> after <paramref name="timeout"/>.</summary>
    public async Task WaitForEndedSessionsAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (EndedSessionCount < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new MailAssertionException($"Expected {count} ended SMTP sessions within {timeout}, saw {EndedSessionCount} of {SessionCount}.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Lets every held transaction go on (each then gets its <c>RCPT TO</c> answered).</summary>
    public void ReleaseHeld()
    {
        lock (_lock)
        {
            foreach (var held in _heldNow)
            {
                held.TrySetResult();
            }

            _heldNow.Clear();
        }
    }

    /// <summary>Forgets the accepted messages (the scripted failures stay).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _messages.Clear();
        }
    }

    /// <summary>
    /// Returns the first accepted message (already received or arriving within <paramref name="timeout"/>) that
    /// matches; throws <see cref="MailAssertionException"/> listing what did arrive when none does.
    /// </summary>
    public async Task<ReceivedMail> WaitForMailAsync(Func<ReceivedMail, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                var found = _messages.FirstOrDefault(match);
                if (found is not null)
                {
                    return found;
                }

                changed = _changed.Task;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || await Task.WhenAny(changed, Task.Delay(left)) != changed)
            {
                throw new MailAssertionException($"No matching mail within {timeout.TotalSeconds:0.#} s. {Describe()}");
            }
        }
    }

    /// <summary>Waits for the first accepted message to <paramref name="recipient"/> (compared case-insensitively).</summary>
    public Task<ReceivedMail> WaitForMailToAsync(string recipient, TimeSpan timeout) =>
        WaitForMailAsync(m => m.RcptTo.Contains(recipient, StringComparer.OrdinalIgnoreCase), timeout);

    /// <summary>
    /// Waits <paramref name="quietPeriod"/> and throws <see cref="MailAssertionException"/> as soon as a matching
    /// message has been accepted (including before the call).
    /// </summary>
    public async Task AssertNoMailAsync(Func<ReceivedMail, bool> match, TimeSpan quietPeriod)
    {
        var deadline = DateTime.UtcNow + quietPeriod;
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (_messages.FirstOrDefault(match) is { } found)
                {
                    throw new MailAssertionException(
                        $"Expected no matching mail, got one from '{found.MailFrom}' to '{string.Join(", ", found.RcptTo)}' with subject '{found.Subject}'.");
                }

                changed = _changed.Task;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || await Task.WhenAny(changed, Task.Delay(left)) != changed)
            {
                lock (_lock)
                {
                    if (_messages.FirstOrDefault(match) is null)
                    {
                        return;
                    }
                }
            }
        }
    }

    /// <summary>Stops listening.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _server?.Shutdown();
        await _stop.CancelAsync();
        try
        {
            await _serverTask.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
            // Stopping is all we need.
        }

        _stop.Dispose();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task ListenAsync(CancellationToken ct)
    {
        var builder = new SmtpServerOptionsBuilder()
            .ServerName("chirp-test-smtp")
            .Endpoint(b => b.Endpoint(new IPEndPoint(IPAddress.Loopback, Port)));
        if (_idleTimeout is { } idle)
        {
            builder = builder.CommandWaitTimeout(idle);
        }

        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Store(this));
        services.Add(new HoldingFilter(this));
        _server = new SmtpServer.SmtpServer(builder.Build(), services);
        _server.SessionCreated += (_, _) => Interlocked.Increment(ref _sessions);
        _server.SessionCompleted += (_, _) => Interlocked.Increment(ref _endedSessions);
        _serverTask = _server.StartAsync(_stop.Token);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await FreePort.IsListeningAsync(Port, ct))
        {
            if (_serverTask.IsCompleted)
            {
                await _serverTask;
                throw new InvalidOperationException($"The SMTP sink stopped while binding port {Port}.");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The SMTP sink did not listen on port {Port}.");
            }

            await Task.Delay(10, ct);
        }

        // The probe above was a session too: let it end, then count only the clients' sessions.
        while (Volatile.Read(ref _sessions) == 0 || Volatile.Read(ref _endedSessions) < Volatile.Read(ref _sessions))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The SMTP sink on port {Port} did not end its probe session.");
            }

            await Task.Delay(10, ct);
        }

        Interlocked.Exchange(ref _sessions, 0);
        Interlocked.Exchange(ref _endedSessions, 0);
    }

    private SmtpResponse Save(IMessageTransaction transaction, ReadOnlySequence<byte> buffer)
    {
        lock (_lock)
        {
            if (_scriptedFailures.TryDequeue(out var failure))
            {
                _rejected++;
                return failure;
            }
        }

        var raw = buffer.ToArray();
        MimeMessage message;
        using (var stream = new MemoryStream(raw, writable: false))
        {
            message = MimeMessage.Load(stream);
        }

        var mail = new ReceivedMail(
            Address(transaction.From),
            [.. transaction.To.Select(Address)],
            raw,
            message,
            DateTimeOffset.UtcNow);
        lock (_lock)
        {
            _messages.Add(mail);
            var changed = _changed;
            _changed = NewSignal();
            changed.TrySetResult();
        }

        return SmtpResponse.Ok;
    }

    private async Task HoldIfAskedAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource release;
        lock (_lock)
        {
            if (_holdsLeft == 0)
            {
                return;
            }

            _holdsLeft--;
            release = NewSignal();
            _heldNow.Add(release);
            _holding.TrySetResult();
            _holding = NewSignal();
        }

        try
        {
            // The session's token ends when the client disconnects or the sink stops.
            await release.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            lock (_lock)
            {
                _heldNow.Remove(release);
            }
        }
    }

    private static string Address(IMailbox? mailbox) =>
        mailbox is null || string.IsNullOrEmpty(mailbox.User) ? "" : mailbox.AsAddress();

    private string Describe()
    {
        var messages = Messages;
        return messages.Count == 0
            ? $"No mail was accepted ({RejectedCount} rejected by script)."
            : $"Accepted {messages.Count}: " + string.Join("; ", messages.Select(m => $"to {string.Join(",", m.RcptTo)} '{m.Subject}'"));
    }

    private sealed class HoldingFilter(SmtpSink sink) : MailboxFilter
    {
        public override async Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox @from, CancellationToken cancellationToken)
        {
            await sink.HoldIfAskedAsync(cancellationToken);
            return true;
        }
    }

    private sealed class Store(SmtpSink sink) : MessageStore
    {
        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken) =>
            Task.FromResult(sink.Save(transaction, buffer));
    }
}
