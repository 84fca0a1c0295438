namespace Chirp.Federation;

/// <summary>Placeholder until the federation engine lands.</summary>
public static class Supergraph;
