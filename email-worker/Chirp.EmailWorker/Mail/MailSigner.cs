using Microsoft.Extensions.Options;
using MimeKit;
using MimeKit.Cryptography;

namespace Chirp.EmailWorker.Mail;

/// <summary>Adds a DKIM-Signature (RFC 6376) to each outgoing message with MimeKit's <see cref="DkimSigner"/>.</summary>
public sealed class MailSigner(IOptions<DkimOptions> options)
{
    /// <summary>
    /// The signed header fields. RFC 8058 section 3 requires <c>List-Unsubscribe</c> and <c>List-Unsubscribe-Post</c>
    /// to be covered, so a receiver can trust the one-click link; a field that a message lacks is signed as absent.
    /// </summary>
    public static readonly HeaderId[] SignedHeaders =
    [
        HeaderId.From, HeaderId.To, HeaderId.Subject, HeaderId.Date, HeaderId.MessageId,
        HeaderId.ListUnsubscribe, HeaderId.ListUnsubscribePost, HeaderId.MimeVersion, HeaderId.ContentType,
    ];

    private readonly DkimSigner _signer = options.Value.CreateSigner();

    /// <summary>
    /// Encodes <paramref name="message"/> for 7-bit transport (so no relay re-encodes the signed body) and signs it.
    /// Call after the last change to the message.
    /// </summary>
    public void Sign(MimeMessage message)
    {
        message.Prepare(EncodingConstraint.SevenBit);
        _signer.Sign(message, SignedHeaders);
    }
}
