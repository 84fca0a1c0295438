using System.Security.Cryptography;
using Chirp.Testing;

namespace Chirp.Deployment.Tests;

/// <summary>The two user-facing commands and the CI entry point.</summary>
public sealed class ScriptTests
{
    public static TheoryData<string> Scripts => new() { "scripts/test", "scripts/start", "scripts/stop", "scripts/dev-secrets", ".ci/run" };

    [Theory]
    [MemberData(nameof(Scripts))]
    public async Task ScriptIsExecutableAndParses(string script)
    {
        var path = RepoPaths.Combine(script);
        Assert.True(File.Exists(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.True(File.GetUnixFileMode(path).HasFlag(UnixFileMode.UserExecute), $"{script} must be executable");
        }

        Assert.StartsWith("#!/usr/bin/env bash", await File.ReadAllTextAsync(path), StringComparison.Ordinal);
        var (exitCode, output) = await ChildProcesses.RunAsync("bash", ["-n", path]);
        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public async Task CiRunsExactlyTheReadmeTestCommand()
    {
        var run = await File.ReadAllTextAsync(RepoPaths.Combine(".ci", "run"));
        Assert.Contains("exec scripts/test", run, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task DevSecretsCreatesKeysOnceAndKeepsThemAfterwards()
    {
        Skip.If((await ChildProcesses.RunAsync("sh", ["-c", "command -v openssl"])).ExitCode != 0, "openssl is not installed.");
        var repo = Path.Combine(Path.GetTempPath(), "chirp-dev-secrets-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(Path.Combine(repo, "scripts", "lib"));
            File.Copy(RepoPaths.Combine("scripts", "dev-secrets"), Path.Combine(repo, "scripts", "dev-secrets"));
            File.Copy(RepoPaths.Combine("scripts", "lib", "common.sh"), Path.Combine(repo, "scripts", "lib", "common.sh"));

            var first = await ChildProcesses.RunAsync("bash", [Path.Combine(repo, "scripts", "dev-secrets")]);
            Assert.True(first.ExitCode == 0, first.Output);
            var files = Directory.EnumerateFiles(repo, "*", SearchOption.AllDirectories)
                .Where(f => !f.Contains("/scripts/", StringComparison.Ordinal))
                .ToDictionary(f => Path.GetRelativePath(repo, f), File.ReadAllText);

            var tokenKey = Assert.Single(files, f => f.Key.StartsWith(".keys/tokens/", StringComparison.Ordinal));
            Assert.Matches(@"^\.keys/tokens/dev-\d{8}\.pem$", tokenKey.Key);
            Assert.StartsWith("-----BEGIN PRIVATE KEY-----", tokenKey.Value, StringComparison.Ordinal);
            using (var ec = ECDsa.Create())
            {
                ec.ImportFromPem(tokenKey.Value);
                Assert.Equal(ECCurve.NamedCurves.nistP256.Oid.Value, ec.ExportParameters(false).Curve.Oid.Value);
            }

            var identityKey = Assert.Single(files, f => f.Key.StartsWith(".keys/identity/", StringComparison.Ordinal));
            Assert.Equal(32, Convert.FromBase64String(identityKey.Value.Trim()).Length);

            foreach (var name in new[] { "identity-assertion.key", "email-links.key", "token-signing.pem", "postgres.env", "users-database.env", "tweets-database.env", "email-database.env" })
            {
                Assert.True(files.ContainsKey($"kustomize/overlays/dev/secrets/{name}"), $"{name} was not written");
            }

            var second = await ChildProcesses.RunAsync("bash", [Path.Combine(repo, "scripts", "dev-secrets")]);
            Assert.True(second.ExitCode == 0, second.Output);
            Assert.All(files, f => Assert.Equal(f.Value, File.ReadAllText(Path.Combine(repo, f.Key))));
        }
        finally
        {
            Directory.Delete(repo, recursive: true);
        }
    }
}
