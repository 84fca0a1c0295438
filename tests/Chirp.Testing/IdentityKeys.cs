using System.Security.Cryptography;
using Chirp.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Chirp.Testing;

/// <summary>
/// A throw-away identity-assertion key folder (<c>IdentityAssertion:KeyDirectory</c>) holding one random key, and
/// codecs over it that sign as the gateway would. Deletes the folder and disposes its codecs when disposed.
/// </summary>
public sealed class IdentityKeys : IDisposable
{
    /// <summary>The kid of the key the folder starts with.</summary>
    public const string KeyId = "test-1";

    private readonly List<IdentityAssertionCodec> _codecs = [];

    private IdentityKeys(string directory) => Directory = directory;

    /// <summary>The folder, for <c>IdentityAssertion:KeyDirectory</c>.</summary>
    public string Directory { get; }

    /// <summary>The settings that point a service at this folder.</summary>
    public KeyValuePair<string, string?> Setting => new("IdentityAssertion:KeyDirectory", Directory);

    /// <summary>
    /// Creates the folder with one key named <see cref="KeyId"/>: <paramref name="key"/> (base64), e.g. a forger's
    /// key for a codec whose assertions must not verify, or 32 random bytes.
    /// </summary>
    public static IdentityKeys Create(string? key = null)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("chirp-identity-keys-").FullName;
        key ??= Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        File.WriteAllText(Path.Combine(directory, KeyId + ".key"), key);
        return new IdentityKeys(directory);
    }

    /// <summary>A codec over this folder at the given clock (the system clock by default), disposed with the folder.</summary>
    public IdentityAssertionCodec Codec(TimeProvider? time = null)
    {
        var codec = new IdentityAssertionCodec(
            Options.Create(new IdentityAssertionOptions { KeyDirectory = Directory }),
            time ?? TimeProvider.System,
            NullLogger<IdentityAssertionCodec>.Instance);
        lock (_codecs)
        {
            _codecs.Add(codec);
        }

        return codec;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_codecs)
        {
            _codecs.ForEach(c => c.Dispose());
            _codecs.Clear();
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
