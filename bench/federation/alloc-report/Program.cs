// Where a .NET process allocated during a trace: reads a dotnet-trace file taken with `--profile gc-verbose` and sums
// its allocation samples (GCAllocationTick: one about every 100 KB a thread allocates, with the type of the object that
// crossed the mark and the stack that allocated it). Prints the share of sampled bytes by type, by the first method
// of the given namespace on the stack (which part of Chirp asked for the memory), and by allocating method; then the
// large-object-heap share with its allocating sites (LOH allocations drive gen2 collections), and the collections the
// trace saw by generation and reason.
//   dotnet Chirp.Bench.AllocReport.dll TRACE.nettrace [NAMESPACE_PREFIX (Chirp.)] [ROWS (25)]
using Microsoft.Diagnostics.Tracing.Etlx;

if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Chirp.Bench.AllocReport TRACE.nettrace [NAMESPACE_PREFIX] [ROWS]");
    return 2;
}

var prefix = args.Length > 1 ? args[1] : "Chirp.";
var rows = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 25;
var byType = new Dictionary<string, long>(StringComparer.Ordinal);
var byOwner = new Dictionary<string, long>(StringComparer.Ordinal);
var bySite = new Dictionary<string, long>(StringComparer.Ordinal);
var largeBySite = new Dictionary<string, long>(StringComparer.Ordinal);
var collections = new Dictionary<string, long>(StringComparer.Ordinal);
long large = 0;
long total = 0;
var samples = 0;

var etlx = TraceLog.CreateFromEventPipeDataFile(args[0]);
using (var log = new TraceLog(etlx))
{
    var source = log.Events.GetSource();
    source.Clr.GCAllocationTick += data =>
    {
        var bytes = data.AllocationAmount64;
        total += bytes;
        samples++;
        Add(byType, data.TypeName ?? "?", bytes);
        string? site = null;
        string? owner = null;
        for (var frame = data.CallStack(); frame is not null; frame = frame.Caller)
        {
            var method = frame.CodeAddress.FullMethodName;
            if (string.IsNullOrEmpty(method))
            {
                continue;
            }

            site ??= method;
            if (method.StartsWith(prefix, StringComparison.Ordinal))
            {
                owner = method;
                break;
            }
        }

        Add(bySite, site ?? "(no managed frame)", bytes);
        Add(byOwner, owner ?? $"(no {prefix} frame)", bytes);
        if (data.AllocationKind == Microsoft.Diagnostics.Tracing.Parsers.Clr.GCAllocationKind.Large)
        {
            large += bytes;
            Add(largeBySite, $"{data.TypeName} <- {owner ?? site ?? "(no managed frame)"}", bytes);
        }
    };
    source.Clr.GCStart += data => Add(collections, $"gen{data.Depth} {data.Reason}", 1);
    source.Process();
}

Console.WriteLine($"{samples} allocation samples, {total / 1024.0 / 1024.0:F1} MB sampled");
Print("by type", byType);
Print($"by the first {prefix}* method on the stack", byOwner);
Print("by allocating method", bySite);
Console.WriteLine();
Console.WriteLine($"large object heap: {100.0 * large / Math.Max(1, total):F1} % of sampled bytes");
Print($"large objects by type and first {prefix}* method (share of all sampled bytes)", largeBySite);
Console.WriteLine();
Console.WriteLine("collections in the trace:");
foreach (var (name, count) in collections.OrderBy(e => e.Key, StringComparer.Ordinal))
{
    Console.WriteLine($"  {count,6}  {name}");
}

return 0;

void Print(string title, Dictionary<string, long> table)
{
    Console.WriteLine();
    Console.WriteLine($"{title}:");
    foreach (var (name, bytes) in table.OrderByDescending(e => e.Value).Take(rows))
    {
        var text = name.Length > 150 ? name[..150] : name;
        Console.WriteLine($"  {100.0 * bytes / Math.Max(1, total),5:F1} %  {text}");
    }
}

static void Add(Dictionary<string, long> table, string key, long bytes) =>
    table[key] = table.GetValueOrDefault(key) + bytes;
