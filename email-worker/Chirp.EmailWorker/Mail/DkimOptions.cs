using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MimeKit;
using MimeKit.Cryptography;

namespace Chirp.EmailWorker.Mail;

/// <summary>
/// DKIM signing of every mail (section <c>Dkim</c>; RFC 6376). The private key is a PEM file (RSA, PKCS#1 or PKCS#8)
/// mounted from a secret; the matching public key is published as the TXT record <c>{Selector}._domainkey.{Domain}</c>.
/// </summary>
public sealed class DkimOptions
{
    public const string SectionName = "Dkim";

    /// <summary>The signing domain (<c>d=</c>); the <c>From</c> address must be in it or below it, so receivers see the signature as aligned.</summary>
    [Required]
    public string Domain { get; set; } = "";

    /// <summary>The selector (<c>s=</c>) that names the DNS record of the public key.</summary>
    [Required]
    public string Selector { get; set; } = "";

    /// <summary>Path of the PEM private key.</summary>
    [Required]
    public string PrivateKeyFile { get; set; } = "";

    /// <summary>The signer for these options.</summary>
    /// <exception cref="IOException">The key file cannot be read.</exception>
    /// <exception cref="FormatException">The file holds no private key MimeKit can use.</exception>
    public DkimSigner CreateSigner() => new(PrivateKeyFile, Domain, Selector, DkimSignatureAlgorithm.RsaSha256)
    {
        // Relaxed survives the re-folding and whitespace changes relays make (RFC 6376 section 3.4).
        HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
    };

    /// <summary>Null when the key loads and <paramref name="from"/>'s domain is <see cref="Domain"/> or below it; else why not (never the key).</summary>
    public string? Problem(string from)
    {
        try
        {
            CreateSigner();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentException or NotSupportedException)
        {
            return "Dkim:PrivateKeyFile is missing or holds no RSA private key.";
        }

        if (!MailboxAddress.TryParse(from, out var mailbox))
        {
            return "Smtp:From is not a mailbox.";
        }

        var domain = mailbox.Domain.ToLowerInvariant();
        var d = Domain.ToLowerInvariant();
        return domain == d || domain.EndsWith("." + d, StringComparison.Ordinal)
            ? null
            : "Dkim:Domain must be the domain of Smtp:From or a parent of it.";
    }
}

/// <summary>Checks at start that the DKIM key loads and matches the <c>From</c> domain, naming what is wrong.</summary>
public sealed class DkimOptionsValidation(IOptions<SmtpOptions> smtp) : IValidateOptions<DkimOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, DkimOptions options) =>
        string.IsNullOrEmpty(options.PrivateKeyFile) || string.IsNullOrEmpty(options.Domain)
            ? ValidateOptionsResult.Skip
            : options.Problem(smtp.Value.From) is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
}
