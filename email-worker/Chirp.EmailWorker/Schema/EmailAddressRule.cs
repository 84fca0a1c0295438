using Chirp.EmailWorker.Data;
using MimeKit;

namespace Chirp.EmailWorker.Schema;

/// <summary>
/// What <c>updateEmailSettings</c> accepts as an address: one plain addr-spec (RFC 5322 section 3.4.1) as MimeKit
/// parses it strictly, with no display name, comment, angle brackets or route, at most
/// <see cref="EmailDbContext.MaxAddressLength"/> characters and no control characters (so CR/LF can never reach
/// a header or an SMTP command).
/// </summary>
public static class EmailAddressRule
{
    private static readonly ParserOptions Strict = new()
    {
        AddressParserComplianceMode = RfcComplianceMode.Strict,
        AllowAddressesWithoutDomain = false,
    };

    /// <summary>Null when <paramref name="address"/> is acceptable, else a message for a <c>BAD_USER_INPUT</c> error.</summary>
    public static string? Validate(string address)
    {
        if (address.Length == 0)
        {
            return "The address must not be empty; send null to remove it.";
        }

        if (address.Length > EmailDbContext.MaxAddressLength)
        {
            return $"The address must be at most {EmailDbContext.MaxAddressLength} characters.";
        }

        if (address.Any(char.IsControl))
        {
            return "The address must not contain control characters such as CR or LF.";
        }

        if (!MailboxAddress.TryParse(Strict, address, out var mailbox)
            || !string.IsNullOrEmpty(mailbox.Name)
            || mailbox.Route.Count > 0
            || !string.Equals(mailbox.Address, address, StringComparison.Ordinal))
        {
            return "The address must be a plain address such as name@example.com.";
        }

        var at = address.LastIndexOf('@');
        return at <= 0 || at == address.Length - 1 ? "The address must be a plain address such as name@example.com." : null;
    }
}
