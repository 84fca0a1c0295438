using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Chirp.Gateway.Auth;

/// <summary>
/// The ES256 keys of the token service, from the PEM files of <see cref="TokenOptions.KeyDirectory"/> (the file name
/// without <c>.pem</c> is the <c>kid</c>). The folder is read again whenever it changes (watched, and polled every
/// <see cref="TokenOptions.KeyPollInterval"/>, because a mounted Secret changes by swapping a link that watchers
/// miss), so keys rotate without a restart: a new key verifies at once but signs only after
/// <see cref="TokenOptions.KeyActivationDelay"/>, so replicas that load it later still accept what it signs; a
/// removed key's tokens are refused. Public halves are published at <c>/.well-known/jwks.json</c> (RFC 7517).
/// </summary>
public sealed class SigningKeys : IDisposable
{
    private readonly TokenOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SigningKeys> _logger;
    private readonly Dictionary<string, DateTimeOffset> _firstSeen = new(StringComparer.Ordinal);
    private readonly Lock _reloading = new();
    private readonly FileSystemWatcher? _watcher;
    private readonly ITimer _poll;
    private KeySet _current;

    /// <summary>Loads every <c>*.pem</c> key and starts watching the folder.</summary>
    /// <exception cref="InvalidOperationException">The folder is missing or empty, a file is not an EC P-256 key, or the signing kid is unknown.</exception>
    public SigningKeys(IOptions<TokenOptions> options, TimeProvider time, ILogger<SigningKeys> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        if (!Directory.Exists(_options.KeyDirectory))
        {
            throw new InvalidOperationException($"Tokens:KeyDirectory '{_options.KeyDirectory}' does not exist; generate a key (scripts/start does) or point it at one.");
        }

        // Keys present at start sign at once: there is no earlier state of this process to stay compatible with.
        _current = Load(initial: true);
        try
        {
            _watcher = new FileSystemWatcher(_options.KeyDirectory) { IncludeSubdirectories = false, EnableRaisingEvents = true };
            _watcher.Changed += (_, _) => TryReload();
            _watcher.Created += (_, _) => TryReload();
            _watcher.Deleted += (_, _) => TryReload();
            _watcher.Renamed += (_, _) => TryReload();
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            _logger.LogWarning("Cannot watch the token key folder ({Error}); relying on polling.", e.Message);
        }

        _poll = time.CreateTimer(_ => TryReload(), null, _options.KeyPollInterval, _options.KeyPollInterval);
    }

    /// <summary>Every key that verifies.</summary>
    public IReadOnlyList<ECDsaSecurityKey> All => _current.All;

    /// <summary>The key that signs: the newest active one (see <see cref="TokenOptions.SigningKeyId"/>).</summary>
    public ECDsaSecurityKey Signing => CurrentSigning().Key;

    /// <summary>ES256 signing credentials over <see cref="Signing"/>.</summary>
    public SigningCredentials Credentials => CurrentSigning().Credentials;

    /// <summary>The key whose kid is exactly <paramref name="kid"/>, or null.</summary>
    public SecurityKey? Find(string? kid) => kid is null ? null : _current.All.FirstOrDefault(k => string.Equals(k.KeyId, kid, StringComparison.Ordinal));

    /// <summary>The public JWK Set (RFC 7517 section 5): <c>{"keys":[{kty,crv,x,y,kid,use,alg}]}</c>.</summary>
    public object ToJwks() => new
    {
        keys = _current.All.Select(k =>
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

    /// <summary>
    /// Reads the folder again now. A folder caught mid-change (a half-written or unreadable file, no key at all) keeps
    /// the previous keys and is logged; the next change or poll tries again.
    /// </summary>
    public void TryReload()
    {
        try
        {
            var loaded = Load(initial: false);
            var previous = Interlocked.Exchange(ref _current, loaded);
            if (!previous.Fingerprint.SequenceEqual(loaded.Fingerprint))
            {
                _logger.LogInformation("Token keys reloaded: {Kids}.", string.Join(", ", loaded.All.Select(k => k.KeyId)));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("Token keys not reloaded, keeping the loaded ones: {Error}", e.Message);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _watcher?.Dispose();
        _poll.Dispose();
    }

    private (ECDsaSecurityKey Key, SigningCredentials Credentials) CurrentSigning()
    {
        var set = _current;
        var now = _time.GetUtcNow();
        ECDsaSecurityKey? chosen = null;
        foreach (var key in set.All)
        {
            var active = set.ActiveFrom[key.KeyId!] <= now;
            if (_options.SigningKeyId is not null)
            {
                if (key.KeyId == _options.SigningKeyId && active)
                {
                    chosen = key;
                }
            }
            else if (active)
            {
                chosen = key; // ordinal order: the last active kid is the newest by naming convention
            }
        }

        // Nothing active yet (the configured kid was just added): the oldest-activating key keeps signing.
        chosen ??= set.All.MinBy(k => set.ActiveFrom[k.KeyId!])!;
        return (chosen, set.Credentials[chosen.KeyId!]);
    }

    private KeySet Load(bool initial)
    {
        var keys = new List<ECDsaSecurityKey>();
        var fingerprint = new List<byte>();
        foreach (var file in Directory.GetFiles(_options.KeyDirectory, "*.pem").Order(StringComparer.Ordinal))
        {
            var pem = File.ReadAllText(file);
            var ecdsa = ECDsa.Create();
            try
            {
                ecdsa.ImportFromPem(pem);
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
            fingerprint.AddRange(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(file + "\n" + pem)));
        }

        if (keys.Count == 0)
        {
            throw new InvalidOperationException($"Tokens:KeyDirectory '{_options.KeyDirectory}' holds no *.pem key.");
        }

        if (initial && _options.SigningKeyId is not null && keys.TrueForAll(k => k.KeyId != _options.SigningKeyId))
        {
            throw new InvalidOperationException("Tokens:SigningKeyId names no key in Tokens:KeyDirectory.");
        }

        var activeFrom = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        lock (_reloading)
        {
            var now = _time.GetUtcNow();
            foreach (var key in keys)
            {
                if (!_firstSeen.TryGetValue(key.KeyId!, out var seen))
                {
                    seen = initial ? DateTimeOffset.MinValue : now;
                    _firstSeen[key.KeyId!] = seen;
                }

                activeFrom[key.KeyId!] = seen == DateTimeOffset.MinValue ? seen : seen + _options.KeyActivationDelay;
            }

            // A kid that disappears and comes back counts as new again.
            foreach (var gone in _firstSeen.Keys.Except(activeFrom.Keys).ToList())
            {
                _firstSeen.Remove(gone);
            }
        }

        return new KeySet(
            keys,
            activeFrom,
            keys.ToDictionary(k => k.KeyId!, k => new SigningCredentials(k, SecurityAlgorithms.EcdsaSha256), StringComparer.Ordinal),
            [.. fingerprint]);
    }

    private sealed record KeySet(
        IReadOnlyList<ECDsaSecurityKey> All,
        IReadOnlyDictionary<string, DateTimeOffset> ActiveFrom,
        IReadOnlyDictionary<string, SigningCredentials> Credentials,
        byte[] Fingerprint);
}
