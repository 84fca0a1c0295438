using System.Diagnostics;

namespace Chirp.Federation;

/// <summary>
/// The engine's one span, <c>plan</c> (query planning, cached plans included), on the source
/// <c>Chirp.Federation</c>; the gateway's telemetry recipe listens to it (docs/architecture.md section 8). Fetch spans
/// belong to the transport, outside the engine.
/// </summary>
public static class FederationActivity
{
    /// <summary>The <see cref="ActivitySource"/> name.</summary>
    public const string SourceName = "Chirp.Federation";

    internal static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts the span of planning one operation; null when nobody listens.</summary>
    internal static Activity? StartPlan() => Source.StartActivity("plan");
}
