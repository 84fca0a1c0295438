using System.Security.Claims;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Chirp.Gateway.Auth;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Chirp.Bench.Tokens;

/// <summary>
/// The cost of accepting one access token at the gateway, in the parts a request pays for: the strict validator on
/// first sight of a token (header checks, ES256 signature, issuer, audience, lifetime) and for a token it remembers,
/// the revocation check against deny lists that hold <see cref="DenyListSize"/> entries each, and what a request pays
/// in all. Keys, issuer and validator are the gateway's own.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(InProcessConfig))]
public class TokenValidationBenchmarks : IDisposable
{
    private string _folder = "";
    private SigningKeys _keys = null!;
    private TokenIssuer _issuer = null!;
    private TokenIssuer _forgetful = null!;
    private TokenValidationParameters _parameters = null!;
    private RevocationState _revocations = null!;
    private string _token = "";
    private ClaimsPrincipal _principal = null!;

    /// <summary>Entries in each of the three deny lists (jti, session, user); a busy hour of log-outs is a few thousand.</summary>
    [Params(10_000)]
    public int DenyListSize { get; set; }

    [GlobalSetup]
    public async Task SetUp()
    {
        _folder = Directory.CreateTempSubdirectory("chirp-bench-keys-").FullName;
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            await File.WriteAllTextAsync(Path.Combine(_folder, "bench.pem"), key.ExportPkcs8PrivateKeyPem());
        }

        var options = Options.Create(new TokenOptions { KeyDirectory = _folder });
        _keys = new SigningKeys(options, TimeProvider.System, NullLogger<SigningKeys>.Instance);
        _issuer = new TokenIssuer(_keys, options, TimeProvider.System);
        _forgetful = new TokenIssuer(_keys, Options.Create(new TokenOptions { KeyDirectory = _folder, ValidatedTokenCacheSize = 0 }), TimeProvider.System);
        _parameters = _issuer.ValidationParameters();
        _token = _issuer.Issue(new TokenSubject(Guid.CreateVersion7().ToString(), "alice", "Alice", "tweets:write email:manage"), Guid.CreateVersion7().ToString()).Token;

        _revocations = new RevocationState(TimeProvider.System);
        var until = DateTimeOffset.UtcNow.AddMinutes(15).ToUnixTimeSeconds();
        for (var i = 0; i < DenyListSize; i++)
        {
            _revocations.Apply(new Revocation(RevocationKind.Jti, Guid.CreateVersion7().ToString(), 0, until));
            _revocations.Apply(new Revocation(RevocationKind.Session, Guid.CreateVersion7().ToString(), 0, until));
            _revocations.Apply(new Revocation(RevocationKind.User, Guid.CreateVersion7().ToString(), until - 900, until));
        }

        _revocations.MarkLoaded();
        _principal = await ValidateAsync(_issuer);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _issuer.Dispose();
        _forgetful.Dispose();
        _keys.Dispose();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>The strict validator on a token it has not seen: the first request of a token, or every request with the cache off.</summary>
    [Benchmark(Baseline = true)]
    public Task<ClaimsPrincipal> ValidateFirstSight() => ValidateAsync(_forgetful);

    /// <summary>The strict validator on a token it remembers: every later request of that token.</summary>
    [Benchmark]
    public Task<ClaimsPrincipal> ValidateRemembered() => ValidateAsync(_issuer);

    /// <summary>The revocation check alone, on a validated principal: three dictionary lookups.</summary>
    [Benchmark]
    public RevocationVerdict CheckRevocation() => _revocations.Check(_principal);

    /// <summary>What a request with a remembered token pays in all.</summary>
    [Benchmark]
    public async Task<RevocationVerdict> ValidateRememberedAndCheck() => _revocations.Check(await ValidateAsync(_issuer));

    private async Task<ClaimsPrincipal> ValidateAsync(TokenIssuer issuer)
    {
        var result = await issuer.Handler.ValidateTokenAsync(_token, _parameters);
        return result.IsValid ? new ClaimsPrincipal(result.ClaimsIdentity) : throw new InvalidOperationException("The benchmark token does not validate.");
    }
}

/// <summary>
/// Runs in this process (no generated project to build, so the repository's build rules do not get in the way),
/// with a short but stable job: 3 warm-up and 10 measured iterations.
/// </summary>
internal sealed class InProcessConfig : ManualConfig
{
    public InProcessConfig() =>
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(10));
}
