using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
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

/// <summary>Submits messages with MailKit to <c>Smtp:Host</c>:<c>Smtp:Port</c>, one connection per message.</summary>
public sealed class SmtpMailSender(IOptions<SmtpOptions> options)
{
    /// <summary>
    /// Sends <paramref name="message"/> and classifies the outcome; never throws for SMTP or network failures.
    /// Throws <see cref="OperationCanceledException"/> only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public async Task<SendResult> SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        var o = options.Value;
        using var client = new SmtpClient { Timeout = (int)o.Timeout.TotalMilliseconds };
        try
        {
            await client.ConnectAsync(o.Host, o.Port, o.Security, cancellationToken);
            if (!string.IsNullOrEmpty(o.UserName))
            {
                await client.AuthenticateAsync(o.UserName, o.Password ?? "", cancellationToken);
            }

            var reply = await client.SendAsync(message, cancellationToken);
            await client.DisconnectAsync(quit: true, cancellationToken);
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
        catch (Exception e) when (e is SmtpProtocolException or IOException or SocketException or TimeoutException
            or OperationCanceledException or ServiceNotConnectedException or MailKit.Security.AuthenticationException
            or MailKit.Security.SslHandshakeException)
        {
            return new SendResult(SendOutcome.Transient, $"{e.GetType().Name}: {e.Message}");
        }
    }
}
