using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Chirp.Gateway.Auth;

/// <summary>
/// The ES256 keys of the token service, read once from <see cref="TokenOptions.KeyDirectory"/>.
/// Public halves are published at <c>/.well-known/jwks.json</c> (RFC 7517).
/// </summary>
public sealed class SigningKeys
{
    /// <summary>Loads every <c>*.pem</c> key.</summary>
    /// <exception cref="InvalidOperationException">The folder is missing or empty, a file is not an EC P-256 key, or the signing kid is unknown.</exception>
    public SigningKeys(IOptions<TokenOptions> options)
    {
        var o = options.Value;
        if (!Directory.Exists(o.KeyDirectory))
        {
            throw new InvalidOperationException($"Tokens:KeyDirectory '{o.KeyDirectory}' does not exist; generate a key (scripts/start does) or point it at one.");
        }

        var keys = new List<ECDsaSecurityKey>();
        foreach (var file in Directory.GetFiles(o.KeyDirectory, "*.pem").Order(StringComparer.Ordinal))
        {
            var ecdsa = ECDsa.Create();
            try
            {
                ecdsa.ImportFromPem(File.ReadAllText(file));
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException)
            {
                ecdsa.Dispose();
                throw new InvalidOperationException($"Token key '{Path.GetFileName(file)}' is not a PEM EC private key.", e);
            }

            if (ecdsa.KeySize != 256)
            {
                ecdsa.Dispose();
                throw new InvalidOperationException($"Token key '{Path.GetFileName(file)}' must be on curve P-256 (ES256).");
            }

            keys.Add(new ECDsaSecurityKey(ecdsa) { KeyId = Path.GetFileNameWithoutExtension(file) });
        }

        if (keys.Count == 0)
        {
            throw new InvalidOperationException($"Tokens:KeyDirectory '{o.KeyDirectory}' holds no *.pem key.");
        }

        All = keys;
        Signing = o.SigningKeyId is null
            ? keys[^1]
            : keys.Find(k => k.KeyId == o.SigningKeyId) ?? throw new InvalidOperationException("Tokens:SigningKeyId names no key in Tokens:KeyDirectory.");
        Credentials = new SigningCredentials(Signing, SecurityAlgorithms.EcdsaSha256);
    }

    /// <summary>Every key that verifies.</summary>
    public IReadOnlyList<ECDsaSecurityKey> All { get; }

    /// <summary>The key that signs.</summary>
    public ECDsaSecurityKey Signing { get; }

    /// <summary>ES256 signing credentials over <see cref="Signing"/>.</summary>
    public SigningCredentials Credentials { get; }

    /// <summary>The key whose kid is exactly <paramref name="kid"/>, or null.</summary>
    public SecurityKey? Find(string? kid) => kid is null ? null : All.FirstOrDefault(k => string.Equals(k.KeyId, kid, StringComparison.Ordinal));

    /// <summary>The public JWK Set (RFC 7517 section 5): <c>{"keys":[{kty,crv,x,y,kid,use,alg}]}</c>.</summary>
    public object ToJwks() => new
    {
        keys = All.Select(k =>
        {
            var p = k.ECDsa.ExportParameters(false);
            return new Dictionary<string, string>
            {
                ["kty"] = "EC",
                ["crv"] = "P-256",
                ["x"] = Base64UrlEncoder.Encode(p.Q.X),
                ["y"] = Base64UrlEncoder.Encode(p.Q.Y),
                ["kid"] = k.KeyId,
                ["use"] = "sig",
                ["alg"] = "ES256",
            };
        }).ToArray(),
    };
}
