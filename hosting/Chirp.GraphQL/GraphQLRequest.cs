using System.Text.Json.Nodes;

namespace Chirp.GraphQL;

/// <summary>A GraphQL request as a client sent it (GraphQL-over-HTTP draft, section "Request Parameters").</summary>
/// <param name="Query">The document text.</param>
/// <param name="OperationName">Which operation of the document to run; null when it has only one.</param>
/// <param name="Variables">Variable values, a JSON object, or null.</param>
/// <param name="Extensions">Protocol extensions, a JSON object, or null.</param>
public sealed record GraphQLRequest(string Query, string? OperationName, JsonObject? Variables, JsonObject? Extensions);
