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

        response.EnsureSuccessStatusCode();
        var user = await response.Content.ReadFromJsonAsync<VerifiedUser>(cancellationToken)
            ?? throw new HttpRequestException("The users subgraph answered an empty body.");
        return (user.Id, user.Handle, user.DisplayName);
    }
}
