using Chirp.Federation;
using Chirp.Federation.Schema;
using Chirp.Gateway.Auth;
using Chirp.Gateway.Federation;
using Chirp.IdentityAssertions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Chirp.Gateway;

/// <summary>
/// The gateway's readiness (<c>/health/ready</c>, check <see cref="Name"/>): its access-token keys sign a token that
/// the strict validator accepts, its identity-assertion keys sign an assertion that verifies, and the supergraph is
/// loaded with a URL for every subgraph and an executor over it. Keys are used, not just counted, so a key that
/// loads but cannot sign or verify keeps the replica out of the load balancer.
/// </summary>
public sealed class GatewayReadiness(IServiceProvider services) : IHealthCheck
{
    /// <summary>The health check's name.</summary>
    public const string Name = "keys-and-supergraph";

    /// <summary>Healthy, or unhealthy with what is missing (a key folder, a key, the supergraph); never throws.</summary>
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await VerifyAsync();
            return HealthCheckResult.Healthy();
        }
        catch (Exception e)
        {
            // Any failure to build or use a key or the supergraph means not ready; the messages name settings, never key bytes.
            return HealthCheckResult.Unhealthy(e.Message, e);
        }
    }

    /// <summary>Builds the keys and the supergraph (if not built yet) and uses them once.</summary>
    /// <exception cref="InvalidOperationException">A key is missing, does not sign or does not verify, or a subgraph has no URL.</exception>
    /// <exception cref="SupergraphException">The supergraph does not load.</exception>
    public async Task VerifyAsync()
    {
        var issuer = services.GetRequiredService<TokenIssuer>();
        var keys = services.GetRequiredService<SigningKeys>();
        if (keys.Find(keys.Signing.KeyId) is null)
        {
            throw new InvalidOperationException("The token signing key is not among the keys that verify.");
        }

        string token;
        try
        {
            (token, _, _) = issuer.Issue(new TokenSubject("readiness", "readiness", "readiness", ""), "readiness");
        }
        catch (Exception e) when (e is not InvalidOperationException)
        {
            // E.g. a key file that holds only a public key: it loads and verifies, but cannot sign.
            throw new InvalidOperationException($"The token signing key '{keys.Signing.KeyId}' cannot sign.", e);
        }

        var validated = await issuer.Handler.ValidateTokenAsync(token, issuer.ValidationParameters());
        if (!validated.IsValid)
        {
            throw new InvalidOperationException("A token signed with the signing key does not validate.");
        }

        var codec = services.GetRequiredService<IdentityAssertionCodec>();
        if (codec.Verify(codec.Sign("readiness", "readiness", "readiness", "")) is null)
        {
            throw new InvalidOperationException($"An identity assertion signed with key '{codec.SigningKeyId}' does not verify.");
        }

        var supergraph = services.GetRequiredService<Supergraph>();
        var urls = services.GetRequiredService<SubgraphUrls>();
        if (supergraph.SubgraphNames.Count == 0)
        {
            throw new InvalidOperationException("The supergraph names no subgraph.");
        }

        foreach (var name in supergraph.SubgraphNames)
        {
            _ = urls.Get(name);
        }

        _ = services.GetRequiredService<FederatedExecutor>();
    }
}
