namespace Chirp.Testing;

/// <summary>Placeholder until the server fixtures land.</summary>
public static class TestServers;
