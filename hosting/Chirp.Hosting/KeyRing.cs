using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Chirp.Hosting;

/// <summary>
/// Settings of a folder of keys read by <see cref="KeyRing{TKey}"/>: one file per key, the file name without its
/// extension is the key id (<c>kid</c>). Every section that holds rotating keys (<c>Tokens</c>,
/// <c>IdentityAssertion</c>) has these four settings.
/// </summary>
public abstract class KeyDirectoryOptions
{
    /// <summary>The folder of key files; a mounted Kubernetes Secret in a cluster. Required.</summary>
    [Required]
    public string KeyDirectory { get; set; } = "";

    /// <summary>
    /// The kid that signs once it is active; null picks the last active kid in ordinal order (newest by naming
    /// convention, e.g. <c>k20261202</c>).
    /// </summary>
    public string? SigningKeyId { get; set; }

    /// <summary>
    /// How long a key added while the process runs only verifies before it may sign (default 5 minutes): longer than
    /// the time every replica of every service takes to see the changed folder (Secret propagation plus
    /// <see cref="KeyPollInterval"/>).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan KeyActivationDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the folder is read again besides watching it (default 30 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan KeyPollInterval { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>One loaded key of a <see cref="KeyRing{TKey}"/>.</summary>
/// <param name="Kid">The file name without extension.</param>
/// <param name="Key">What the ring's loader made of the file.</param>
/// <param name="ActiveFrom">When the key may sign; <see cref="DateTimeOffset.MinValue"/> for keys present at start.</param>
public sealed record RingKey<TKey>(string Kid, TKey Key, DateTimeOffset ActiveFrom);

/// <summary>
/// Rotating keys from a folder (docs/architecture.md section 4). The folder is read again whenever it changes: watched,
/// and polled every <see cref="KeyDirectoryOptions.KeyPollInterval"/>, because a mounted Secret changes by swapping a
/// link that watchers miss. A key present at start signs at once; a key added later verifies at once but signs only
/// after <see cref="KeyDirectoryOptions.KeyActivationDelay"/>, so replicas that see it later still accept what it
/// signs; a removed key stops verifying at the next read. A folder caught mid-change (a half-written file, no key at
/// all) keeps the previous keys.
/// </summary>
/// <typeparam name="TKey">What a key file becomes, e.g. an ES256 key or an HMAC secret.</typeparam>
public sealed class KeyRing<TKey> : IDisposable
{
    private readonly KeyDirectoryOptions _options;
    private readonly string _section;
    private readonly string _pattern;
    private readonly Func<string, string, TKey> _load;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, DateTimeOffset> _firstSeen = new(StringComparer.Ordinal);
    private readonly Lock _reloading = new();
    private readonly FileSystemWatcher? _watcher;
    private readonly ITimer _poll;
    private Snapshot _current;

    /// <summary>Loads every key and starts watching and polling the folder.</summary>
    /// <param name="options">The folder and rotation settings.</param>
    /// <param name="section">The configuration section, for messages (e.g. <c>Tokens</c>).</param>
    /// <param name="pattern">The key files, e.g. <c>*.pem</c>.</param>
    /// <param name="load">Makes a key from (kid, file text); throws <see cref="InvalidOperationException"/> for a bad file.</param>
    /// <param name="time">The clock that decides activation.</param>
    /// <param name="logger">Where reloads and refused folders are logged (never key material).</param>
    /// <exception cref="InvalidOperationException">The folder is missing or holds no key, a file does not load, or the signing kid is unknown.</exception>
    public KeyRing(KeyDirectoryOptions options, string section, string pattern, Func<string, string, TKey> load, TimeProvider time, ILogger logger)
    {
        _options = options;
        _section = section;
        _pattern = pattern;
        _load = load;
        _time = time;
        _logger = logger;
        if (string.IsNullOrWhiteSpace(options.KeyDirectory) || !Directory.Exists(options.KeyDirectory))
        {
            throw new InvalidOperationException($"{section}:KeyDirectory '{options.KeyDirectory}' does not exist; generate the keys (scripts/dev-secrets does) or point it at them.");
        }

        _current = Load(initial: true, previous: null);
        try
        {
            _watcher = new FileSystemWatcher(options.KeyDirectory) { IncludeSubdirectories = false, EnableRaisingEvents = true };
            _watcher.Changed += (_, _) => TryReload();
            _watcher.Created += (_, _) => TryReload();
            _watcher.Deleted += (_, _) => TryReload();
            _watcher.Renamed += (_, _) => TryReload();
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            _logger.LogWarning("Cannot watch the {Section} key folder ({Error}); relying on polling.", section, e.Message);
        }

        _poll = time.CreateTimer(_ => TryReload(), null, options.KeyPollInterval, options.KeyPollInterval);
    }

    /// <summary>Every key that verifies, in ordinal kid order.</summary>
    public IReadOnlyList<RingKey<TKey>> All => _current.Keys;

    /// <summary>The key whose kid is exactly <paramref name="kid"/>, or null.</summary>
    public RingKey<TKey>? Find(string? kid) => kid is not null && _current.ByKid.TryGetValue(kid, out var key) ? key : null;

    /// <summary>
    /// The key that signs now: <see cref="KeyDirectoryOptions.SigningKeyId"/> once active, else the last active kid in
    /// ordinal order; while nothing is active yet (only new keys are left), the one that activates first.
    /// </summary>
    public RingKey<TKey> Signing
    {
        get
        {
            var keys = _current.Keys;
            var now = _time.GetUtcNow();
            RingKey<TKey>? chosen = null;
            foreach (var key in keys)
            {
                if (key.ActiveFrom > now)
                {
                    continue;
                }

                if (_options.SigningKeyId is null || key.Kid == _options.SigningKeyId)
                {
                    chosen = key;
                }
            }

            return chosen ?? keys.MinBy(k => k.ActiveFrom)!;
        }
    }

    /// <summary>Reads the folder again now; keeps the loaded keys (and logs why) when the folder does not load.</summary>
    public void TryReload()
    {
        lock (_reloading)
        {
            try
            {
                var loaded = Load(initial: false, _current);
                if (!ReferenceEquals(loaded, _current))
                {
                    _current = loaded;
                    _logger.LogInformation("{Section} keys reloaded: {Kids}.", _section, string.Join(", ", loaded.Keys.Select(k => k.Kid)));
                }
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
            {
                _logger.LogWarning("{Section} keys not reloaded, keeping the loaded ones: {Error}", _section, e.Message);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _watcher?.Dispose();
        _poll.Dispose();
    }

    private Snapshot Load(bool initial, Snapshot? previous)
    {
        var files = Directory.GetFiles(_options.KeyDirectory, _pattern).Order(StringComparer.Ordinal)
            .Select(path => (Kid: Path.GetFileNameWithoutExtension(path), Text: File.ReadAllText(path)))
            .ToList();
        var fingerprint = Fingerprint(files);
        if (previous is not null && previous.Fingerprint.AsSpan().SequenceEqual(fingerprint))
        {
            return previous; // unchanged: no key is parsed again, nothing is allocated per poll beyond the read
        }

        if (files.Count == 0)
        {
            throw new InvalidOperationException($"{_section}:KeyDirectory holds no {_pattern} key.");
        }

        if (initial && _options.SigningKeyId is not null && files.TrueForAll(f => f.Kid != _options.SigningKeyId))
        {
            throw new InvalidOperationException($"{_section}:SigningKeyId names no key in {_section}:KeyDirectory.");
        }

        var parsed = files.Select(f => (f.Kid, Key: _load(f.Kid, f.Text))).ToList();
        var now = _time.GetUtcNow();
        var keys = new List<RingKey<TKey>>(parsed.Count);
        foreach (var (kid, key) in parsed)
        {
            if (!_firstSeen.TryGetValue(kid, out var seen))
            {
                seen = initial ? DateTimeOffset.MinValue : now;
                _firstSeen[kid] = seen;
            }

            keys.Add(new RingKey<TKey>(kid, key, seen == DateTimeOffset.MinValue ? seen : seen + _options.KeyActivationDelay));
        }

        // A kid that disappears and comes back counts as new again.
        foreach (var gone in _firstSeen.Keys.Except(keys.Select(k => k.Kid)).ToList())
        {
            _firstSeen.Remove(gone);
        }

        return new Snapshot(keys, keys.ToDictionary(k => k.Kid, StringComparer.Ordinal), fingerprint);
    }

    private static byte[] Fingerprint(List<(string Kid, string Text)> files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (kid, text) in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(kid + "\n" + text.Length + "\n" + text));
        }

        return hash.GetHashAndReset();
    }

    private sealed record Snapshot(IReadOnlyList<RingKey<TKey>> Keys, IReadOnlyDictionary<string, RingKey<TKey>> ByKid, byte[] Fingerprint);
}
