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
    /// Renders <c>kustomize/overlays/<paramref name="overlay"/></c> (e.g. <c>dev</c>, <c>dev/secrets</c>) from a temporary
    /// copy of the files of <c>kustomize/</c> that git tracks, as a fresh clone has them, so the result does not depend
    /// on the machine. <paramref name="placeholders"/> adds files to the copy first (relative path, content). Parses it
    /// with <c>KubernetesYaml.LoadAllFromString(yaml, null, strict: true)</c>, which rejects unknown fields.
    /// </summary>
    /// <exception cref="InvalidOperationException"><c>kubectl kustomize</c> failed; the message has its error output.</exception>
    public static Rendered Render(string overlay, IReadOnlyDictionary<string, string>? placeholders = null) =>
        placeholders is null
            ? Cache.GetOrAdd(overlay, o => new Lazy<Rendered>(() => RenderNow(o, null))).Value
            : RenderNow(overlay, placeholders);

    /// <summary>The overlays: every folder of <c>kustomize/overlays</c> with a <c>kustomization.yaml</c>.</summary>
    public static IReadOnlyList<string> Overlays { get; } = [.. Directory.EnumerateDirectories(RepoPaths.Combine("kustomize", "overlays"))
        .Where(d => File.Exists(Path.Combine(d, "kustomization.yaml"))).Select(d => Path.GetFileName(d)).Order(StringComparer.Ordinal)];

    /// <summary>
    /// Placeholders for the git-ignored files that <c>scripts/dev-secrets</c> writes into <c>overlays/dev/secrets</c>.
    /// </summary>
    public static IReadOnlyDictionary<string, string> DevSecretFiles { get; } = new Dictionary<string, string>
    {
        ["overlays/dev/secrets/identity-assertion.key"] = "cGxhY2Vob2xkZXItcGxhY2Vob2xkZXItcGxhY2Vob2xkZXI=\n",
        ["overlays/dev/secrets/token-signing.pem"] = "placeholder\n",
        ["overlays/dev/secrets/postgres.env"] = "POSTGRES_PASSWORD=placeholder\n",
        ["overlays/dev/secrets/email-links.key"] = "cGxhY2Vob2xkZXItcGxhY2Vob2xkZXItbGlua3MtbGlua3M=\n",
        ["overlays/dev/secrets/dkim.pem"] = "placeholder\n",
        ["overlays/dev/secrets/users-database.env"] = "ConnectionStrings__Users=Host=postgres;Database=users;Username=postgres;Password=placeholder\n",
        ["overlays/dev/secrets/tweets-database.env"] = "ConnectionStrings__Tweets=Host=postgres;Database=tweets;Username=postgres;Password=placeholder\n",
        ["overlays/dev/secrets/email-database.env"] = "ConnectionStrings__Email=Host=postgres;Database=email;Username=postgres;Password=placeholder\n",
    };

    private static Rendered RenderNow(string overlay, IReadOnlyDictionary<string, string>? placeholders)
    {
        var copy = Path.Combine(Path.GetTempPath(), "chirp-kustomize-" + Guid.NewGuid().ToString("N"));
        try
        {
            var tracked = ChildProcesses.RunCheckedAsync("git", ["-C", RepoPaths.Root, "ls-files", "--", "kustomize"]).GetAwaiter().GetResult();
            foreach (var file in tracked.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var target = Path.Combine(copy, Path.GetRelativePath("kustomize", file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(RepoPaths.Combine(file), target);
            }

            foreach (var (file, content) in placeholders ?? new Dictionary<string, string>())
            {
                File.WriteAllText(Path.Combine(copy, file), content);
            }

            // Not ChildProcesses.RunAsync, which merges stderr into the output: only stdout is YAML.
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

    private static string? FindKubectl()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "kubectl"))
            .FirstOrDefault(File.Exists);
    }
}
