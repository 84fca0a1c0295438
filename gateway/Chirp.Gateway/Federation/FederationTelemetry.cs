using System.Diagnostics;
using System.Diagnostics.Metrics;
using Chirp.Federation;
using Chirp.GraphQL;
using Chirp.Hosting;

namespace Chirp.Gateway.Federation;

/// <summary>
/// The gateway's spans and metrics around the federation engine, kept at its boundary (the executor adapter and the
/// subgraph transport) so the engine itself stays free of telemetry. Names: docs/architecture.md section 8.
/// </summary>
internal static class FederationTelemetry
{
    /// <summary>Attribute naming the subgraph of a fetch.</summary>
    public const string SubgraphAttribute = "chirp.subgraph.name";

    /// <summary>Attribute saying what a fetch asks: <c>root</c> (a query or mutation field) or <c>entities</c> (<c>_entities</c>).</summary>
    public const string FetchKindAttribute = "chirp.fetch.kind";

    /// <summary>Client operations by <c>graphql.operation.type</c> and, for failed ones, <c>error.type</c>; seconds.</summary>
    private static readonly Histogram<double> OperationDuration = Telemetry.Meter.CreateHistogram<double>(
        "chirp.gateway.operation.duration", "s", "Duration of client GraphQL operations run by the gateway (plan and every fetch).");

    /// <summary>Subgraph fetches by subgraph, fetch kind and, for failed ones, <c>error.type</c>; seconds.</summary>
    private static readonly Histogram<double> FetchDuration = Telemetry.Meter.CreateHistogram<double>(
        "chirp.gateway.fetch.duration", "s", "Duration of the gateway's fetches from subgraphs.");

    /// <summary>
    /// Starts the span of one client operation (plan and execution), named as OpenTelemetry's GraphQL conventions say:
    /// <c>{graphql.operation.type} {graphql.operation.name}</c>.
    /// </summary>
    public static Activity? StartOperation(string operationType, string? operationName)
    {
        if (Unrecorded)
        {
            return null;
        }

        var activity = Telemetry.ActivitySource.StartActivity(operationName is null ? operationType : $"{operationType} {operationName}");
        activity?.SetTag("graphql.operation.type", operationType);
        activity?.SetTag("graphql.operation.name", operationName);
        return activity;
    }

    /// <summary>Ends an operation: its error type (the refusal, or <c>graphql_error</c> when the result holds errors) and its duration.</summary>
    public static void EndOperation(Activity? activity, string operationType, GraphQLResult result, long startedAt)
    {
        string? error = result.Failure != GraphQLRequestFailure.None ? result.Failure.ToString()
            : result.Errors is { Count: > 0 } ? "graphql_error" : null;
        if (error is not null)
        {
            activity?.SetTag("error.type", error);
            activity?.SetStatus(ActivityStatusCode.Error);
        }

        OperationDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds,
            new KeyValuePair<string, object?>("graphql.operation.type", operationType),
            new KeyValuePair<string, object?>("error.type", error));
    }

    /// <summary>Starts the span of one subgraph fetch; the HTTP client span nests under it.</summary>
    public static Activity? StartFetch(string subgraphName, SubgraphRequest request)
    {
        if (Unrecorded)
        {
            return null;
        }

        var activity = Telemetry.ActivitySource.StartActivity($"fetch {subgraphName}", ActivityKind.Client);
        activity?.SetTag(SubgraphAttribute, subgraphName);
        activity?.SetTag(FetchKindAttribute, FetchKind(request));
        return activity;
    }

    /// <summary>Ends a fetch: its duration, and <c>error.type</c> when it threw.</summary>
    public static void EndFetch(Activity? activity, string subgraphName, SubgraphRequest request, long startedAt, Exception? failure)
    {
        if (failure is not null)
        {
            activity.RecordFailure(failure);
        }

        FetchDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds,
            new KeyValuePair<string, object?>(SubgraphAttribute, subgraphName),
            new KeyValuePair<string, object?>(FetchKindAttribute, FetchKind(request)),
            new KeyValuePair<string, object?>("error.type", failure?.GetType().FullName));
    }

    // Under a span that is not recorded (a trace nobody samples), a child span would not be either: skipping it saves
    // its allocation on the hot path, and the trace id still flows through the request's own span.
    private static bool Unrecorded => Activity.Current is { IsAllDataRequested: false };

    private static string FetchKind(SubgraphRequest request) => request.IsEntityFetch ? "entities" : "root";
}
