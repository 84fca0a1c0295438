using System.Security.Cryptography;
using Chirp.Gateway.Auth;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// The validator remembers tokens that validated, but a remembered token is never accepted past its expiry or after
/// the key that verified it left the key folder.
/// </summary>
public sealed class ValidatedTokenCacheTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("chirp-cache-keys-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task ARememberedTokenIsRefusedOnceItExpires()
    {
        WriteKey("k1");
        using var keys = Keys(out var options, lifetime: TimeSpan.FromSeconds(8));
        using var issuer = new TokenIssuer(keys, options, TimeProvider.System);
        var (token, _, _) = issuer.Issue(new TokenSubject("u1", "alice", "Alice", "tweets:write"), "s1");

        Assert.NotNull(await issuer.ValidateAsync(token));
        Assert.NotNull(await issuer.ValidateAsync(token));

        // exp is in whole seconds: wait until it has certainly passed.
        var expires = new JsonWebToken(token).ValidTo;
        await Task.Delay(expires - DateTime.UtcNow + TimeSpan.FromSeconds(1.2));
        Assert.Null(await issuer.ValidateAsync(token));
    }

    [Fact]
    public async Task ARememberedTokenIsRefusedOnceItsKeyIsRemoved()
    {
        WriteKey("k1");
        using var keys = Keys(out var options, lifetime: TimeSpan.FromMinutes(15));
        using var issuer = new TokenIssuer(keys, options, TimeProvider.System);
        var (token, _, _) = issuer.Issue(new TokenSubject("u1", "alice", "Alice", "tweets:write"), "s1");
        Assert.NotNull(await issuer.ValidateAsync(token));

        WriteKey("k2");
        File.Delete(Path.Combine(_folder, "k1.pem"));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (keys.Find("k1") is not null)
        {
            Assert.True(DateTime.UtcNow < deadline, "The key folder change was not picked up.");
            await Task.Delay(100);
        }

        Assert.Null(await issuer.ValidateAsync(token));
    }

    private SigningKeys Keys(out IOptions<TokenOptions> options, TimeSpan lifetime)
    {
        options = Options.Create(new TokenOptions
        {
            KeyDirectory = _folder,
            AccessTokenLifetime = lifetime,
            ClockSkew = TimeSpan.Zero,
            KeyPollInterval = TimeSpan.FromMilliseconds(200),
        });
        return new SigningKeys(options, TimeProvider.System, NullLogger<SigningKeys>.Instance);
    }

    private void WriteKey(string kid)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var temporary = Path.Combine(_folder, kid + ".tmp");
        File.WriteAllText(temporary, key.ExportPkcs8PrivateKeyPem());
        File.Move(temporary, Path.Combine(_folder, kid + ".pem"));
    }
}
