using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Chirp.Contracts;
using Chirp.EmailWorker.Mail;
using MimeKit;

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

    /// <summary>Most text elements of the tweet quoted in the subject before it is cut with an ellipsis.</summary>
    public const int SubjectQuoteLength = 40;

    /// <summary>
    /// The mail for <paramref name="e"/> to <paramref name="recipient"/>: <c>From</c> <paramref name="from"/>; a subject
    /// naming the retweeter (display name and handle) and quoting the start of the tweet; a <c>multipart/alternative</c>
    /// body (UTF-8 text, and HTML in which the display name and tweet text are escaped) that quotes the whole tweet and
    /// links to <paramref name="unsubscribeUrl"/>; the RFC 8058 headers <c>List-Unsubscribe</c> and
    /// <c>List-Unsubscribe-Post: List-Unsubscribe=One-Click</c>; and <see cref="MessageIdFor"/> as <c>Message-ID</c>, so
    /// a repeated send of the same event is recognisable.
    /// </summary>
    public static MimeMessage Create(TweetRetweeted e, MailboxAddress from, string recipient, string unsubscribeUrl, DateTimeOffset now)
    {
        var name = SingleLine(e.RetweetedByDisplayName);
        var handle = SingleLine(e.RetweetedByHandle);

        var message = new MimeMessage();
        message.From.Add(from.Clone());
        message.To.Add(new MailboxAddress(string.Empty, recipient));
        message.Subject = SubjectFor(name, handle, e.TweetText);
        message.MessageId = MessageIdFor(e.EventId, recipient);
        message.Date = now;
        // RFC 3834: an automatic notification, so auto-responders stay quiet.
        message.Headers.Add("Auto-Submitted", "auto-generated");
        // RFC 2369 and RFC 8058 section 3.1: one HTTPS URI, and the one-click marker.
        message.Headers.Add(HeaderId.ListUnsubscribe, $"<{unsubscribeUrl}>");
        message.Headers.Add(HeaderId.ListUnsubscribePost, "List-Unsubscribe=One-Click");

        var lines = e.TweetText.ReplaceLineEndings("\n").Split('\n');
        var text = new StringBuilder()
            .Append(name).Append(" (@").Append(handle).Append(") retweeted your tweet:").Append('\n')
            .Append('\n');
        foreach (var line in lines)
        {
            text.Append("> ").Append(line).Append('\n');
        }

        text.Append('\n')
            .Append("You get this mail because you asked Chirp to tell you about retweets.").Append('\n')
            .Append("Stop retweet mail: ").Append(unsubscribeUrl).Append('\n');

        var html = new StringBuilder(MailParts.HtmlStart)
            .Append("<p><strong>").Append(WebUtility.HtmlEncode(name)).Append("</strong> (@").Append(WebUtility.HtmlEncode(handle))
            .Append(") retweeted your tweet:</p>")
            .Append("<blockquote style=\"border-left:3px solid #ccc;margin:0;padding-left:1em\">")
            .AppendJoin("<br>", lines.Select(WebUtility.HtmlEncode))
            .Append("</blockquote>")
            .Append("<p>You get this mail because you asked Chirp to tell you about retweets. <a href=\"")
            .Append(WebUtility.HtmlEncode(unsubscribeUrl)).Append("\">Stop retweet mail</a>.</p>")
            .Append(MailParts.HtmlEnd);
        message.Body = MailParts.Alternative(text.ToString(), html.ToString());
        return message;
    }

    /// <summary>
    /// <c>{name} (@{handle}) retweeted your tweet "{start of the tweet}"</c>: the tweet on one line, cut after
    /// <see cref="SubjectQuoteLength"/> text elements (never inside a surrogate pair or combining sequence).
    /// </summary>
    public static string SubjectFor(string name, string handle, string tweetText)
    {
        var quote = string.Join(' ', SingleLine(tweetText).Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var info = new StringInfo(quote);
        if (info.LengthInTextElements > SubjectQuoteLength)
        {
            quote = info.SubstringByTextElements(0, SubjectQuoteLength).TrimEnd() + "…";
        }

        return $"{name} (@{handle}) retweeted your tweet \"{quote}\"";
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
