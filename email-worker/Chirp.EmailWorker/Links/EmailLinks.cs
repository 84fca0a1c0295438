using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Chirp.Hosting;
using Chirp.IdentityAssertions;
using Microsoft.Extensions.Options;

namespace Chirp.EmailWorker.Links;

/// <summary>What a signed link is for; part of what is signed, so a link for one cannot be used for the other.</summary>
public enum LinkPurpose
{
    /// <summary>Confirms that the user owns the address the link was mailed to.</summary>
    Confirm,

    /// <summary>Turns retweet mail off (RFC 8058 one-click unsubscribe).</summary>
    Unsubscribe,
}

/// <summary>How a presented link token checked out.</summary>
public enum LinkStatus
{
    /// <summary>Signed by a known key, for the expected purpose, not expired.</summary>
    Valid,

    /// <summary>Signed by a known key, but past its expiry.</summary>
    Expired,

    /// <summary>Malformed, altered, signed by an unknown key, or for another purpose.</summary>
    Invalid,
}

/// <summary>The outcome of <see cref="EmailLinks.Check"/>; <see cref="UserId"/> and <see cref="Address"/> are set only when valid.</summary>
public readonly record struct LinkCheck(LinkStatus Status, Guid UserId, string? Address);

/// <summary>
/// Issues and checks the worker's signed, expiring links (docs/architecture.md section 6, <c>/email/*</c>). A token is
/// <c>kid "." base64url(payload) "." base64url(HMAC-SHA256(kid "." base64url(payload)))</c> where the payload is the
/// UTF-8 text <c>purpose LF user-id LF expiry (Unix seconds) LF address</c>. The keys are a folder read by
/// <see cref="HmacKeys"/>: old keys keep verifying after rotation, one signs.
/// </summary>
public sealed class EmailLinks : IDisposable
{
    /// <summary>Longest token accepted; bounds the work done for a request.</summary>
    public const int MaxTokenLength = 1024;

    private readonly KeyRing<byte[]> _keys;
    private readonly EmailLinkOptions _options;
    private readonly TimeProvider _time;
    private readonly string _base;

    /// <summary>Builds the signer from validated options.</summary>
    /// <exception cref="InvalidOperationException">The key folder does not load (see <see cref="HmacKeys.Load"/>) or holds an identity-assertion key.</exception>
    public EmailLinks(IOptions<EmailLinkOptions> options, IdentityAssertionCodec identity, TimeProvider time, ILogger<EmailLinks> logger)
    {
        _options = options.Value;
        _keys = HmacKeys.Load(_options, EmailLinkOptions.SectionName, time, logger);
        if (identity.SharesKeyWith(_keys))
        {
            _keys.Dispose();
            throw new InvalidOperationException($"{EmailLinkOptions.SectionName}:KeyDirectory must not hold an IdentityAssertion key.");
        }

        _time = time;
        _base = _options.PublicBaseUrl.TrimEnd('/');
    }

    /// <summary>The public URL that confirms <paramref name="address"/> for <paramref name="userId"/>, valid for the confirmation lifetime.</summary>
    public string ConfirmUrl(Guid userId, string address) =>
        $"{_base}/email/confirm?token={Issue(LinkPurpose.Confirm, userId, address, _options.ConfirmationLifetime)}";

    /// <summary>The public URL that turns retweet mail off for <paramref name="userId"/>, valid for the unsubscribe lifetime (at least 60 days).</summary>
    public string UnsubscribeUrl(Guid userId) =>
        $"{_base}/email/unsubscribe?token={Issue(LinkPurpose.Unsubscribe, userId, "", _options.UnsubscribeLifetime)}";

    /// <summary>Checks <paramref name="token"/> for <paramref name="purpose"/>; never throws on bad input.</summary>
    public LinkCheck Check(LinkPurpose purpose, string? token)
    {
        var invalid = new LinkCheck(LinkStatus.Invalid, Guid.Empty, null);
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength)
        {
            return invalid;
        }

        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return invalid;
        }

        byte[] payload, mac;
        try
        {
            payload = Base64Url.DecodeFromChars(parts[1]);
            mac = Base64Url.DecodeFromChars(parts[2]);
        }
        catch (FormatException)
        {
            return invalid;
        }

        if (!_keys.Verify(parts[0], Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), mac))
        {
            return invalid;
        }

        var fields = Encoding.UTF8.GetString(payload).Split('\n', 4);
        if (fields.Length != 4
            || fields[0] != Name(purpose)
            || !Guid.TryParse(fields[1], out var userId)
            || !long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var expiry))
        {
            return invalid;
        }

        return _time.GetUtcNow().ToUnixTimeSeconds() > expiry
            ? new LinkCheck(LinkStatus.Expired, Guid.Empty, null)
            : new LinkCheck(LinkStatus.Valid, userId, fields[3]);
    }

    private string Issue(LinkPurpose purpose, Guid userId, string address, TimeSpan lifetime)
    {
        var expiry = (_time.GetUtcNow() + lifetime).ToUnixTimeSeconds();
        var payload = string.Create(CultureInfo.InvariantCulture, $"{Name(purpose)}\n{userId:D}\n{expiry}\n{address}");
        var key = _keys.Signing;
        var signed = key.Kid + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload));
        return signed + "." + Base64Url.EncodeToString(key.Mac(Encoding.ASCII.GetBytes(signed)));
    }

    /// <inheritdoc />
    public void Dispose() => _keys.Dispose();

    private static string Name(LinkPurpose purpose) => purpose == LinkPurpose.Confirm ? "confirm" : "unsubscribe";
}
