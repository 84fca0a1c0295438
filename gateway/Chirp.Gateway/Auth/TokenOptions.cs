using System.ComponentModel.DataAnnotations;
using Chirp.Hosting;

namespace Chirp.Gateway.Auth;

/// <summary>
/// Access and refresh token settings (section <c>Tokens</c>). The signing keys are the PKCS#8 PEM files of
/// <see cref="KeyDirectoryOptions.KeyDirectory"/>, each an EC P-256 private key named <c>&lt;kid&gt;.pem</c>.
/// </summary>
public sealed class TokenOptions : KeyDirectoryOptions
{
    public const string SectionName = "Tokens";

    /// <summary>The <c>iss</c> claim and RFC 8414 issuer.</summary>
    [Required]
    public string Issuer { get; set; } = "https://chirp.local";

    /// <summary>The <c>aud</c> claim.</summary>
    [Required]
    public string Audience { get; set; } = "chirp-api";

    /// <summary>
    /// How many validated access tokens the gateway remembers so that later requests skip the signature check (default
    /// 10,000, about 5 KB each; 0 checks every signature). See <see cref="StrictTokenHandler"/>.
    /// </summary>
    [Range(0, 1_000_000)]
    public int ValidatedTokenCacheSize { get; set; } = 10_000;

    /// <summary>Access token lifetime (default 15 minutes).</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Refresh token lifetime (default 30 days).</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Clock skew allowed when validating <c>exp</c> and <c>nbf</c>; docs/architecture.md section 4 caps it at 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);
}
