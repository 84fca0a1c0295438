using System.Text;
using System.Text.Json;
using GraphQLParser.AST;

namespace Chirp.Federation;

/// <summary>
/// How one client operation runs: the subgraph fetches (a DAG: each fetch waits for <see cref="FetchNode.DependsOn"/>)
/// and the shape in which their merged results are returned. Plans are immutable and shared between requests.
/// </summary>
/// <remarks>
/// A subscription plan has one root fetch (the subscription on its subgraph); every other fetch then runs once per event.
/// </remarks>
public sealed class QueryPlan
{
    internal QueryPlan(OperationType operation, IReadOnlyList<FetchNode> fetches, ObjectShape shape, FetchNode? introspection)
    {
        Operation = operation;
        Fetches = fetches;
        Shape = shape;
        Introspection = introspection;
    }

    /// <summary>Query, mutation or subscription.</summary>
    public OperationType Operation { get; }

    /// <summary>Every subgraph fetch, dependencies first. Root fetches have no <see cref="FetchNode.Path"/>.</summary>
    public IReadOnlyList<FetchNode> Fetches { get; }

    /// <summary>Root fetches in the order they run (serially for a mutation, GraphQL spec section 6.2.2).</summary>
    public IEnumerable<FetchNode> RootFetches => Fetches.Where(f => f.IsRoot);

    /// <summary>The introspection part of the operation, answered from the API schema, or null.</summary>
    internal FetchNode? Introspection { get; }

    /// <summary>The client's selection, used to build the response and to map error paths.</summary>
    internal ObjectShape Shape { get; }

    /// <summary>A readable dump of the fetches (for tests, logs and benchmarks).</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var fetch in Fetches)
        {
            text.Append(fetch.Id).Append(' ').Append(fetch.Subgraph);
            if (fetch.Path is not null)
            {
                text.Append(" at ").Append(string.Join('.', fetch.Path.Select(p => p.ToString())));
            }

            if (fetch.DependsOn.Count > 0)
            {
                text.Append(" after ").Append(string.Join(',', fetch.DependsOn.Select(d => d.Id)));
            }

            text.Append(": ").AppendLine(fetch.Document);
        }

        return text.ToString();
    }
}

/// <summary>One request to one subgraph.</summary>
public sealed class FetchNode
{
    internal FetchNode(int id, string subgraph)
    {
        Id = id;
        Subgraph = subgraph;
    }

    /// <summary>Position in <see cref="QueryPlan.Fetches"/>.</summary>
    public int Id { get; internal set; }

    /// <summary>The subgraph name.</summary>
    public string Subgraph { get; }

    private byte[]? _bodyStart;

    /// <summary>The subgraph document (one operation).</summary>
    public string Document { get; internal set; } = "";

    /// <summary>
    /// <c>{"query":"...","operationName":"..."</c>: how every request body of this fetch starts, escaped once per plan
    /// instead of once per request.
    /// </summary>
    internal byte[] BodyStart => _bodyStart ??= Encoding.UTF8.GetBytes("{\"query\":" + JsonSerializer.Serialize(Document)
        + (OperationName is null ? "" : ",\"operationName\":" + JsonSerializer.Serialize(OperationName)));

    /// <summary>The operation name in <see cref="Document"/>, or null.</summary>
    public string? OperationName { get; internal set; }

    /// <summary>The client variables that <see cref="Document"/> declares (exactly those it uses).</summary>
    public IReadOnlyList<string> Variables { get; internal set; } = [];

    /// <summary>Fetches whose results this one needs (its parent, and for <c>@requires</c> its siblings).</summary>
    public IReadOnlyList<FetchNode> DependsOn { get; internal set; } = [];

    /// <summary>True for a fetch of root fields; false for an <c>_entities</c> fetch.</summary>
    public bool IsRoot => Path is null;

    /// <summary>For an entity fetch: where its (first) entities sit in the merged response.</summary>
    public IReadOnlyList<PathSegment>? Path => Batches.Count == 0 ? null : Batches[0].Locations[0].Path;

    /// <summary>For an entity fetch: one <c>_entities</c> field per distinct selection, each with its representations.</summary>
    internal List<EntityBatch> Batches { get; } = [];

    /// <summary>For a root fetch: the client response keys it resolves (for errors when it fails).</summary>
    internal List<string> RootKeys { get; } = [];
}

/// <summary>
/// One step of a path in the merged response: a response key, and the object type the objects reached must
/// have (only under abstract types).
/// </summary>
public sealed record PathSegment(string Key, string? TypeCondition)
{
    public override string ToString() => TypeCondition is null ? Key : $"{Key}|{TypeCondition}";
}

/// <summary>
/// One <c>_entities</c> field of an entity fetch: its response key, the variable that carries its representations,
/// and every place whose objects it completes (their representations are batched and deduplicated).
/// </summary>
internal sealed record EntityBatch(string ResponseKey, string Variable, List<EntityLocation> Locations)
{
    /// <summary><see cref="ResponseKey"/> in UTF-8.</summary>
    public byte[] ResponseKeyUtf8 { get; } = Encoding.UTF8.GetBytes(ResponseKey);

    /// <summary><c>"variable":</c> as the request body writes it.</summary>
    public byte[] VariableProperty { get; } = Encoding.UTF8.GetBytes("\"" + Variable + "\":");
}

/// <summary>Where an entity fetch finds its entities and how it makes their representations.</summary>
/// <param name="Path">From the root of the merged response; lists are walked through.</param>
/// <param name="TypeName">The entity type (the representations' <c>__typename</c>).</param>
/// <param name="Fields">Representation field name and the key it sits under in the merged response.</param>
internal sealed record EntityLocation(IReadOnlyList<PathSegment> Path, string TypeName, IReadOnlyList<(string Name, string RawKey)> Fields)
{
    /// <summary><c>{"__typename":"TypeName"</c>: how every representation of this location starts.</summary>
    public byte[] RepresentationStart { get; } = Encoding.UTF8.GetBytes("{\"__typename\":" + JsonSerializer.Serialize(TypeName));

    /// <summary>For each of <see cref="Fields"/>: <c>,"name":</c>.</summary>
    public byte[][] FieldProperties { get; } = [.. Fields.Select(f => Encoding.UTF8.GetBytes(",\"" + f.Name + "\":"))];

    /// <summary>The keys of <see cref="Path"/> in UTF-8.</summary>
    public byte[][] PathKeys { get; } = [.. Path.Select(p => Encoding.UTF8.GetBytes(p.Key))];

    /// <summary>For each of <see cref="Fields"/>: the key it sits under, in UTF-8.</summary>
    public byte[][] RawKeys { get; } = [.. Fields.Select(f => Encoding.UTF8.GetBytes(f.RawKey))];
}

/// <summary>The client's selection on one object type, in the client's order.</summary>
internal sealed class ObjectShape(string typeName)
{
    public string TypeName { get; } = typeName;

    /// <summary><see cref="TypeName"/> in UTF-8 (GraphQL names need no JSON escaping).</summary>
    public byte[] TypeNameUtf8 { get; } = System.Text.Encoding.UTF8.GetBytes(typeName);

    /// <summary><see cref="TypeName"/> as a JSON string, the value of <c>__typename</c>.</summary>
    public byte[] TypeNameJson { get; } = System.Text.Encoding.UTF8.GetBytes("\"" + typeName + "\"");

    public List<OutputField> Fields { get; } = [];

    public OutputField? Find(string responseKey)
    {
        foreach (var field in Fields)
        {
            if (field.ResponseKey == responseKey)
            {
                return field;
            }
        }

        return null;
    }
}

/// <summary>One field of the client's response.</summary>
internal sealed class OutputField(string responseKey, string fieldName, GraphQLType? type, (int Line, int Column)? location)
{
    public string ResponseKey { get; } = responseKey;

    /// <summary><see cref="ResponseKey"/> in UTF-8, as subgraph responses carry it.</summary>
    public byte[] ResponseKeyUtf8 { get; } = System.Text.Encoding.UTF8.GetBytes(responseKey);

    /// <summary><c>"key":</c> as the client response writes it (GraphQL names need no JSON escaping).</summary>
    public byte[] PropertyJson { get; } = System.Text.Encoding.UTF8.GetBytes("\"" + responseKey + "\":");

    public string FieldName { get; } = fieldName;

    /// <summary>The object type that declares the field (for error messages).</summary>
    public string ParentType { get; init; } = "";

    /// <summary>The field's type; null for <c>__typename</c>.</summary>
    public GraphQLType? Type { get; } = type;

    public (int Line, int Column)? Location { get; } = location;

    /// <summary>For a composite field: its selection per concrete object type.</summary>
    public Dictionary<string, ObjectShape>? Selection { get; set; }

    /// <summary>True when the abstract field's objects carry <c>__typename</c> to pick their shape.</summary>
    public bool IsAbstract { get; set; }

    /// <summary>Set when the caller may not see the field: the error code and message.</summary>
    public (string Code, string Message)? Denied { get; set; }

    /// <summary>True for introspection fields, whose value is copied as answered.</summary>
    public bool IsOpaque { get; set; }

    public bool IsTypename => Type is null;
}
