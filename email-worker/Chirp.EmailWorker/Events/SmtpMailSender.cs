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
/// DKIM-signs (<see cref="MailSigner"/>) and submits messages with MailKit to <c>Smtp:Host</c>:<c>Smtp:Port</c>, one
/// connection per message. Every SMTP call (connect, authenticate, send, quit) gets its own <c>Smtp:Timeout</c>,
/// enforced by cancelling the call: MailKit's own socket timeout covers single reads and writes only, so a server that
/// trickles bytes could otherwise hold a send for ever, past <see cref="EmailWorkerOptions.ClaimIdleTime"/>.
/// </summary>
public sealed class SmtpMailSender(IOptions<SmtpOptions> options, MailSigner signer)
{
    /// <summary>
    /// Signs and sends <paramref name="message"/> and classifies the outcome; never throws for SMTP or network failures
    /// or timeouts (all <see cref="SendOutcome.Transient"/> unless the server answered 5yz). Throws
    /// <see cref="OperationCanceledException"/> only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public async Task<SendResult> SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        var o = options.Value;
        signer.Sign(message);
        using var client = new SmtpClient { Timeout = (int)o.Timeout.TotalMilliseconds };
        var step = "connect";
        try
        {
            await WithTimeout(ct => client.ConnectAsync(o.Host, o.Port, o.Security, ct), o.Timeout, cancellationToken);
            if (!string.IsNullOrEmpty(o.UserName))
            {
                step = "authenticate";
                await WithTimeout(ct => client.AuthenticateAsync(o.UserName, o.Password ?? "", ct), o.Timeout, cancellationToken);
            }

            step = "send";
            var reply = "";
            await WithTimeout(async ct => reply = await client.SendAsync(message, ct), o.Timeout, cancellationToken);
            step = "quit";
            try
            {
                await WithTimeout(ct => client.DisconnectAsync(quit: true, ct), o.Timeout, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The server accepted the message already; a failed QUIT changes nothing about that.
            }

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
        catch (Exception e) when (e is SmtpProtocolException or IOException or SocketException or TimeoutException
            or ServiceNotConnectedException or MailKit.Security.AuthenticationException
            or MailKit.Security.SslHandshakeException)
        {
            return new SendResult(SendOutcome.Transient, $"{step} failed: {e.Message}");
        }
    }

    private static async Task WithTimeout(Func<CancellationToken, Task> call, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        await call(cts.Token);
    }
}
