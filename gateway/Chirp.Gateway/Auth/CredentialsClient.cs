using System.Net;
using Chirp.Contracts;
using Chirp.Gateway.Federation;
using Chirp.IdentityAssertions;

namespace Chirp.Gateway.Auth;

/// <summary>
/// Asks the users subgraph whether a handle and password match (<see cref="InternalRoutes.CredentialsVerify"/>),
/// presenting the gateway's own service assertion.
/// </summary>
public sealed class CredentialsClient(HttpClient http, IdentityAssertionCodec codec, SubgraphUrls urls)
{
    private sealed record VerifyRequest(string Handle, string Password);

    private sealed record VerifiedUser(string Id, string Handle, string DisplayName);

    /// <summary>The user when the credentials match; null when they do not.</summary>
    /// <exception cref="CredentialsCheckBusyException">
    /// The users subgraph refused the check for now (503: its password-check limit or its request limit is full).
    /// </exception>
    /// <exception cref="HttpRequestException">The users subgraph cannot be reached or answers an unexpected status.</exception>
    public async Task<(string Id, string Handle, string DisplayName)?> VerifyAsync(string handle, string password, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(urls.Get("users"), InternalRoutes.CredentialsVerify))
        {
            Content = JsonContent.Create(new VerifyRequest(handle, password)),
        };
        request.Headers.Add(ChirpHeaders.Identity, codec.Sign("gateway", "gateway", "Chirp gateway", ChirpScopes.CredentialsVerify));
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.BadRequest or HttpStatusCode.NotFound)
        {
            return null;
        }

        if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            throw new CredentialsCheckBusyException(response.Headers.RetryAfter?.Delta is { } wait && wait > TimeSpan.Zero ? wait : TimeSpan.FromSeconds(1));
        }

        response.EnsureSuccessStatusCode();
        var user = await response.Content.ReadFromJsonAsync<VerifiedUser>(cancellationToken)
            ?? throw new HttpRequestException("The users subgraph answered an empty body.");
        return (user.Id, user.Handle, user.DisplayName);
    }
}

/// <summary>
/// The users subgraph is reachable but refused a password check for now (503): more checks are running and queued than
/// it takes at once. Not an outage: the client may try again after <see cref="RetryAfter"/>.
/// </summary>
public sealed class CredentialsCheckBusyException(TimeSpan retryAfter)
    : Exception("The users subgraph refused the password check: too many checks are running.")
{
    /// <summary>The users subgraph's <c>Retry-After</c> (1 s when it sent none).</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;
}
