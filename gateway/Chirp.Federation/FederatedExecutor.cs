using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.Federation.Execution;
using Chirp.Federation.Planning;
using Chirp.Federation.Schema;
using Chirp.Federation.Validation;
using Chirp.GraphQL;
using GraphQLParser.AST;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chirp.Federation;

/// <summary>
/// Runs client operations against the subgraphs of a <see cref="Supergraph"/>: selects the operation, validates
/// the document (GraphQL spec section 5), coerces variables (section 6.1.2), plans the subgraph fetches and runs
/// them. One instance serves the whole application; it caches validation results and plans by query text and
/// operation name.
/// </summary>
public sealed class FederatedExecutor
{
    private const int MaxCachedOperations = 2000;

    private readonly Supergraph _supergraph;
    private readonly ILogger _logger;
    private readonly FederationLimits _limits;
    private readonly AuthRequirement[] _requirements;
    private readonly ConcurrentDictionary<(string Query, string? OperationName), OperationEntry> _operations = new();

    public FederatedExecutor(Supergraph supergraph)
        : this(supergraph, null)
    {
    }

    /// <summary>An executor that logs subgraph failures and unexpected faults to <paramref name="logger"/>.</summary>
    public FederatedExecutor(Supergraph supergraph, ILogger<FederatedExecutor>? logger)
        : this(supergraph, logger, null)
    {
    }

    /// <summary>An executor that refuses operations beyond <paramref name="limits"/> (the defaults when null).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is below 1.</exception>
    public FederatedExecutor(Supergraph supergraph, ILogger<FederatedExecutor>? logger, FederationLimits? limits)
    {
        _supergraph = supergraph ?? throw new ArgumentNullException(nameof(supergraph));
        _limits = limits ?? new FederationLimits();
        _limits.Verify();
        _logger = logger ?? NullLogger<FederatedExecutor>.Instance;
        _requirements = [.. supergraph.Types.Values
            .SelectMany(t => t.Fields.Values)
            .Select(f => f.Auth)
            .OfType<AuthRequirement>()
            .DistinctBy(a => a.Id)];
    }

    /// <summary>
    /// Runs the operation the caller selected (<see cref="FederatedRequest.Operation"/>): validates it, coerces its
    /// variables, plans it and runs the plan. A subscription is planned, not run: the result's
    /// <see cref="GraphQLResult.Stream"/> opens it on its subgraph through <paramref name="subscriber"/> when enumerated
    /// and completes every event with the fields other subgraphs own.
    /// </summary>
    /// <param name="request">The operation and its caller.</param>
    /// <param name="transport">Sends the fetches of a query or mutation, carrying the caller's identity.</param>
    /// <param name="subscriber">Opens a subscription on its subgraph and gives the transport for each event's fetches.</param>
    /// <param name="cancellationToken">Cancels the fetches (a subscription's stream takes its own token when enumerated).</param>
    /// <returns>
    /// The response. Request errors (invalid document, bad variables, no matching operation) come back as a
    /// <see cref="GraphQLResult.Failure"/> without data; subgraph failures as field errors with null data where
    /// they struck; a subscription field the caller may not see as its errors, with nothing to subscribe to. The
    /// caller disposes <see cref="GraphQLResult.Lease"/> once the response is written. Throws only
    /// <see cref="OperationCanceledException"/>.
    /// </returns>
    public async Task<GraphQLResult> ExecuteAsync(
        FederatedRequest request, ISubgraphTransport transport, ISubgraphSubscriber subscriber, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(subscriber);
        var operationName = request.Request.OperationName;
        var (refusal, plan, variables) = await PrepareAsync(request);
        if (refusal is not null)
        {
            return refusal;
        }

        if (plan!.Operation != OperationType.Subscription)
        {
            return await RunAsync(plan, transport, variables!, operationName, null, cancellationToken);
        }

        var root = plan.RootFetches.FirstOrDefault();
        if (root is null)
        {
            // The subscription field is denied to this caller: the result holds its error.
            return await RunAsync(plan, new NoTransport(), variables!, operationName, null, cancellationToken);
        }

        var subgraphVariables = new JsonObject();
        foreach (var name in root.Variables)
        {
            if (variables!.TryGetPropertyValue(name, out var value))
            {
                subgraphVariables[name] = value?.DeepClone();
            }
        }

        var subscription = new FederatedSubscription(
            root.Subgraph,
            new SubgraphRequest(root.Document, subgraphVariables.Count == 0 ? null : subgraphVariables, root.OperationName),
            (response, eventTransport, token) => RunAsync(plan, eventTransport, variables!, operationName, SubgraphResponse.FromJson(response), token));
        return new GraphQLResult { Stream = subscription.EventsAsync(subscriber, CancellationToken.None) };
    }

    private async Task<(GraphQLResult? Refusal, QueryPlan? Plan, JsonObject? Variables)> PrepareAsync(FederatedRequest request)
    {
        var (query, operationName, rawVariables, _) = request.Request;
        var operation = request.Operation;
        if (operation is null)
        {
            var message = operationName is null
                ? "The document holds several operations; say which one to run with operationName."
                : $"The document has no operation named '{operationName}'.";
            return (Refuse(GraphQLRequestFailure.OperationNotFound, [GraphQLErrors.Create(message, RequestErrorCodes.OperationNotFound)]), null, null);
        }

        var entry = await GetEntryAsync(query, operationName, request.Document, operation);
        if (entry.ValidationErrors.Count > 0)
        {
            return (Refuse(GraphQLRequestFailure.ValidationFailed, [.. entry.ValidationErrors.Select(e => e.DeepClone())]), null, null);
        }

        var coercionErrors = new List<JsonObject>();
        var variables = VariableCoercion.Coerce(_supergraph, operation, rawVariables, entry.Lines, coercionErrors);
        if (coercionErrors.Count > 0)
        {
            return (Refuse(GraphQLRequestFailure.VariablesInvalid, [.. coercionErrors]), null, null);
        }

        using var planning = FederationActivity.StartPlan();
        try
        {
            return (null, GetPlan(entry, request.Caller, variables), variables);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            planning?.SetStatus(ActivityStatusCode.Error);
            // A supergraph the planner cannot serve (QueryPlanningException) or a planner fault: not the client's doing.
            _logger.LogError(e, "Planning operation {OperationName} failed.", operationName);
            var failed = new GraphQLResult { HasData = true, Errors = [GraphQLErrors.Create("The gateway cannot split this operation over its services.", ErrorCodes.Internal)] };
            return (failed, null, null);
        }
    }

    private async Task<GraphQLResult> RunAsync(
        QueryPlan plan,
        ISubgraphTransport transport,
        JsonObject variables,
        string? operationName,
        SubgraphResponse? rootResponse,
        CancellationToken cancellationToken)
    {
        try
        {
            using var execution = new PlanExecution(plan, _supergraph.Api, transport, variables, _logger, rootResponse);
            return await execution.RunAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _logger.LogError(e, "Executing operation {OperationName} failed unexpectedly.", operationName);
            return new GraphQLResult { HasData = true, Errors = [GraphQLErrors.Create("An unexpected error occurred.", ErrorCodes.Internal)] };
        }
    }

    /// <summary>
    /// The plan for <paramref name="operationName"/> in <paramref name="document"/> as a caller who may see every field
    /// would get it, with <c>@skip</c>/<c>@include</c> decided by variable defaults (false without one). The document
    /// is assumed valid.
    /// </summary>
    /// <exception cref="ArgumentException">No operation matches <paramref name="operationName"/>.</exception>
    /// <exception cref="InvalidOperationException">The operation cannot be planned (for example, it names an unknown field).</exception>
    public QueryPlan Plan(GraphQLDocument document, string? operationName) => Plan(document, operationName, null, null);

    /// <summary>The plan for one caller and set of variable values (coerced), as <see cref="ExecuteAsync"/> would use it.</summary>
    /// <exception cref="ArgumentException">No operation matches <paramref name="operationName"/>.</exception>
    /// <exception cref="InvalidOperationException">The operation cannot be planned (for example, it names an unknown field).</exception>
    public QueryPlan Plan(GraphQLDocument document, string? operationName, CallerContext? caller, JsonObject? variables)
    {
        ArgumentNullException.ThrowIfNull(document);
        var operation = GraphQLOperations.Select(document, operationName)
            ?? throw new ArgumentException($"The document has no operation '{operationName}'.", nameof(operationName));
        var coerced = variables ?? DefaultsOf(operation);
        var conditions = ConditionVariables(document).ToDictionary(n => n, n => coerced[n] is JsonValue v && v.TryGetValue<bool>(out var b) && b);
        try
        {
            return new QueryPlanner(_supergraph, document, operation, conditions, caller is null ? _ => null : a => a.Check(caller)).Plan();
        }
        catch (QueryPlanningException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }
    }

    private QueryPlan GetPlan(OperationEntry entry, CallerContext caller, JsonObject variables)
    {
        var key = new StringBuilder(_requirements.Length + entry.Conditions.Count + 1);
        foreach (var requirement in _requirements)
        {
            key.Append(requirement.Check(caller)?.Code[0] ?? '+');
        }

        key.Append('|');
        var conditions = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var name in entry.Conditions)
        {
            var value = variables[name] is JsonValue v && v.TryGetValue<bool>(out var b) && b;
            conditions[name] = value;
            key.Append(value ? '1' : '0');
        }

        return entry.Plans.GetOrAdd(key.ToString(), _ =>
            new QueryPlanner(_supergraph, entry.Document, entry.Operation, conditions, a => a.Check(caller)).Plan());
    }

    private async Task<OperationEntry> GetEntryAsync(string query, string? operationName, GraphQLDocument document, GraphQLOperationDefinition operation)
    {
        if (_operations.TryGetValue((query, operationName), out var entry))
        {
            return entry;
        }

        var lines = new SourceLines(document);
        // Limits first, so an abusive document is not validated at length; the schema checks last, on a document
        // that is otherwise valid (they assume known fields and fragments).
        var errors = OperationChecks.CheckLimits(document, operation, _limits, lines);
        if (errors.Count == 0 && _supergraph.RootTypeName(operation.Operation) is not null)
        {
            errors = await _supergraph.Api.ValidateAsync(document, operation);
        }

        if (errors.Count == 0)
        {
            errors = OperationChecks.CheckSchema(_supergraph, document, operation, lines);
        }

        entry = new OperationEntry(document, operation, errors, [.. ConditionVariables(document)], lines);
        if (_operations.Count >= MaxCachedOperations)
        {
            // A crude bound: clients that send ever-new documents must not grow the cache without limit.
            _operations.Clear();
        }

        return _operations.GetOrAdd((query, operationName), entry);
    }

    private static JsonObject DefaultsOf(GraphQLOperationDefinition operation)
    {
        var defaults = new JsonObject();
        foreach (var definition in operation.Variables?.Items ?? [])
        {
            if (definition.DefaultValue is not null)
            {
                defaults[definition.Variable.Name.StringValue] = VariableCoercion.FromLiteral(definition.DefaultValue);
            }
        }

        return defaults;
    }

    /// <summary>The variables that <c>@skip(if:)</c> and <c>@include(if:)</c> read anywhere in the document.</summary>
    private static HashSet<string> ConditionVariables(GraphQLDocument document)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var definition in document.Definitions)
        {
            switch (definition)
            {
                case GraphQLOperationDefinition operation:
                    Scan(operation.SelectionSet);
                    break;
                case GraphQLFragmentDefinition fragment:
                    Scan(fragment.SelectionSet);
                    break;
            }
        }

        return names;

        void Scan(GraphQLSelectionSet? set)
        {
            foreach (var selection in set?.Selections ?? [])
            {
                if (selection is IHasDirectivesNode { Directives: { } directives })
                {
                    foreach (var directive in directives.Items)
                    {
                        if (directive.Name.StringValue is "skip" or "include"
                            && directive.Arguments?.Items.FirstOrDefault()?.Value is GraphQLVariable variable)
                        {
                            names.Add(variable.Name.StringValue);
                        }
                    }
                }

                Scan((selection as IHasSelectionSetNode)?.SelectionSet);
            }
        }
    }

    private static GraphQLResult Refuse(GraphQLRequestFailure failure, List<JsonNode> errors) =>
        new() { Failure = failure, Errors = [.. errors] };

    private sealed class NoTransport : ISubgraphTransport
    {
        public Task<SubgraphResponse> ExecuteAsync(string subgraphName, SubgraphRequest request, CancellationToken cancellationToken) =>
            throw new SubgraphUnavailableException(subgraphName, "No transport: the plan was not expected to send anything.");
    }

    private sealed record OperationEntry(
        GraphQLDocument Document,
        GraphQLOperationDefinition Operation,
        List<JsonObject> ValidationErrors,
        List<string> Conditions,
        SourceLines Lines)
    {
        public ConcurrentDictionary<string, QueryPlan> Plans { get; } = new(StringComparer.Ordinal);
    }
}
