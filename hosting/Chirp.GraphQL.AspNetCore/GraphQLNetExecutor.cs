using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using GraphQL;
using GraphQL.Types;
using GraphQL.Validation;
using Microsoft.Extensions.DependencyInjection;

namespace Chirp.GraphQL.AspNetCore;

/// <summary>
/// Runs operations with GraphQL.NET against <typeparamref name="TSchema"/>, so that subgraphs use the same
/// transports as the gateway. Configure the schema with <c>services.AddGraphQL(...)</c> first.
/// </summary>
public sealed class GraphQLNetExecutor<TSchema>(IDocumentExecuter<TSchema> executer, IGraphQLTextSerializer serializer) : IGraphQLExecutor
    where TSchema : ISchema
{
    /// <inheritdoc />
    public async ValueTask<GraphQLResult> ExecuteAsync(GraphQLExecutionRequest request, CancellationToken cancellationToken)
    {
        Inputs? variables;
        try
        {
            variables = request.Request.Variables is null ? null : serializer.Deserialize<Inputs>(request.Request.Variables.ToJsonString());
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or NotSupportedException)
        {
            return GraphQLResult.RequestError(GraphQLRequestFailure.VariablesInvalid, "The variables cannot be read.", "BAD_USER_INPUT");
        }

        var options = new ExecutionOptions
        {
            Query = request.Request.Query,
            Document = request.Document,
            OperationName = request.Request.OperationName,
            Variables = variables,
            User = request.User,
            RequestServices = request.HttpContext.RequestServices,
            CancellationToken = cancellationToken,
        };

        var result = await executer.ExecuteAsync(options);
        if (result.Streams is { Count: > 0 } streams)
        {
            return new GraphQLResult { Stream = ReadStream(streams.Values.First(), cancellationToken) };
        }

        return ToResult(result);
    }

    private GraphQLResult ToResult(ExecutionResult result)
    {
        var json = JsonNode.Parse(serializer.Serialize(result))!.AsObject();
        var failure = GraphQLRequestFailure.None;
        if (!result.Executed)
        {
            failure = result.Errors?.Any(e => e is InvalidVariableError) == true
                ? GraphQLRequestFailure.VariablesInvalid
                : GraphQLRequestFailure.ValidationFailed;
        }

        return new GraphQLResult
        {
            Failure = failure,
            HasData = result.Executed && json.ContainsKey("data"),
            Data = json["data"]?.DeepClone(),
            Errors = json["errors"]?.DeepClone().AsArray(),
            Extensions = json["extensions"]?.DeepClone().AsObject(),
        };
    }

    private async IAsyncEnumerable<GraphQLResult> ReadStream(IObservable<ExecutionResult> source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<ExecutionResult>(new UnboundedChannelOptions { SingleReader = true });
        using var subscription = source.Subscribe(new ChannelObserver(channel.Writer));
        await foreach (var item in channel.Reader.ReadAllAsync(cancellationToken))
        {
            yield return ToResult(item);
        }
    }

    private sealed class ChannelObserver(ChannelWriter<ExecutionResult> writer) : IObserver<ExecutionResult>
    {
        public void OnCompleted() => writer.TryComplete();

        public void OnError(Exception error) => writer.TryComplete(error);

        public void OnNext(ExecutionResult value) => writer.TryWrite(value);
    }
}

/// <summary>Registration of <see cref="GraphQLNetExecutor{TSchema}"/>.</summary>
public static class GraphQLNetExecutorExtensions
{
    /// <summary>Makes GraphQL.NET, with schema <typeparamref name="TSchema"/>, the executor behind <c>MapGraphQLHttp</c>.</summary>
    public static IServiceCollection AddGraphQLNetExecutor<TSchema>(this IServiceCollection services)
        where TSchema : ISchema
    {
        services.AddSingleton<IGraphQLExecutor, GraphQLNetExecutor<TSchema>>();
        services.AddGraphQLTransports();
        services.AddIdentityAssertionLiveAuthentication();
        return services;
    }
}
