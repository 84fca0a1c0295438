using System.Text;
using MimeKit;
using MimeKit.Text;

namespace Chirp.EmailWorker.Mail;

/// <summary>Bodies shared by every mail the worker builds.</summary>
public static class MailParts
{
    /// <summary>
    /// <c>multipart/alternative</c> of a UTF-8 quoted-printable <c>text/plain</c> part and a <c>text/html</c> part, the
    /// plain one first (RFC 2046 section 5.1.4: the last part is the preferred rendering). The caller escapes the HTML.
    /// </summary>
    public static MultipartAlternative Alternative(string text, string html)
    {
        var plain = new TextPart(TextFormat.Plain) { ContentTransferEncoding = ContentEncoding.QuotedPrintable };
        plain.SetText(Encoding.UTF8, text);
        var rich = new TextPart(TextFormat.Html) { ContentTransferEncoding = ContentEncoding.QuotedPrintable };
        rich.SetText(Encoding.UTF8, html);
        return new MultipartAlternative { plain, rich };
    }

    /// <summary>The start of an HTML mail body up to and including <c>&lt;body&gt;</c>.</summary>
    public const string HtmlStart =
        "<!doctype html><html><head><meta charset=\"utf-8\"></head><body style=\"font-family:sans-serif;line-height:1.5\">";

    /// <summary>The end of an HTML mail body.</summary>
    public const string HtmlEnd = "</body></html>";
}
