using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Contracts;
using Chirp.Federation.Schema;
using Chirp.GraphQL;
using Microsoft.Extensions.Logging;

namespace Chirp.Federation.Execution;

/// <summary>
/// Runs one <see cref="QueryPlan"/> for one request: sends the fetches (each as soon as the fetches it depends on
/// are done), keeps their responses as bytes in a <see cref="ResultStore"/> (entity results attached to the objects
/// they complete, nothing copied), then writes the client's <c>data</c> with <see cref="ResponseCompletion"/>.
/// Request bodies, representations included, are written straight into pooled buffers from the stored bytes.
/// For a subscription event, <paramref name="rootResponse"/> is the subgraph's event: it stands for the answer of
/// the (single) root fetch.
/// </summary>
internal sealed class PlanExecution(
    QueryPlan plan,
    ApiSchema api,
    ISubgraphTransport transport,
    JsonObject variables,
    ILogger logger,
    SubgraphResponse? rootResponse = null) : IDisposable
{
    private static readonly byte[] VariablesStart = ",\"variables\":{"u8.ToArray();

    private readonly ResultStore _store = ResultStore.Rent();
    private readonly ErrorList _errors = new(plan.Shape);
    private readonly Lock _gate = new();
    private bool _disposed;

    /// <summary>Runs the plan and builds the response.</summary>
    public async Task<GraphQLResult> RunAsync(CancellationToken cancellationToken)
    {
        try
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
        finally
        {
            Dispose();
        }
    }

    /// <summary>Gives back the subgraph responses; <see cref="RunAsync"/> does it when it ends.</summary>
    public void Dispose()
    {
        rootResponse?.Dispose();
        rootResponse = null;
        if (!_disposed)
        {
            _disposed = true;
            _store.Return();
        }
    }

    private GraphQLResult Complete()
    {
        // About the size of the subgraph answers: one rent, rarely a second.
        var output = new PooledBuffer(_store.Bytes + (_store.Bytes / 4) + 256);
        if (ResponseCompletion.Write(plan.Shape, _store, _errors, output))
        {
            return new GraphQLResult { HasData = true, DataJson = output.WrittenMemory, Lease = output, Errors = _errors.ToJson() };
        }

        output.Dispose();
        return new GraphQLResult { HasData = true, Errors = _errors.ToJson() };
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
        SubgraphResponse? response;
        if (rootResponse is not null)
        {
            response = rootResponse;
            rootResponse = null; // the store owns it now
        }
        else
        {
            var body = StartBody(fetch);
            if (fetch.Variables.Count > 0)
            {
                body.Write(VariablesStart);
                WriteClientVariables(fetch, body, first: true);
                body.Write((byte)'}');
            }

            body.Write((byte)'}');
            response = await SendAsync(fetch, body, cancellationToken);
        }

        lock (_gate)
        {
            if (response is null)
            {
                foreach (var key in fetch.RootKeys)
                {
                    _errors.Add([key], Unavailable(fetch.Subgraph), ErrorCodes.Unavailable);
                }

                return;
            }

            var document = _store.Add(response, response.Length);
            var root = response.Root;
            var hasData = root.TryGetProperty("data"u8, out var data) && data.ValueKind == JsonValueKind.Object;
            if (hasData)
            {
                _store.AddRoot(new Part(document, data));
            }

            var errorCount = 0;
            foreach (var error in ErrorsOf(response))
            {
                _errors.AddSubgraphError(error, [], ErrorList.ReadPath(error));
                errorCount++;
            }

            if (!hasData && errorCount == 0)
            {
                foreach (var key in fetch.RootKeys)
                {
                    _errors.Add([key], $"The {fetch.Subgraph} service answered without data.", ErrorCodes.Internal);
                }
            }
        }
    }

    private async Task RunEntityFetchAsync(FetchNode fetch, CancellationToken cancellationToken)
    {
        var batches = new RepresentationBatch[fetch.Batches.Count];
        var body = StartBody(fetch);
        var representations = 0;
        lock (_gate)
        {
            body.Write(VariablesStart);
            for (var b = 0; b < batches.Length; b++)
            {
                var batch = batches[b] = _store.RentBatch(fetch.Batches[b]);
                if (b > 0)
                {
                    body.Write((byte)',');
                }

                body.Write(batch.Definition.VariableProperty);
                body.Write((byte)'[');
                foreach (var location in batch.Definition.Locations)
                {
                    Walk(location, (target, value) => batch.Add(_store, location, target, value, body));
                }

                body.Write((byte)']');
                representations += batch.Representations.Count;
            }
        }

        if (representations == 0)
        {
            body.Dispose();
            return; // nothing to complete: no call at all
        }

        WriteClientVariables(fetch, body, first: false);
        body.Write("}}"u8);
        var response = await SendAsync(fetch, body, cancellationToken);
        lock (_gate)
        {
            if (response is null)
            {
                var paths = TargetPaths(batches);
                foreach (var batch in batches)
                {
                    foreach (var (target, _) in batch.Targets)
                    {
                        foreach (var path in paths.GetValueOrDefault(_store.Identity(target)) ?? [])
                        {
                            _errors.Add(path, Unavailable(fetch.Subgraph), ErrorCodes.Unavailable);
                        }
                    }
                }

                return;
            }

            var document = _store.Add(response, response.Length);
            var root = response.Root;
            var hasData = root.TryGetProperty("data"u8, out var data) && data.ValueKind == JsonValueKind.Object;
            var hasErrors = false;
            Dictionary<long, List<object[]>>? targetPaths = null;
            HashSet<(RepresentationBatch, int)>? failed = null;
            foreach (var error in ErrorsOf(response))
            {
                hasErrors = true;
                targetPaths ??= TargetPaths(batches);
                var path = ErrorList.ReadPath(error);
                var batch = path is [string key, int index, ..] && index >= 0
                    ? batches.FirstOrDefault(b => b.Definition.ResponseKey == key && index < b.Representations.Count)
                    : null;
                var rest = batch is null ? [] : path.GetRange(2, path.Count - 2);
                if (batch is not null && path.Count == 2)
                {
                    // The error is the entity's own (its lookup failed), not a field's whose null reached it.
                    (failed ??= []).Add((batch, (int)path[1]));
                }

                foreach (var candidate in batch is null ? batches : [batch])
                {
                    foreach (var (target, representation) in candidate.Targets)
                    {
                        if (batch is not null && representation != (int)path[1])
                        {
                            continue;
                        }

                        foreach (var targetPath in targetPaths.GetValueOrDefault(_store.Identity(target)) ?? [])
                        {
                            _errors.AddSubgraphError(error, targetPath, rest);
                        }
                    }
                }
            }

            foreach (var batch in batches)
            {
                if (batch.Representations.Count == 0)
                {
                    continue;
                }

                if (!hasData || !data.TryGetProperty(batch.Definition.ResponseKeyUtf8, out var entities)
                    || entities.ValueKind != JsonValueKind.Array || entities.GetArrayLength() != batch.Representations.Count)
                {
                    if (!hasErrors)
                    {
                        targetPaths ??= TargetPaths(batches);
                        foreach (var (target, _) in batch.Targets)
                        {
                            foreach (var path in targetPaths.GetValueOrDefault(_store.Identity(target)) ?? [])
                            {
                                _errors.Add(path, $"The {fetch.Subgraph} service gave an invalid answer.", ErrorCodes.Internal);
                            }
                        }
                    }

                    continue;
                }

                var results = ArrayPool<JsonElement>.Shared.Rent(batch.Representations.Count);
                var count = 0;
                foreach (var entity in entities.EnumerateArray())
                {
                    results[count++] = entity;
                }

                foreach (var (target, representation) in batch.Targets)
                {
                    var entity = results[representation];
                    if (entity.ValueKind != JsonValueKind.Object && failed?.Contains((batch, representation)) == true)
                    {
                        // The subgraph failed on this entity: only the fields it was to add are missing (null, or null
                        // propagation under the error already reported), not the object other subgraphs gave.
                        continue;
                    }

                    // An entity the owner does not know is null (null propagation decides the rest).
                    _store.Attach(target, entity.ValueKind == JsonValueKind.Object ? new Part(document, entity) : null);
                }

                ArrayPool<JsonElement>.Shared.Return(results, clearArray: true);
            }
        }
    }

    private static string Unavailable(string subgraph) => $"The {subgraph} service is unavailable.";

    private async Task RunIntrospectionAsync(FetchNode fetch, CancellationToken cancellationToken)
    {
        var selected = new JsonObject();
        foreach (var name in fetch.Variables)
        {
            if (variables.TryGetPropertyValue(name, out var value))
            {
                selected[name] = value?.DeepClone();
            }
        }

        var answer = await api.ExecuteIntrospectionAsync(fetch.Document, selected.Count == 0 ? null : selected, cancellationToken);
        if (answer is null)
        {
            return;
        }

        var response = SubgraphResponse.FromJson(answer);
        lock (_gate)
        {
            var document = _store.Add(response, response.Length);
            _store.AddRoot(new Part(document, response.Root.GetProperty("data"u8)));
        }
    }

    private static PooledBuffer StartBody(FetchNode fetch)
    {
        var body = new PooledBuffer(4096);
        body.Write(fetch.BodyStart);
        return body;
    }

    /// <summary>Writes <c>"name":value</c> for each client variable the fetch declares, each after a comma unless first.</summary>
    private void WriteClientVariables(FetchNode fetch, PooledBuffer body, bool first)
    {
        Utf8JsonWriter? writer = null;
        foreach (var name in fetch.Variables)
        {
            if (!variables.TryGetPropertyValue(name, out var value))
            {
                continue;
            }

            if (!first)
            {
                body.Write((byte)',');
            }

            first = false;
            body.Write((byte)'"');
            body.Write(System.Text.Encoding.UTF8.GetBytes(name)); // a GraphQL name: nothing to escape
            body.Write("\":"u8);
            if (writer is null)
            {
                writer = new Utf8JsonWriter(body, new JsonWriterOptions { SkipValidation = true });
            }
            else
            {
                writer.Reset(body);
            }

            if (value is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                value.WriteTo(writer);
            }

            writer.Flush();
        }

        writer?.Dispose();
    }

    private async Task<SubgraphResponse?> SendAsync(FetchNode fetch, PooledBuffer body, CancellationToken cancellationToken)
    {
        try
        {
            return await transport.ExecuteAsync(fetch.Subgraph, new SubgraphRequest(fetch.Document, fetch.OperationName, body.WrittenMemory, !fetch.IsRoot), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (SubgraphUnavailableException e)
        {
            // Its message may name hosts: it goes to the log, never to the client. An expected failure, so one line
            // without a stack trace: during an outage every request logs it.
            logger.LogWarning("The {Subgraph} subgraph is unavailable: {Reason}", fetch.Subgraph,
                e.InnerException is { } cause ? $"{e.Message} ({cause.Message})" : e.Message);
            return null;
        }
        catch (Exception e)
        {
            logger.LogError(e, "Sending a request to the {Subgraph} subgraph failed.", fetch.Subgraph);
            return null;
        }
        finally
        {
            body.Dispose();
        }
    }

    private static IEnumerable<JsonElement> ErrorsOf(SubgraphResponse response)
    {
        if (response.Root.TryGetProperty("errors"u8, out var errors) && errors.ValueKind == JsonValueKind.Array)
        {
            foreach (var error in errors.EnumerateArray())
            {
                if (error.ValueKind == JsonValueKind.Object)
                {
                    yield return error;
                }
            }
        }

        foreach (var extra in response.ExtraErrors)
        {
            yield return JsonSerializer.SerializeToElement(extra);
        }
    }

    /// <summary>Visits the objects at <paramref name="location"/>'s path in the merged responses, walking through lists.</summary>
    private void Walk(EntityLocation location, Action<Part, Merged> visit, List<object>? path = null)
    {
        var mark = _store.Mark;
        WalkMember(_store.PushRoot(), location, 0, visit, path);
        _store.Pop(mark);
    }

    private void WalkMember(Merged obj, EntityLocation location, int depth, Action<Part, Merged> visit, List<object>? path)
    {
        if (obj.IsNull)
        {
            return;
        }

        var segment = location.Path[depth];
        var mark = _store.Mark;
        path?.Add(segment.Key);
        var kind = _store.PushMember(obj, location.PathKeys[depth], out var value);
        WalkValue(kind, value, location, depth, visit, path);
        path?.RemoveAt(path.Count - 1);
        _store.Pop(mark);
    }

    private void WalkValue(JsonValueKind kind, Merged value, EntityLocation location, int depth, Action<Part, Merged> visit, List<object>? path)
    {
        if (value.IsNull)
        {
            return;
        }

        switch (kind)
        {
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in _store.Leaf(value).EnumerateArray())
                {
                    var mark = _store.Mark;
                    var itemKind = _store.PushItem(value, index, item, out var merged);
                    path?.Add(ErrorList.Index(index));
                    WalkValue(itemKind, merged, location, depth, visit, path);
                    path?.RemoveAt(path.Count - 1);
                    _store.Pop(mark);
                    index++;
                }

                break;
            case JsonValueKind.Object:
                if (location.Path[depth].TypeCondition is { } condition
                    && !(_store.TryGetLeaf(value, "__typename"u8, out var typeName) && typeName.ValueKind == JsonValueKind.String && typeName.ValueEquals(condition)))
                {
                    return;
                }

                if (depth == location.Path.Count - 1)
                {
                    visit(_store[value.Start], value);
                }
                else
                {
                    WalkMember(value, location, depth + 1, visit, path);
                }

                break;
        }
    }

    /// <summary>The client paths of every target of <paramref name="batches"/>, by identity (for errors only).</summary>
    private Dictionary<long, List<object[]>> TargetPaths(RepresentationBatch[] batches)
    {
        var paths = new Dictionary<long, List<object[]>>();
        var path = new List<object>();
        foreach (var batch in batches)
        {
            foreach (var location in batch.Definition.Locations)
            {
                Walk(location, (target, _) =>
                {
                    var key = _store.Identity(target);
                    if (!paths.TryGetValue(key, out var list))
                    {
                        paths[key] = list = [];
                    }

                    list.Add([.. path]);
                }, path);
            }
        }

        return paths;
    }
}
