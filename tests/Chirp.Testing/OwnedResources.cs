namespace Chirp.Testing;

/// <summary>Ends what a test fixture started (servers, hosts, processes).</summary>
public static class OwnedResources
{
    /// <summary>
    /// Disposes each of <paramref name="owned"/> in order (callers keep the last started first); a failure is written to
    /// stderr and the rest are still disposed, so one stuck server does not leak the others.
    /// </summary>
    public static async Task DisposeAllAsync(IEnumerable<IAsyncDisposable> owned)
    {
        foreach (var resource in owned)
        {
            try
            {
                await resource.DisposeAsync();
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"Cleanup failed: {e.Message}");
            }
        }
    }
}
