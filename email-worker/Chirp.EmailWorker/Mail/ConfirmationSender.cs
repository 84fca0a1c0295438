using Chirp.EmailWorker.Events;
using Chirp.EmailWorker.Links;
using Microsoft.Extensions.Options;

namespace Chirp.EmailWorker.Mail;

/// <summary>Mails the confirmation link for a newly set address (see <see cref="ConfirmationMail"/>).</summary>
public sealed class ConfirmationSender(
    EmailLinks links,
    SmtpMailSender sender,
    IOptions<SmtpOptions> smtp,
    IOptions<EmailLinkOptions> options,
    TimeProvider time,
    ILogger<ConfirmationSender> logger)
{
    private readonly MimeKit.MailboxAddress _from = smtp.Value.ParseFrom();

    /// <summary>
    /// Sends the confirmation mail for <paramref name="address"/> of <paramref name="userId"/>; true when the SMTP
    /// server accepted it. Failures are logged without the address.
    /// </summary>
    public async Task<bool> SendAsync(Guid userId, string address, CancellationToken cancellationToken)
    {
        var lifetime = options.Value.ConfirmationLifetime;
        var message = ConfirmationMail.Create(_from, address, links.ConfirmUrl(userId, address), lifetime, time.GetUtcNow());
        var result = await sender.SendAsync(message, cancellationToken);
        if (result.Outcome != SendOutcome.Accepted)
        {
            logger.LogWarning("Could not send the address confirmation mail of user {UserId}: {Detail}.", userId, result.Detail);
            return false;
        }

        logger.LogInformation("Sent the address confirmation mail of user {UserId}.", userId);
        return true;
    }
}
