using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.Federation.Execution;
using Chirp.Federation.Planning;
using Chirp.Federation.Schema;
using Chirp.Federation.Validation;
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
    /// Runs one operation: selects it (GraphQL spec section 6.1, GetOperation) once, validates it, coerces its variables,
    /// plans it and runs the plan. A subscription is planned, not run: the result carries it in
    /// <see cref="FederatedResult.Subscription"/>; the caller subscribes to <see cref="FederatedSubscription.Subgraph"/>
    /// with <see cref="FederatedSubscription.Request"/> and passes each event to <see cref="FederatedSubscription.ResolveEventAsync"/>.
    /// </summary>
    /// <returns>
    /// The response. Request errors (invalid document, bad variables, unknown operation) come back as a
    /// <see cref="FederatedResult.Failure"/> without data; subgraph failures as field errors with null data where
    /// they struck; a subscription field the caller may not see as its errors, with nothing to subscribe to. Throws
    /// only <see cref="OperationCanceledException"/>.
    /// </returns>
    public async Task<FederatedResult> ExecuteAsync(FederatedRequest request, ISubgraphTransport transport, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        var (refusal, plan, variables) = await PrepareAsync(request);
        if (refusal is not null)
        {
            return refusal;
        }

        if (plan!.Operation != OperationType.Subscription)
        {
            return await RunAsync(plan, transport, variables!, request.OperationName, null, cancellationToken);
        }

        var root = plan.RootFetches.FirstOrDefault();
        if (root is null)
        {
            // The subscription field is denied to this caller: the result holds its error.
            return await RunAsync(plan, new NoTransport(), variables!, request.OperationName, null, cancellationToken);
        }

        var subgraphVariables = new JsonObject();
        foreach (var name in root.Variables)
        {
            if (variables!.TryGetPropertyValue(name, out var value))
            {
                subgraphVariables[name] = value?.DeepClone();
            }
        }

        return new FederatedResult(new FederatedSubscription(
            root.Subgraph,
            new SubgraphRequest(root.Document, subgraphVariables.Count == 0 ? null : subgraphVariables, root.OperationName),
            (response, eventTransport, token) => RunAsync(plan, eventTransport, variables!, request.OperationName, SubgraphResponse.FromJson(response), token)));
    }

    private async Task<(FederatedResult? Refusal, QueryPlan? Plan, JsonObject? Variables)> PrepareAsync(FederatedRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var operation = SelectOperation(request.Document, request.OperationName);
        if (operation is null)
        {
            var message = request.OperationName is null
                ? "The document holds several operations; say which one to run with operationName."
                : $"The document has no operation named '{request.OperationName}'.";
            return (Refuse(FederatedFailure.OperationNotFound, [Error(message, RequestErrorCodes.OperationNotFound)]), null, null);
        }

        var entry = await GetEntryAsync(request.Query, request.OperationName, request.Document, operation);
        if (entry.ValidationErrors.Count > 0)
        {
            return (Refuse(FederatedFailure.ValidationFailed, [.. entry.ValidationErrors.Select(e => e.DeepClone())]), null, null);
        }

        var coercionErrors = new List<JsonObject>();
        var variables = VariableCoercion.Coerce(_supergraph, operation, request.Variables, entry.Lines, coercionErrors);
        if (coercionErrors.Count > 0)
        {
            return (Refuse(FederatedFailure.VariablesInvalid, [.. coercionErrors]), null, null);
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
            _logger.LogError(e, "Planning operation {OperationName} failed.", request.OperationName);
            var failed = new FederatedResult(true, [Error("The gateway cannot split this operation over its services.", ErrorCodes.Internal)]);
            return (failed, null, null);
        }
    }

    private async Task<FederatedResult> RunAsync(
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
            return new FederatedResult(true, [Error("An unexpected error occurred.", ErrorCodes.Internal)]);
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
        var operation = SelectOperation(document, operationName)
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

    private static GraphQLOperationDefinition? SelectOperation(GraphQLDocument document, string? operationName)
    {
        GraphQLOperationDefinition? found = null;
        foreach (var operation in document.Definitions.OfType<GraphQLOperationDefinition>())
        {
            if (operationName is null)
            {
                if (found is not null)
                {
                    return null;
                }

                found = operation;
            }
            else if (operation.Name?.StringValue == operationName)
            {
                return operation;
            }
        }

        return found;
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

    private static FederatedResult Refuse(FederatedFailure failure, List<JsonNode> errors) =>
        new(false, [.. errors], failure);

    private static JsonObject Error(string message, string code) =>
        new() { ["message"] = message, ["extensions"] = new JsonObject { ["code"] = code } };

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
