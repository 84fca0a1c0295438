using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.IdentityAssertions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Chirp.GraphQL.AspNetCore;

/// <summary>Registration of the GraphQL transports (HTTP, SSE, graphql-transport-ws) and their limits.</summary>
public static class GraphQLTransports
{
    /// <summary>
    /// Registers what the transports need besides an <see cref="IGraphQLExecutor"/>: the registry of live connections
    /// (ended with 1001 when the process stops) and <see cref="GraphQLLiveOptions"/> from <c>GraphQL:Live</c>.
    /// </summary>
    public static IServiceCollection AddGraphQLTransports(this IServiceCollection services)
    {
        services.AddOptions<GraphQLLiveOptions>().BindConfiguration(GraphQLLiveOptions.SectionName)
            .Validate(o => o.MaxMessageBytes > 0 && o.MaxOperationsPerConnection > 0 && o.MaxSubscriptionsPerUser > 0 && o.ConnectionInitTimeout > TimeSpan.Zero && o.SseKeepAliveInterval > TimeSpan.Zero,
                "GraphQL:Live limits must be positive.")
            .ValidateOnStart();
        services.TryAddSingleton<LiveConnections>();
        services.AddHostedService(sp => sp.GetRequiredService<LiveConnections>());
        return services;
    }

    /// <summary>
    /// Subgraphs: a WebSocket runs as the caller named by the gateway's identity assertion in the <c>connection_init</c>
    /// payload (<c>{"Chirp-Identity": "&lt;assertion&gt;"}</c>), checked once when the socket opens.
    /// </summary>
    public static IServiceCollection AddIdentityAssertionLiveAuthentication(this IServiceCollection services)
    {
        services.AddSingleton<ILiveConnectionAuthenticator, IdentityAssertionLiveAuthenticator>();
        return services;
    }

    private sealed class IdentityAssertionLiveAuthenticator(IdentityAssertionCodec codec) : ILiveConnectionAuthenticator
    {
        public ValueTask<LiveAuthentication?> AuthenticateAsync(HttpContext context, JsonObject? initPayload, CancellationToken cancellationToken)
        {
            if (initPayload is null || !initPayload.TryGetPropertyValue(ChirpHeaders.Identity, out var value) || value is null)
            {
                return ValueTask.FromResult<LiveAuthentication?>(new(new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity()), null));
            }

            // The socket outlives the assertion's minute: it is checked here, once, and the socket keeps the caller.
            var payload = value is JsonValue v && v.TryGetValue<string>(out var text) ? codec.Verify(text) : null;
            return ValueTask.FromResult(payload is null ? null : new LiveAuthentication(payload.ToPrincipal(), null));
        }

        public DateTimeOffset? ExpiryOf(HttpContext context) => null;
    }
}
