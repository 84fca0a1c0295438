using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using Chirp.EmailWorker.Mail;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Chirp.EmailWorker.Events;

/// <summary>How a send attempt ended (RFC 5321 section 4.2.1: 2yz accepted, 4yz transient, 5yz permanent).</summary>
public enum SendOutcome
{
    /// <summary>The server accepted the message.</summary>
    Accepted,

    /// <summary>A 4yz reply, a refused or broken connection, or a timeout: worth trying again later.</summary>
    Transient,

    /// <summary>A 5yz reply: trying again will not help.</summary>
    Permanent,
}

/// <summary>The result of <see cref="SmtpMailSender.SendAsync"/> with the server's reply or the error, for logs and dead letters.</summary>
public readonly record struct SendResult(SendOutcome Outcome, string Detail);

/// <summary>
/// DKIM-signs (<see cref="MailSigner"/>) and submits messages with MailKit to <c>Smtp:Host</c>:<c>Smtp:Port</c>.
/// One connection is kept open and reused for consecutive messages (RFC 5321 section 3.3: a session carries any number
/// of mail transactions), so a burst of mail pays for connect, <c>EHLO</c> and authentication once; it is closed with
/// <c>QUIT</c> after <see cref="SmtpOptions.KeepAlive"/> without use (<see cref="CloseIfIdleAsync"/>), and dropped after
/// any failure, since its state is then unknown. A connection unused for a while is probed with <c>NOOP</c> before the
/// next message, so a server that timed it out costs a reconnect, not a failed delivery. A send that finds the kept
/// connection busy (a confirmation mail while the worker is mailing) uses a connection of its own.
/// Every SMTP call (connect, authenticate, <c>NOOP</c>, send, quit) gets its own <c>Smtp:Timeout</c>, enforced by
/// cancelling the call: MailKit's own socket timeout covers single reads and writes only, so a server that trickles
/// bytes could otherwise hold a send for ever, past <see cref="EmailWorkerOptions.ClaimIdleTime"/>.
/// </summary>
public sealed class SmtpMailSender(IOptions<SmtpOptions> options, MailSigner signer, TimeProvider time) : IAsyncDisposable
{
    /// <summary>A kept connection idle for longer than this is checked with <c>NOOP</c> before it carries a message.</summary>
    private static readonly TimeSpan ProbeAfter = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _keptLock = new(1, 1);
    private SmtpClient? _kept;
    private long _keptLastUsed;

    /// <summary>
    /// Signs and sends <paramref name="message"/> and classifies the outcome; never throws for SMTP or network failures
    /// or timeouts (all <see cref="SendOutcome.Transient"/> unless the server answered 5yz). Throws
    /// <see cref="OperationCanceledException"/> only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public async Task<SendResult> SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        signer.Sign(message);
        if (options.Value.KeepAlive <= TimeSpan.Zero || !await _keptLock.WaitAsync(0, cancellationToken))
        {
            using var own = new SmtpClient();
            var result = await SendOnAsync(own, message, cancellationToken);
            await QuitAsync(own, cancellationToken);
            return result;
        }

        try
        {
            var client = await KeptConnectionAsync(cancellationToken);
            var result = await SendOnAsync(client, message, cancellationToken);
            if (result.Outcome == SendOutcome.Accepted)
            {
                _keptLastUsed = time.GetTimestamp();
            }
            else
            {
                Drop();
            }

            return result;
        }
        catch
        {
            Drop();
            throw;
        }
        finally
        {
            _keptLock.Release();
        }
    }

    /// <summary>
    /// Closes the kept connection with <c>QUIT</c> when it has been unused for <see cref="SmtpOptions.KeepAlive"/>; does
    /// nothing while a send holds it. The worker calls this whenever it runs out of work.
    /// </summary>
    public async Task CloseIfIdleAsync(CancellationToken cancellationToken)
    {
        if (_kept is null || !await _keptLock.WaitAsync(0, cancellationToken))
        {
            return;
        }

        try
        {
            if (_kept is { } client && time.GetElapsedTime(_keptLastUsed) >= options.Value.KeepAlive)
            {
                _kept = null;
                await QuitAsync(client, cancellationToken);
                client.Dispose();
            }
        }
        finally
        {
            _keptLock.Release();
        }
    }

    /// <summary>Closes the kept connection with <c>QUIT</c> (bounded by <c>Smtp:Timeout</c>).</summary>
    public async ValueTask DisposeAsync()
    {
        await _keptLock.WaitAsync();
        try
        {
            if (_kept is { } client)
            {
                _kept = null;
                await QuitAsync(client, CancellationToken.None);
                client.Dispose();
            }
        }
        finally
        {
            _keptLock.Release();
        }
    }

    /// <summary>The kept client, probed with <c>NOOP</c> when it idled past <see cref="ProbeAfter"/>; a new one when that fails.</summary>
    private async Task<SmtpClient> KeptConnectionAsync(CancellationToken cancellationToken)
    {
        if (_kept is { IsConnected: true } client && time.GetElapsedTime(_keptLastUsed) > ProbeAfter)
        {
            try
            {
                await WithTimeout(client.NoOpAsync, options.Value.Timeout, cancellationToken);
            }
            catch (Exception e) when (IsConnectionFailure(e) || e is SmtpCommandException
                || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                // The server closed it while idle (RFC 5321 section 4.5.3.2.7 lets it after 5 minutes): start over.
                Drop();
            }
        }

        if (_kept is not { IsConnected: true })
        {
            Drop();
            _kept = new SmtpClient();
        }

        return _kept;
    }

    private void Drop()
    {
        var client = _kept;
        _kept = null;
        client?.Dispose();
    }

    /// <summary>Connects (and authenticates) <paramref name="client"/> when it is not connected, then sends.</summary>
    private async Task<SendResult> SendOnAsync(SmtpClient client, MimeMessage message, CancellationToken cancellationToken)
    {
        var o = options.Value;
        client.Timeout = (int)o.Timeout.TotalMilliseconds;
        var step = "connect";
        try
        {
            if (!client.IsConnected)
            {
                await WithTimeout(ct => client.ConnectAsync(o.Host, o.Port, o.Security, ct), o.Timeout, cancellationToken);
                if (!string.IsNullOrEmpty(o.UserName))
                {
                    step = "authenticate";
                    await WithTimeout(ct => client.AuthenticateAsync(o.UserName, o.Password ?? "", ct), o.Timeout, cancellationToken);
                }
            }

            step = "send";
            var reply = "";
            await WithTimeout(async ct => reply = await client.SendAsync(message, ct), o.Timeout, cancellationToken);
            return new SendResult(SendOutcome.Accepted, reply);
        }
        catch (SmtpCommandException e)
        {
            var code = (int)e.StatusCode;
            return new SendResult(code is >= 500 and < 600 ? SendOutcome.Permanent : SendOutcome.Transient, $"{code} {e.Message}");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            return new SendResult(SendOutcome.Transient, $"no answer to {step} within {o.Timeout.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (IsConnectionFailure(e))
        {
            return new SendResult(SendOutcome.Transient, $"{step} failed: {e.Message}");
        }
    }

    /// <summary>Ends a session politely; the messages it carried are already accepted, so a failed <c>QUIT</c> changes nothing.</summary>
    private async Task QuitAsync(SmtpClient client, CancellationToken cancellationToken)
    {
        if (!client.IsConnected)
        {
            return;
        }

        try
        {
            await WithTimeout(ct => client.DisconnectAsync(quit: true, ct), options.Value.Timeout, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static bool IsConnectionFailure(Exception e) =>
        e is SmtpProtocolException or IOException or SocketException or TimeoutException
            or ServiceNotConnectedException or MailKit.Security.AuthenticationException
            or MailKit.Security.SslHandshakeException;

    private static async Task WithTimeout(Func<CancellationToken, Task> call, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        await call(cts.Token);
    }
}
