using Chirp.GraphQL.AspNetCore;
using Chirp.Hosting;
using Chirp.IdentityAssertions;
using GraphQL;
using GraphQL.Types;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace Chirp.Subgraphs;

/// <summary>
/// What every Chirp subgraph (users, tweets, the email worker's notifications) wires the same way, so each keeps only
/// its own types and rules (docs/architecture.md section 1).
/// </summary>
public static class SubgraphKit
{
    /// <summary>
    /// Service defaults under <paramref name="serviceName"/>, the identity assertions of the gateway, and
    /// <typeparamref name="TSchema"/> as an Apollo Federation subgraph: every graph type of its assembly, the access
    /// directives it <paramref name="imports"/> (<see cref="AccessDirectives"/>), Chirp's error shaping and the
    /// executor behind <c>/graphql</c>. <paramref name="translate"/> turns a domain exception of the subgraph into a
    /// coded error (<see cref="CodedErrors"/>); return null for anything else, which is then INTERNAL.
    /// </summary>
    public static IHostApplicationBuilder AddChirpSubgraph<TSchema>(this IHostApplicationBuilder builder, string serviceName,
        string[] imports, Func<Exception, ExecutionError?>? translate = null)
        where TSchema : class, ISchema
    {
        builder.AddChirpServiceDefaults(serviceName);
        builder.AddChirpIdentityAssertions();
        builder.Services.AddGraphQL(graphql => graphql
            .AddSchema<TSchema>()
            .AddSystemTextJson()
            .AddChirpFederation(imports)
            .AddGraphTypes(typeof(TSchema).Assembly)
            .AddChirpErrorShaping(translate));
        builder.Services.AddGraphQLNetExecutor<TSchema>();
        return builder;
    }

    /// <summary>
    /// The pipeline of <see cref="AddChirpSubgraph{TSchema}"/>: service defaults, the identity assertion check,
    /// <c>/health/live</c>, <c>/health/ready</c> and every GraphQL transport at <c>/graphql</c>.
    /// </summary>
    public static WebApplication MapChirpSubgraph(this WebApplication app)
    {
        app.UseChirpServiceDefaults();
        app.UseChirpIdentityAssertions();
        app.MapChirpHealth();
        app.MapGraphQLHttp("/graphql");
        return app;
    }
}
