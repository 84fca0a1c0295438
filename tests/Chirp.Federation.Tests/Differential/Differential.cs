using System.Net;
using System.Text.Json.Nodes;

namespace Chirp.Federation.Tests.Differential;

/// <summary>One operation of the differential suite.</summary>
/// <param name="Name">Unique within its corpus; names the case in test output and in <see cref="Deviations"/>.</param>
/// <param name="Query">The document.</param>
/// <param name="Variables">The variables as JSON, or null.</param>
/// <param name="OperationName">The operation to run, or null.</param>
/// <param name="Down">Subgraphs that drop every connection during the case.</param>
/// <param name="Status">Chirp's status when it is not the one the answer implies (see <see cref="Differential.AssertSameAsync"/>).</param>
public sealed record DifferentialCase(
    string Name, string Query, string? Variables = null, string? OperationName = null, string[]? Down = null, HttpStatusCode? Status = null);

/// <summary>
/// A reviewed difference from Apollo Gateway: what Chirp answers instead, as the comparison view of
/// <see cref="Differential.View"/>, and why (a GraphQL spec section, or Chirp's documented error policy).
/// </summary>
public sealed record Deviation(string ChirpView, string Reason);

/// <summary>Runs a case through both gateways and compares what the suite compares.</summary>
public static class Differential
{
    /// <summary>
    /// Asserts that Chirp's and Apollo's answers have the same <c>data</c> (or both none) and the same set of error
    /// paths; for a case in <paramref name="deviations"/>, that Chirp gives the listed view and Apollo does not (so a
    /// deviation Apollo no longer has fails here and leaves the list). Chirp's status follows the GraphQL-over-HTTP
    /// revision of docs/architecture.md section 6: 200 for data without errors, 294 for data with errors, 422 for a
    /// request refused before execution (400 for a document that does not parse: the case says so). Apollo's status
    /// is not compared: it follows an older revision.
    /// </summary>
    public static async Task AssertSameAsync(GatewayPair pair, DifferentialCase c, IReadOnlyDictionary<string, Deviation> deviations)
    {
        var request = new JsonObject { ["query"] = c.Query };
        if (c.Variables is not null)
        {
            request["variables"] = JsonNode.Parse(c.Variables);
        }

        if (c.OperationName is not null)
        {
            request["operationName"] = c.OperationName;
        }

        if (c.Down is not null)
        {
            await pair.SetDownAsync(c.Down);
        }

        try
        {
            var (chirpStatus, chirpBody) = await pair.PostAsync(true, request);
            var (_, apolloBody) = await pair.PostAsync(false, request);
            var chirp = View(chirpBody);
            var apollo = View(apolloBody);

            var expectedStatus = c.Status ?? (!chirpBody.ContainsKey("data") ? (HttpStatusCode)422
                : chirpBody["errors"] is JsonArray { Count: > 0 } ? (HttpStatusCode)294 : HttpStatusCode.OK);
            Assert.True(expectedStatus == chirpStatus, $"{c.Name}: Chirp answered {(int)chirpStatus}, expected {(int)expectedStatus}: {chirpBody.ToJsonString()}");
            if (deviations.TryGetValue(c.Name, out var deviation))
            {
                Assert.True(Normal(deviation.ChirpView) == chirp, $"{c.Name}: Chirp's answer is not the listed one ({deviation.Reason}).\nChirp:  {chirp}\nlisted: {Normal(deviation.ChirpView)}");
                Assert.True(apollo != chirp, $"{c.Name}: Apollo now gives Chirp's answer; remove the deviation. {apollo}");
            }
            else
            {
                Assert.True(apollo == chirp, $"{c.Name}: the gateways differ.\nChirp:  {chirp}\nApollo: {apollo}\nChirp's body: {chirpBody.ToJsonString()}\nApollo's body: {apolloBody.ToJsonString()}");
            }
        }
        finally
        {
            if (c.Down is not null)
            {
                await pair.SetDownAsync();
            }
        }
    }

    /// <summary>
    /// What the suite compares, as compact JSON: <c>{"data": ...}</c> (left out when the response has none) and
    /// <c>"paths"</c>, the error paths in order (<c>null</c> for an error without one); messages and codes are each
    /// gateway's own.
    /// </summary>
    public static string View(JsonObject body)
    {
        var view = new JsonObject();
        if (body.TryGetPropertyValue("data", out var data))
        {
            view["data"] = data?.DeepClone();
        }

        var paths = (body["errors"] as JsonArray ?? []).Select(e => e?["path"]?.ToJsonString() ?? "null").Order(StringComparer.Ordinal);
        view["paths"] = new JsonArray([.. paths.Select(p => JsonNode.Parse(p))]);
        return view.ToJsonString();
    }

    private static string Normal(string json) => JsonNode.Parse(json)!.ToJsonString();
}
