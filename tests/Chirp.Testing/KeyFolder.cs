using System.Security.Cryptography;
using Chirp.IdentityAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Chirp.Testing;

/// <summary>
/// A throw-away folder of HMAC key files (<c>&lt;kid&gt;.key</c>, base64), as a service reads from
/// <c>IdentityAssertion:KeyDirectory</c> or <c>EmailLinks:KeyDirectory</c>, and identity-assertion codecs over it that
/// sign as the gateway would. Deletes the folder and disposes its codecs when disposed.
/// </summary>
public sealed class KeyFolder : IDisposable
{
    /// <summary>The kid of the key a folder starts with unless told otherwise.</summary>
    public const string DefaultKeyId = "test-1";

    private readonly List<IDisposable> _owned = [];

    private KeyFolder(string directory) => Directory = directory;

    /// <summary>The folder, for <c>&lt;section&gt;:KeyDirectory</c>.</summary>
    public string Directory { get; }

    /// <summary>
    /// Creates a folder with one key named <paramref name="kid"/>: <paramref name="key"/> (base64), e.g. a forger's key for
    /// a codec whose assertions must not verify, or 32 random bytes.
    /// </summary>
    public static KeyFolder Create(string? key = null, string kid = DefaultKeyId)
    {
        var folder = new KeyFolder(System.IO.Directory.CreateTempSubdirectory("chirp-keys-").FullName);
        folder.Write(kid, key ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        return folder;
    }

    /// <summary>The setting that points a service's <paramref name="section"/> at this folder.</summary>
    public KeyValuePair<string, string?> Setting(string section = IdentityAssertionOptions.SectionName) => new($"{section}:KeyDirectory", Directory);

    /// <summary>Adds (or replaces) a key the way a mounted Secret changes: written aside, then moved in whole.</summary>
    public void Write(string kid, string base64Key)
    {
        var temporary = Path.Combine(Directory, kid + ".tmp");
        File.WriteAllText(temporary, base64Key);
        File.Move(temporary, Path.Combine(Directory, kid + ".key"), overwrite: true);
    }

    /// <summary>An identity-assertion codec over this folder at the given clock (the system clock by default), disposed with the folder.</summary>
    public IdentityAssertionCodec Codec(TimeProvider? time = null) =>
        Own(new IdentityAssertionCodec(
            Options.Create(new IdentityAssertionOptions { KeyDirectory = Directory }),
            time ?? TimeProvider.System,
            NullLogger<IdentityAssertionCodec>.Instance));

    /// <summary>Disposes <paramref name="value"/> with the folder; returns it.</summary>
    public T Own<T>(T value)
        where T : IDisposable
    {
        lock (_owned)
        {
            _owned.Add(value);
        }

        return value;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_owned)
        {
            _owned.ForEach(c => c.Dispose());
            _owned.Clear();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
