namespace Chirp.Federation;

/// <summary>
/// Bounds on the shape of a client operation, checked before validation and planning, so an abusive document costs
/// neither planning time nor subgraph requests. Counted through fragment spreads; each limit is at least 1.
/// Bound from the configuration section <see cref="SectionName"/>.
/// </summary>
public sealed class FederationLimits
{
    /// <summary>The configuration section: <c>Federation:Limits</c>.</summary>
    public const string SectionName = "Federation:Limits";

    /// <summary>Deepest field nesting: <c>{ a { b } }</c> has depth 2.</summary>
    public int MaxDepth { get; init; } = 15;

    /// <summary>Most aliased fields in the operation, counted once per occurrence in the expanded selection.</summary>
    public int MaxAliases { get; init; } = 30;

    /// <summary>Most root fields (selections on the root type, including those in fragments and <c>__typename</c>).</summary>
    public int MaxRootFields { get; init; } = 20;

    /// <exception cref="ArgumentOutOfRangeException">A limit is below 1.</exception>
    internal void Verify()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDepth, 1, nameof(MaxDepth));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAliases, 1, nameof(MaxAliases));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRootFields, 1, nameof(MaxRootFields));
    }
}
