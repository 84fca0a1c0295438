using System.Globalization;
using System.Net;
using MimeKit;

namespace Chirp.EmailWorker.Mail;

/// <summary>The mail that asks the owner of a newly set address to confirm it.</summary>
public static class ConfirmationMail
{
    /// <summary>
    /// The confirmation mail to <paramref name="recipient"/> with <paramref name="confirmUrl"/>, which works for
    /// <paramref name="lifetime"/>. The link leads to a page with a button; only pressing it confirms.
    /// </summary>
    public static MimeMessage Create(MailboxAddress from, string recipient, string confirmUrl, TimeSpan lifetime, DateTimeOffset now)
    {
        var message = new MimeMessage();
        message.From.Add(from.Clone());
        message.To.Add(new MailboxAddress(string.Empty, recipient));
        message.Subject = "Confirm your address for Chirp mail";
        message.Date = now;
        message.Headers.Add("Auto-Submitted", "auto-generated");

        var hours = (int)Math.Round(lifetime.TotalHours);
        var validity = hours >= 48
            ? string.Create(CultureInfo.InvariantCulture, $"{hours / 24} days")
            : string.Create(CultureInfo.InvariantCulture, $"{hours} hours");
        var text =
            $"Someone, probably you, set {recipient} as the address for mail from Chirp.\n\n" +
            $"Open this link and press the button there to confirm it (the link works for {validity}):\n{confirmUrl}\n\n" +
            "If it was not you, ignore this mail: Chirp sends nothing else to this address unless it is confirmed.\n";
        var html =
            MailParts.HtmlStart +
            $"<p>Someone, probably you, set {WebUtility.HtmlEncode(recipient)} as the address for mail from Chirp.</p>" +
            $"<p><a href=\"{WebUtility.HtmlEncode(confirmUrl)}\">Confirm this address</a> (the link works for {validity}).</p>" +
            "<p>If it was not you, ignore this mail: Chirp sends nothing else to this address unless it is confirmed.</p>" +
            MailParts.HtmlEnd;
        message.Body = MailParts.Alternative(text, html);
        return message;
    }
}
