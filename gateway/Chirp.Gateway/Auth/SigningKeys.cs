using System.Security.Cryptography;
using Chirp.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Chirp.Gateway.Auth;

/// <summary>
/// The ES256 keys of the token service: a <see cref="KeyRing{TKey}"/> over the PEM files of
/// <see cref="KeyDirectoryOptions.KeyDirectory"/> (<c>&lt;kid&gt;.pem</c>, EC P-256 private keys), so keys rotate
/// without a restart and without logging anyone out. Public halves are published at <c>/.well-known/jwks.json</c>
/// (RFC 7517).
/// </summary>
public sealed class SigningKeys : IDisposable
{
    private readonly KeyRing<TokenKey> _ring;

    /// <summary>Loads every <c>*.pem</c> key and starts watching the folder.</summary>
    /// <exception cref="InvalidOperationException">The folder is missing or empty, a file is not an EC P-256 key, or the signing kid is unknown.</exception>
    public SigningKeys(IOptions<TokenOptions> options, TimeProvider time, ILogger<SigningKeys> logger) =>
        _ring = new KeyRing<TokenKey>(options.Value, TokenOptions.SectionName, "*.pem", Parse, time, logger);

    /// <summary>The key that signs now (see <see cref="KeyRing{TKey}.Signing"/>).</summary>
    public ECDsaSecurityKey Signing => _ring.Signing.Key.Key;

    /// <summary>ES256 signing credentials over <see cref="Signing"/>.</summary>
    public SigningCredentials Credentials => _ring.Signing.Key.Credentials;

    /// <summary>The key whose kid is exactly <paramref name="kid"/>, or null.</summary>
    public SecurityKey? Find(string? kid) => _ring.Find(kid)?.Key.Key;

    /// <summary>The public JWK Set (RFC 7517 section 5): <c>{"keys":[{kty,crv,x,y,kid,use,alg}]}</c>.</summary>
    public object ToJwks() => new
    {
        keys = _ring.All.Select(k =>
        {
            var p = k.Key.Key.ECDsa.ExportParameters(false);
            return new Dictionary<string, string>
            {
                ["kty"] = "EC",
                ["crv"] = "P-256",
                ["x"] = Base64UrlEncoder.Encode(p.Q.X),
                ["y"] = Base64UrlEncoder.Encode(p.Q.Y),
                ["kid"] = k.Kid,
                ["use"] = "sig",
                ["alg"] = "ES256",
            };
        }).ToArray(),
    };

    /// <inheritdoc />
    public void Dispose() => _ring.Dispose();

    private static TokenKey Parse(string kid, string pem)
    {
        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            ecdsa.Dispose();
            throw new InvalidOperationException($"Token key '{kid}.pem' is not a PEM EC private key.", e);
        }

        if (ecdsa.KeySize != 256)
        {
            ecdsa.Dispose();
            throw new InvalidOperationException($"Token key '{kid}.pem' must be on curve P-256 (ES256).");
        }

        var key = new ECDsaSecurityKey(ecdsa) { KeyId = kid };
        return new TokenKey(key, new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256));
    }

    private sealed record TokenKey(ECDsaSecurityKey Key, SigningCredentials Credentials);
}
