namespace Chirp.Testing;

/// <summary>Paths inside the Chirp repository, found from the test assembly's folder.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>
    /// The folder holding <c>Chirp.sln</c>, found by walking up from <see cref="AppContext.BaseDirectory"/>.
    /// Throws <see cref="DirectoryNotFoundException"/> when no parent folder has it.
    /// </summary>
    public static string Root => LazyRoot.Value;

    /// <summary>A path below <see cref="Root"/>, e.g. <c>RepoPaths.Combine("schema", "users.graphql")</c>.</summary>
    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Chirp.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No folder above '{AppContext.BaseDirectory}' contains Chirp.sln.");
    }
}
