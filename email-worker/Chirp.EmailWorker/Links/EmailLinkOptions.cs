using System.ComponentModel.DataAnnotations;
using System.Net;
using Chirp.Hosting;

namespace Chirp.EmailWorker.Links;

/// <summary>
/// The signed links the worker mails (section <c>EmailLinks</c>): address confirmation and one-click unsubscribe
/// (RFC 8058). Their HMAC keys are their own folder of <c>&lt;kid&gt;.key</c> files (<see cref="HmacKeys"/>), never the
/// access-token keys nor the identity-assertion keys; keep a key in the folder for the unsubscribe lifetime after it
/// stops signing.
/// </summary>
public sealed class EmailLinkOptions : KeyDirectoryOptions
{
    public const string SectionName = "EmailLinks";

    /// <summary>Shortest lifetime allowed for unsubscribe links: mail is read long after it is sent.</summary>
    public static readonly TimeSpan MinUnsubscribeLifetime = TimeSpan.FromDays(60);

    /// <summary>
    /// The gateway's public base URL, e.g. <c>https://chirp.example.com</c>; links are <c>{base}/email/confirm?token=...</c>
    /// and <c>{base}/email/unsubscribe?token=...</c>. HTTPS, except for a loopback host in development.
    /// </summary>
    [Required]
    public string PublicBaseUrl { get; set; } = "";

    /// <summary>How long a confirmation link works.</summary>
    [Range(typeof(TimeSpan), "00:10:00", "30.00:00:00")]
    public TimeSpan ConfirmationLifetime { get; set; } = TimeSpan.FromDays(2);

    /// <summary>How long an unsubscribe link works; at least 60 days.</summary>
    [Range(typeof(TimeSpan), "60.00:00:00", "3650.00:00:00")]
    public TimeSpan UnsubscribeLifetime { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Shortest time between two confirmation mails for one user, so the mutation cannot be used to flood an inbox.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan ConfirmationResendInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>True when <paramref name="value"/> is an absolute http(s) URL without query or fragment, HTTPS unless its host is loopback.</summary>
    public static bool IsValidBaseUrl(string? value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            return false;
        }

        return uri.Scheme == Uri.UriSchemeHttps
            || (uri.Scheme == Uri.UriSchemeHttp && (uri.IsLoopback || (IPAddress.TryParse(uri.Host, out var ip) && IPAddress.IsLoopback(ip))));
    }
}
