using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.Federation.Schema;
using Microsoft.Extensions.Logging;

namespace Chirp.Federation.Execution;

/// <summary>
/// Runs one <see cref="QueryPlan"/> for one request: sends the fetches (each as soon as the fetches it depends on
/// are done), merges their data into one response tree, then builds the client's response from it with null
/// propagation (GraphQL spec section 6.4.4, "Handling Field Errors") and client error paths.
/// For a subscription event, <paramref name="rootResponse"/> is the subgraph's event: it stands for the answer of
/// the (single) root fetch.
/// </summary>
internal sealed partial class PlanExecution(
    QueryPlan plan,
    ApiSchema api,
    ISubgraphTransport transport,
    JsonObject variables,
    ILogger logger,
    JsonObject? rootResponse = null)
{
    private readonly JsonObject _data = [];
    private readonly List<ErrorEntry> _errors = [];
    private readonly Lock _gate = new();

    /// <summary>Runs the plan and builds the response.</summary>
    public async Task<FederatedResult> RunAsync(CancellationToken cancellationToken)
    {
        var tasks = new Task[plan.Fetches.Count + 1];
        for (var i = 0; i < plan.Fetches.Count; i++)
        {
            tasks[i] = RunFetchAsync(plan.Fetches[i], tasks, cancellationToken);
        }

        tasks[^1] = plan.Introspection is null ? Task.CompletedTask : RunIntrospectionAsync(plan.Introspection, cancellationToken);
        await Task.WhenAll(tasks);
        return Complete();
    }

    private async Task RunFetchAsync(FetchNode fetch, Task[] tasks, CancellationToken cancellationToken)
    {
        foreach (var dependency in fetch.DependsOn)
        {
            // Dependencies come earlier in the plan, so their tasks exist already.
            await tasks[dependency.Id];
        }

        if (fetch.IsRoot)
        {
            await RunRootFetchAsync(fetch, cancellationToken);
        }
        else
        {
            await RunEntityFetchAsync(fetch, cancellationToken);
        }
    }

    private async Task RunRootFetchAsync(FetchNode fetch, CancellationToken cancellationToken)
    {
        var response = rootResponse ?? await SendAsync(fetch, SelectVariables(fetch, null), cancellationToken);
        lock (_gate)
        {
            if (response is null)
            {
                foreach (var key in fetch.RootKeys)
                {
                    AddError([key], Unavailable(fetch.Subgraph), ErrorCodes.Unavailable);
                }

                return;
            }

            var data = response["data"] as JsonObject;
            var errors = response["errors"] as JsonArray;
            if (data is not null)
            {
                response.Remove("data");
                Merge(_data, data);
            }

            foreach (var error in errors?.OfType<JsonObject>() ?? [])
            {
                AddSubgraphError(error, [], ReadPath(error));
            }

            if (data is null && errors is not { Count: > 0 })
            {
                foreach (var key in fetch.RootKeys)
                {
                    AddError([key], $"The {fetch.Subgraph} service answered without data.", ErrorCodes.Internal);
                }
            }
        }
    }

    private async Task RunEntityFetchAsync(FetchNode fetch, CancellationToken cancellationToken)
    {
        var batches = new List<Batch>(fetch.Batches.Count);
        lock (_gate)
        {
            foreach (var batch in fetch.Batches)
            {
                var collected = new Batch(batch);
                foreach (var location in batch.Locations)
                {
                    Walk(_data, location, 0, [], target => collected.Add(location, target));
                }

                batches.Add(collected);
            }
        }

        if (batches.All(b => b.Representations.Count == 0))
        {
            return; // nothing to complete: no call at all
        }

        var selected = SelectVariables(fetch, batches);
        var response = await SendAsync(fetch, selected, cancellationToken);
        lock (_gate)
        {
            if (response is null)
            {
                foreach (var target in batches.SelectMany(b => b.AllTargets))
                {
                    AddError(target.Path, Unavailable(fetch.Subgraph), ErrorCodes.Unavailable);
                }

                return;
            }

            var data = response["data"] as JsonObject;
            var errors = response["errors"] as JsonArray;
            var failed = new HashSet<(Batch, int)>();
            foreach (var error in errors?.OfType<JsonObject>() ?? [])
            {
                var path = ReadPath(error);
                var batch = path is [string key, int index, ..] && index >= 0
                    ? batches.FirstOrDefault(b => b.Definition.ResponseKey == key && index < b.Targets.Count)
                    : null;
                if (batch is not null)
                {
                    if (path.Count == 2)
                    {
                        // The error is the entity's own (its lookup failed), not a field's whose null reached it.
                        failed.Add((batch, (int)path[1]));
                    }

                    foreach (var target in batch.Targets[(int)path[1]])
                    {
                        AddSubgraphError(error, target.Path, path[2..]);
                    }
                }
                else
                {
                    foreach (var target in batches.SelectMany(b => b.AllTargets))
                    {
                        AddSubgraphError(error, target.Path, []);
                    }
                }
            }

            foreach (var batch in batches)
            {
                if (batch.Representations.Count == 0)
                {
                    continue;
                }

                if (data?[batch.Definition.ResponseKey] is not JsonArray entities || entities.Count != batch.Representations.Count)
                {
                    if (errors is not { Count: > 0 })
                    {
                        foreach (var target in batch.AllTargets)
                        {
                            AddError(target.Path, $"The {fetch.Subgraph} service gave an invalid answer.", ErrorCodes.Internal);
                        }
                    }

                    continue;
                }

                // Detach the results so they can move into the merged response.
                var results = entities.ToList();
                entities.Clear();
                for (var i = 0; i < results.Count; i++)
                {
                    var entity = results[i] as JsonObject;
                    var places = batch.Targets[i];
                    for (var j = 0; j < places.Count; j++)
                    {
                        if (entity is null && failed.Contains((batch, i)))
                        {
                            // The subgraph failed on this entity: only the fields it was to add are missing (null, or
                            // null propagation under the error already reported), not the object other subgraphs gave.
                            continue;
                        }

                        if (entity is null)
                        {
                            // The owner does not know this entity: the object is null (null propagation decides the rest).
                            places[j].SetNull();
                        }
                        else
                        {
                            Merge(places[j].Object, j == places.Count - 1 ? entity : (JsonObject)JsonTrees.Copy(entity)!);
                        }
                    }
                }
            }
        }
    }

    private static string Unavailable(string subgraph) => $"The {subgraph} service is unavailable.";

    private async Task RunIntrospectionAsync(FetchNode fetch, CancellationToken cancellationToken)
    {
        var data = await api.ExecuteIntrospectionAsync(fetch.Document, SelectVariables(fetch, null), cancellationToken);
        lock (_gate)
        {
            if (data is not null)
            {
                Merge(_data, data);
            }
        }
    }

    private async Task<JsonObject?> SendAsync(FetchNode fetch, JsonObject? fetchVariables, CancellationToken cancellationToken)
    {
        try
        {
            return await transport.ExecuteAsync(fetch.Subgraph, new SubgraphRequest(fetch.Document, fetchVariables, fetch.OperationName), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (SubgraphUnavailableException e)
        {
            // Its message may name hosts: it goes to the log, never to the client.
            logger.LogWarning(e, "The {Subgraph} subgraph is unavailable.", fetch.Subgraph);
            return null;
        }
        catch (Exception e)
        {
            logger.LogError(e, "Sending a request to the {Subgraph} subgraph failed.", fetch.Subgraph);
            return null;
        }
    }

    private JsonObject? SelectVariables(FetchNode fetch, List<Batch>? batches)
    {
        if (fetch.Variables.Count == 0 && batches is null)
        {
            return null;
        }

        var selected = new JsonObject();
        foreach (var batch in batches ?? [])
        {
            selected[batch.Definition.Variable] = batch.Representations;
        }

        foreach (var name in fetch.Variables)
        {
            if (variables.TryGetPropertyValue(name, out var value))
            {
                selected[name] = value?.DeepClone();
            }
        }

        return selected;
    }

    /// <summary>Deep-merges <paramref name="source"/> into <paramref name="target"/>, moving its nodes.</summary>
    private static void Merge(JsonObject target, JsonObject source)
    {
        // Detach the members first: a node can have one parent only.
        var count = source.Count;
        var properties = JsonTrees.RentMembers(count);
        for (var i = 0; i < count; i++)
        {
            properties[i] = source.GetAt(i);
        }

        source.Clear();
        for (var i = 0; i < count; i++)
        {
            var (key, value) = properties[i];
            if (target.TryGetPropertyValue(key, out var existing))
            {
                if (existing is JsonObject existingObject && value is JsonObject valueObject)
                {
                    Merge(existingObject, valueObject);
                    continue;
                }

                if (existing is JsonArray existingArray && value is JsonArray valueArray && existingArray.Count == valueArray.Count)
                {
                    MergeArrays(existingArray, valueArray);
                    continue;
                }
            }

            target[key] = value;
        }

        JsonTrees.ReturnMembers(properties);
    }

    private static void MergeArrays(JsonArray target, JsonArray source)
    {
        for (var i = 0; i < target.Count; i++)
        {
            if (target[i] is JsonObject t && source[i] is JsonObject s)
            {
                Merge(t, s);
            }
            else if (target[i] is JsonArray ta && source[i] is JsonArray sa && ta.Count == sa.Count)
            {
                MergeArrays(ta, sa);
            }
        }
    }

    /// <summary>Visits the objects at <paramref name="location"/>'s path, walking through lists.</summary>
    private static void Walk(JsonObject node, EntityLocation location, int depth, List<object> path, Action<Target> visit)
    {
        if (depth == location.Path.Count)
        {
            return;
        }

        var segment = location.Path[depth];
        path.Add(segment.Key);
        WalkValue(node[segment.Key], node, segment.Key, -1, location, depth, path, visit);
        path.RemoveAt(path.Count - 1);
    }

    private static void WalkValue(JsonNode? value, JsonNode container, string? key, int index, EntityLocation location, int depth, List<object> path, Action<Target> visit)
    {
        switch (value)
        {
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    path.Add(i);
                    WalkValue(array[i], array, null, i, location, depth, path, visit);
                    path.RemoveAt(path.Count - 1);
                }

                break;
            case JsonObject obj:
                var condition = location.Path[depth].TypeCondition;
                if (condition is not null && (obj["__typename"] as JsonValue)?.GetValue<string>() != condition)
                {
                    return;
                }

                if (depth == location.Path.Count - 1)
                {
                    visit(new Target(obj, container, key, index, [.. path]));
                }
                else
                {
                    Walk(obj, location, depth + 1, path, visit);
                }

                break;
        }
    }

    private static List<object> ReadPath(JsonObject error)
    {
        var path = new List<object>();
        if (error["path"] is JsonArray segments)
        {
            foreach (var segment in segments)
            {
                switch (segment?.GetValueKind())
                {
                    case JsonValueKind.String:
                        path.Add(segment.GetValue<string>());
                        break;
                    case JsonValueKind.Number:
                        path.Add(segment.GetValue<int>());
                        break;
                }
            }
        }

        return path;
    }

    /// <summary>The representations of one <see cref="EntityBatch"/> and, for each, the objects it completes.</summary>
    private sealed class Batch(EntityBatch definition)
    {
        private readonly Dictionary<string, int> _seen = new(StringComparer.Ordinal);
        private readonly System.Text.StringBuilder _key = new();

        public EntityBatch Definition { get; } = definition;

        public JsonArray Representations { get; } = [];

        public List<List<Target>> Targets { get; } = [];

        public IEnumerable<Target> AllTargets => Targets.SelectMany(t => t);

        public void Add(EntityLocation location, Target target)
        {
            // Most places repeat an entity seen before: the key text decides, and only a new entity gets a representation.
            _key.Clear().Append(location.TypeName);
            for (var i = 0; i < location.Fields.Count; i++)
            {
                if (!target.Object.TryGetPropertyValue(location.Fields[i].RawKey, out var value))
                {
                    return; // the fetch that should have given this field failed (its error says so): nothing to complete
                }

                _key.Append('\u001f');
                if (value is not null)
                {
                    _key.Append(value.ToJsonString());
                }
            }

            var text = _key.ToString();
            if (_seen.TryGetValue(text, out var index))
            {
                Targets[index].Add(target);
                return;
            }

            var members = JsonTrees.RentMembers(location.Fields.Count + 1);
            members[0] = new("__typename", JsonValue.Create(location.TypeName));
            for (var i = 0; i < location.Fields.Count; i++)
            {
                var (name, rawKey) = location.Fields[i];
                members[i + 1] = new(name, JsonTrees.Copy(target.Object[rawKey]));
            }

            _seen[text] = Representations.Count;
            Representations.Add(JsonTrees.ObjectOf(members, location.Fields.Count + 1));
            Targets.Add([target]);
        }
    }

    /// <summary>An entity object in the merged response and the place that holds it.</summary>
    private sealed record Target(JsonObject Object, JsonNode Container, string? Key, int Index, object[] Path)
    {
        public void SetNull()
        {
            if (Container is JsonObject obj)
            {
                obj[Key!] = null;
            }
            else
            {
                ((JsonArray)Container)[Index] = null;
            }
        }
    }
}
