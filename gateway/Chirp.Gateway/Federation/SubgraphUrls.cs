using Chirp.Federation.Schema;

namespace Chirp.Gateway.Federation;

/// <summary>
/// Where each subgraph listens: <c>Subgraphs:&lt;name&gt;:Url</c> from configuration, else the supergraph's default.
/// </summary>
public sealed class SubgraphUrls(IConfiguration configuration, Supergraph supergraph)
{
    /// <summary>The GraphQL endpoint URL of subgraph <paramref name="name"/> (e.g. <c>users</c>).</summary>
    /// <exception cref="InvalidOperationException">The configured URL is not absolute.</exception>
    public Uri Get(string name)
    {
        var configured = configuration[$"Subgraphs:{name}:Url"];
        if (string.IsNullOrEmpty(configured))
        {
            return supergraph.DefaultUrl(name);
        }

        return Uri.TryCreate(configured, UriKind.Absolute, out var uri)
            ? uri
            : throw new InvalidOperationException($"Subgraphs:{name}:Url is not an absolute URL.");
    }
}
