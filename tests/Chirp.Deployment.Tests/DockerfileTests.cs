using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Chirp.Testing;

namespace Chirp.Deployment.Tests;

/// <summary>
/// Images cannot be built on the build machines (no container engine), so the one Dockerfile is checked
/// statically for each service, as its build argument <c>PROJECT</c> makes it: pinned base images, a non-root
/// user, port 8080, and an entry point that runs the project's own assembly.
/// </summary>
public sealed partial class DockerfileTests
{
    private static readonly string[] Projects = ["gateway/Chirp.Gateway", "subgraphs/Chirp.Users", "subgraphs/Chirp.Tweets", "email-worker/Chirp.EmailWorker"];

    public static TheoryData<string> ServiceProjects => new(Projects);

    [Theory]
    [MemberData(nameof(ServiceProjects))]
    public void BaseImagesArePinnedToExactVersions(string project)
    {
        var dockerfile = Dockerfile.Load(project);
        Assert.NotEmpty(dockerfile.Stages);

        foreach (var stage in dockerfile.Stages.Where(s => !dockerfile.Stages.Any(other => other.Name == s.Image)))
        {
            var match = ImageReference().Match(stage.Image);
            Assert.True(match.Success, $"{project}: '{stage.Image}' is not an image reference");
            var tag = match.Groups["tag"].Value;
            var digest = match.Groups["digest"].Value;
            Assert.NotEqual("latest", tag);
            Assert.True(digest.Length > 0 || ExactVersion().IsMatch(tag),
                $"{project}: '{stage.Image}' must name an exact version (like 10.0.12) or a digest, not a moving tag");
        }
    }

    [Theory]
    [MemberData(nameof(ServiceProjects))]
    public async Task FinalImageRunsTheProjectAssemblyAsANonRootUserOnPort8080(string project)
    {
        var final = Dockerfile.Load(project).Stages[^1];

        var user = final.Last("USER");
        Assert.NotNull(user);
        Assert.DoesNotMatch("^(root|0)(:.*)?$", user);

        Assert.Contains("8080", final.All("EXPOSE").SelectMany(e => e.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(p => p.Split('/')[0]));

        // Runs the entry point as the container would, with echo in front of dotnet, so the test sees the command.
        var env = final.All("ENV").SelectMany(e => EnvAssignment().Matches(e)).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["value"].Value);
        var entrypoint = final.Last("ENTRYPOINT");
        Assert.NotNull(entrypoint);
        var command = JsonSerializer.Deserialize<string[]>(entrypoint) ?? [];
        Assert.Equal(["/bin/sh", "-c"], command.Take(2));
        Assert.Contains("exec dotnet ", command[2], StringComparison.Ordinal);
        var shown = await ChildProcesses.RunCheckedAsync("env",
            [.. env.Select(e => $"{e.Key}={e.Value}"), "/bin/sh", "-c", command[2].Replace("exec dotnet ", "exec echo dotnet ", StringComparison.Ordinal), .. command[3..], "migrate"]);
        Assert.Equal($"dotnet {AssemblyName(project)}.dll migrate", shown.Trim());
    }

    [Fact]
    public void ServicesHaveNoDockerfilesOfTheirOwn()
    {
        Assert.True(File.Exists(RepoPaths.Combine("Dockerfile")));
        foreach (var project in Projects)
        {
            Assert.False(File.Exists(RepoPaths.Combine(project, "Dockerfile")), $"{project}/Dockerfile: build with the root Dockerfile and --build-arg PROJECT={project}");
        }
    }

    [Theory]
    [MemberData(nameof(ServiceProjects))]
    public void BuildStagePublishesTheProjectAfterCopyingEveryReferencedProjectFile(string project)
    {
        var dockerfile = Dockerfile.Load(project);
        var csproj = $"{project}/{Path.GetFileName(project)}.csproj";
        var copies = dockerfile.Stages.SelectMany(s => s.All("COPY")).ToList();

        Assert.Contains(dockerfile.Stages.SelectMany(s => s.All("RUN")), r => r.Contains("dotnet publish", StringComparison.Ordinal) && r.Contains(project, StringComparison.Ordinal));
        foreach (var reference in ProjectClosure(csproj))
        {
            var folder = Path.GetDirectoryName(reference)!.Replace('\\', '/');
            Assert.True(copies.Any(c => c.Split(' ').Any(a => a == reference || a == folder + "/*.csproj")), $"The Dockerfile must COPY {reference} before the restore (PROJECT={project})");
        }

        foreach (var shared in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json" })
        {
            Assert.Contains(copies, c => c.Split(' ').Contains(shared));
        }
    }

    [SkippableFact]
    public void GatewayImageBuildsTheGraphQLIdeWhenItHasAnNpmPackage()
    {
        Skip.IfNot(File.Exists(RepoPaths.Combine("gateway", "Chirp.Gateway", "ide", "package.json")), "The gateway has no ide/package.json.");
        var dockerfile = Dockerfile.Load("gateway/Chirp.Gateway");

        var node = Assert.Single(dockerfile.Stages, s => s.Image.StartsWith("node:", StringComparison.Ordinal));
        Assert.Contains(node.All("RUN"), r => r.Contains("npm ci", StringComparison.Ordinal));
        Assert.Contains(dockerfile.Stages.SelectMany(s => s.All("COPY")), c => c.Contains($"--from={node.Name}", StringComparison.Ordinal));
    }

    [Fact]
    public void DockerIgnoreKeepsBuildOutputsDependenciesAndSecretsOutOfTheContext()
    {
        var ignored = File.ReadAllLines(RepoPaths.Combine(".dockerignore")).Select(l => l.Trim()).ToList();
        foreach (var pattern in new[] { "**/bin/", "**/obj/", "**/node_modules/", ".keys/", ".run/", ".git/" })
        {
            Assert.Contains(pattern, ignored);
        }
    }

    private static string AssemblyName(string project)
    {
        var csproj = XDocument.Load(RepoPaths.Combine(project, Path.GetFileName(project) + ".csproj"));
        return csproj.Descendants("AssemblyName").Select(e => e.Value).FirstOrDefault() ?? Path.GetFileName(project);
    }

    /// <summary>Repository-relative paths of the project file and every project it references, transitively.</summary>
    private static HashSet<string> ProjectClosure(string csproj)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([csproj]);
        while (pending.TryPop(out var current))
        {
            if (!found.Add(current))
            {
                continue;
            }

            var folder = Path.GetDirectoryName(RepoPaths.Combine(current))!;
            foreach (var include in XDocument.Load(RepoPaths.Combine(current)).Descendants("ProjectReference").Select(e => (string?)e.Attribute("Include")))
            {
                if (include is not null)
                {
                    pending.Push(Path.GetRelativePath(RepoPaths.Root, Path.GetFullPath(Path.Combine(folder, include))).Replace('\\', '/'));
                }
            }
        }

        return found;
    }

    [GeneratedRegex(@"^(?<name>[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9._-]+)*?)(?::(?<tag>[\w.-]+))?(?:@(?<digest>sha256:[0-9a-f]{64}))?$")]
    private static partial Regex ImageReference();

    [GeneratedRegex(@"\d+\.\d+\.\d+")]
    private static partial Regex ExactVersion();

    [GeneratedRegex(@"(?<name>[A-Za-z_][A-Za-z0-9_]*)=(?<value>\S+)")]
    private static partial Regex EnvAssignment();

    /// <summary>A Dockerfile split into stages of (instruction, arguments), with continuation lines joined.</summary>
    private sealed record Dockerfile(IReadOnlyList<Dockerfile.Stage> Stages)
    {
        /// <summary>The root Dockerfile with its build argument <c>PROJECT</c> set to <paramref name="project"/>.</summary>
        public static Dockerfile Load(string project)
        {
            var path = RepoPaths.Combine("Dockerfile");
            Assert.True(File.Exists(path), "The repository has no Dockerfile");
            var logical = new List<string>();
            var current = "";
            foreach (var raw in File.ReadAllLines(path))
            {
                var line = raw.Trim();
                if (line.StartsWith('#') || line.Length == 0)
                {
                    continue;
                }

                if (line.EndsWith('\\'))
                {
                    current += line[..^1] + " ";
                    continue;
                }

                logical.Add((current + line).Replace("${PROJECT}", project, StringComparison.Ordinal).Replace("$PROJECT", project, StringComparison.Ordinal));
                current = "";
            }

            var stages = new List<Stage>();
            foreach (var line in logical)
            {
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                var instruction = line[..space].ToUpperInvariant();
                var arguments = line[(space + 1)..].Trim();
                if (instruction == "FROM")
                {
                    var parts = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(p => !p.StartsWith("--", StringComparison.Ordinal)).ToArray();
                    stages.Add(new Stage(parts[0], parts.Length >= 3 && parts[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? parts[2] : null, []));
                }
                else
                {
                    Assert.True(stages.Count > 0, $"{project}/Dockerfile: {instruction} before the first FROM");
                    stages[^1].Instructions.Add((instruction, arguments));
                }
            }

            return new Dockerfile(stages);
        }

        public sealed record Stage(string Image, string? Name, List<(string Instruction, string Arguments)> Instructions)
        {
            public IEnumerable<string> All(string instruction) =>
                Instructions.Where(i => i.Instruction == instruction).Select(i => i.Arguments);

            public string? Last(string instruction) => All(instruction).LastOrDefault();
        }
    }
}
