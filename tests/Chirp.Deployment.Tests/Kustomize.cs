using System.Collections.Concurrent;
using System.Diagnostics;
using Chirp.Testing;
using k8s;

namespace Chirp.Deployment.Tests;

/// <summary>Renders the kustomize overlays with <c>kubectl kustomize</c> and parses the output strictly.</summary>
internal static class Kustomize
{
    private static readonly ConcurrentDictionary<string, Lazy<Rendered>> Cache = new();

    /// <summary>The rendered YAML and its objects (<c>k8s.Models</c> types).</summary>
    public sealed record Rendered(string Yaml, IReadOnlyList<object> Objects)
    {
        public IEnumerable<T> All<T>() => Objects.OfType<T>();
    }

    /// <summary>The path of <c>kubectl</c>, or null when it is not installed.</summary>
    public static string? Kubectl { get; } = FindKubectl();

    /// <summary>
    /// Renders <c>kustomize/overlays/<paramref name="overlay"/></c> from a temporary copy of <c>kustomize/</c>, in
    /// which the git-ignored secret files that <c>scripts/dev-secrets</c> writes are replaced by placeholders,
    /// so the result does not depend on the machine. Parses it with
    /// <c>KubernetesYaml.LoadAllFromString(yaml, null, strict: true)</c>, which rejects unknown fields.
    /// </summary>
    public static Rendered Render(string overlay) => Cache.GetOrAdd(overlay, o => new Lazy<Rendered>(() => RenderNow(o))).Value;

    private static Rendered RenderNow(string overlay)
    {
        var copy = Path.Combine(Path.GetTempPath(), "chirp-kustomize-" + Guid.NewGuid().ToString("N"));
        try
        {
            CopyDirectory(RepoPaths.Combine("kustomize"), copy);
            var secrets = Path.Combine(copy, "overlays", "dev", "secrets");
            Directory.CreateDirectory(secrets);
            File.WriteAllText(Path.Combine(secrets, "identity-assertion.key"), "cGxhY2Vob2xkZXItcGxhY2Vob2xkZXItcGxhY2Vob2xkZXI=\n");
            File.WriteAllText(Path.Combine(secrets, "token-signing.pem"), "placeholder\n");
            File.WriteAllText(Path.Combine(secrets, "postgres.env"), "POSTGRES_PASSWORD=placeholder\n");
            File.WriteAllText(Path.Combine(secrets, "email-links.key"), "cGxhY2Vob2xkZXItcGxhY2Vob2xkZXItbGlua3MtbGlua3M=\n");
            File.WriteAllText(Path.Combine(secrets, "dkim.pem"), "placeholder\n");
            foreach (var db in new[] { "users", "tweets", "email" })
            {
                var name = char.ToUpperInvariant(db[0]) + db[1..];
                File.WriteAllText(Path.Combine(secrets, $"{db}-database.env"),
                    $"ConnectionStrings__{name}=Host=postgres;Database={db};Username=postgres;Password=placeholder\n");
            }

            var info = new ProcessStartInfo(Kubectl!, ["kustomize", Path.Combine(copy, "overlays", overlay)])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"kubectl kustomize overlays/{overlay} failed: {stderr.Result}");
            }

            var yaml = stdout.Result;
            return new Rendered(yaml, KubernetesYaml.LoadAllFromString(yaml, null, strict: true));
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var dir in Directory.EnumerateDirectories(from))
        {
            CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }

    private static string? FindKubectl()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "kubectl"))
            .FirstOrDefault(File.Exists);
    }
}
