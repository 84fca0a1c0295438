using System.ComponentModel.DataAnnotations;

namespace Chirp.Gateway.Auth;

/// <summary>Access and refresh token settings (section <c>Tokens</c>).</summary>
public sealed class TokenOptions
{
    public const string SectionName = "Tokens";

    /// <summary>
    /// Folder of PKCS#8 PEM files, each an EC P-256 private key; the file name without <c>.pem</c> is the key's
    /// <c>kid</c>. Every key verifies; <see cref="SigningKeyId"/> (or the last kid in ordinal order) signs.
    /// </summary>
    [Required]
    public string KeyDirectory { get; set; } = "";

    /// <summary>
    /// The kid that signs new tokens once it is active; null picks the last active kid in ordinal order (newest by
    /// naming convention, e.g. <c>2026-12-02</c>).
    /// </summary>
    public string? SigningKeyId { get; set; }

    /// <summary>
    /// How long a key added while the gateway runs only verifies before it may sign (default 5 minutes): longer than
    /// the time every replica takes to see a changed key folder (Secret propagation plus <see cref="KeyPollInterval"/>).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan KeyActivationDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the key folder is read again besides watching it (default 30 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan KeyPollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The <c>iss</c> claim and RFC 8414 issuer.</summary>
    [Required]
    public string Issuer { get; set; } = "https://chirp.local";

    /// <summary>The <c>aud</c> claim.</summary>
    [Required]
    public string Audience { get; set; } = "chirp-api";

    /// <summary>Access token lifetime (default 15 minutes).</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Refresh token lifetime (default 30 days).</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Clock skew allowed when validating <c>exp</c> and <c>nbf</c>; docs/architecture.md section 4 caps it at 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);
}
