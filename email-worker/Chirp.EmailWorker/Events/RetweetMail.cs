using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Chirp.Contracts;
using MimeKit;
using MimeKit.Text;

namespace Chirp.EmailWorker.Events;

/// <summary>
/// Builds the mail that tells a tweet's author about a retweet. Header values are set only through MimeKit's
/// typed properties, which encode non-ASCII as RFC 2047 encoded words and never let a value start a new header
/// line (RFC 5322 section 2.2); control characters in user-supplied names are replaced before that, so a display
/// name such as <c>"Eve\r\nBcc: x"</c> stays one line of one header.
/// </summary>
public static class RetweetMail
{
    /// <summary>Domain part of every <c>Message-ID</c> this service generates.</summary>
    public const string MessageIdDomain = "chirp";

    /// <summary>
    /// The mail for <paramref name="e"/> to <paramref name="recipient"/>: <c>From</c> <paramref name="from"/>, a subject
    /// naming the retweeter, a UTF-8 quoted-printable text body quoting the tweet, and
    /// <see cref="MessageIdFor"/> as <c>Message-ID</c>, so a repeated send of the same event is recognisable.
    /// </summary>
    public static MimeMessage Create(TweetRetweeted e, MailboxAddress from, string recipient, DateTimeOffset now)
    {
        var name = SingleLine(e.RetweetedByDisplayName);
        var handle = SingleLine(e.RetweetedByHandle);

        var message = new MimeMessage();
        message.From.Add(from.Clone());
        message.To.Add(new MailboxAddress(string.Empty, recipient));
        message.Subject = $"{name} (@{handle}) retweeted your tweet";
        message.MessageId = MessageIdFor(e.EventId, recipient);
        message.Date = now;
        // RFC 3834: an automatic notification, so auto-responders stay quiet.
        message.Headers.Add("Auto-Submitted", "auto-generated");

        var body = new StringBuilder()
            .Append(name).Append(" (@").Append(handle).Append(") retweeted your tweet:").Append('\n')
            .Append('\n');
        foreach (var line in e.TweetText.ReplaceLineEndings("\n").Split('\n'))
        {
            body.Append("> ").Append(line).Append('\n');
        }

        body.Append('\n').Append("You get this mail because you asked Chirp to tell you about retweets.").Append('\n');

        var text = new TextPart(TextFormat.Plain) { ContentTransferEncoding = ContentEncoding.QuotedPrintable };
        text.SetText(Encoding.UTF8, body.ToString());
        message.Body = text;
        return message;
    }

    /// <summary>
    /// <c>{eventId}.{first 16 hex digits of SHA-256(lower-cased recipient)}@chirp</c> (without angle brackets): the
    /// same for every send of one event to one recipient, and without the address in clear.
    /// </summary>
    public static string MessageIdFor(string eventId, string recipient)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(recipient.ToLowerInvariant()));
        return string.Create(CultureInfo.InvariantCulture, $"{eventId}.{Convert.ToHexStringLower(hash)[..16]}@{MessageIdDomain}");
    }

    /// <summary>Replaces every control character (CR, LF, TAB, C1...) with a space so the text is one line.</summary>
    public static string SingleLine(string text)
    {
        if (!text.Any(char.IsControl))
        {
            return text;
        }

        return string.Create(text.Length, text, (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? ' ' : source[i];
            }
        });
    }
}
