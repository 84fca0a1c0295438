using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Chirp.EndToEnd.Tests;

/// <summary>GraphQL over HTTP at the gateway (the draft at commit e1e46e7; case C06).</summary>
[Collection(ClusterCollection.Name)]
public sealed class GraphQLOverHttpTests(ChirpCluster cluster)
{
    [Fact]
    public async Task QueryOverGetAnswers200()
    {
        using var client = cluster.Client();
        using var response = await client.GetAsync("/graphql?query=" + Uri.EscapeDataString("{__typename}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/graphql-response+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("""{"data":{"__typename":"Query"}}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task MutationOverGetIs405WithAllowAndChangesNothing()
    {
        using var client = cluster.Client();
        var handle = ChirpCluster.NewHandle("get");
        var query = $"mutation {{ signUp(input: {{ handle: \"{handle}\", displayName: \"G\", password: \"correct horse battery\" }}) {{ user {{ id }} }} }}";
        using var response = await client.GetAsync("/graphql?query=" + Uri.EscapeDataString(query));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Contains("POST", response.Content.Headers.Allow);

        var (_, body) = await cluster.GraphQLAsync(null, $"{{ userByHandle(handle: \"{handle}\") {{ id }} }}");
        Assert.Equal("""{"userByHandle":null}""", body["data"]!.ToJsonString());
    }

    [Fact]
    public async Task ValidationFailureIs422WithoutData()
    {
        using var client = cluster.Client();
        using var response = await client.PostAsJsonAsync("/graphql", new { query = "{ noSuchField }" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.False(body!.ContainsKey("data"));
        Assert.NotEmpty(body["errors"]!.AsArray());
    }

    [Theory]
    [InlineData("""{"query":"{ __typename }","variables":[7]}""", HttpStatusCode.UnprocessableEntity)]
    [InlineData("""{"query":"{"}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"query":""", HttpStatusCode.BadRequest)]
    [InlineData("""{"query":"query($n: Int!) { tweet(id: \"x\") { id } }","variables":{"n":"seven"}}""", HttpStatusCode.UnprocessableEntity)]
    public async Task MalformedRequestsGetTheDraftsStatus(string json, HttpStatusCode expected)
    {
        using var client = cluster.Client();
        using var response = await client.PostAsync("/graphql", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task UnsupportedContentTypeIs415()
    {
        using var client = cluster.Client();
        using var response = await client.PostAsync("/graphql", new StringContent("{ __typename }", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task UnacceptableAcceptIs406()
    {
        using var client = cluster.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/graphql") { Content = JsonContent.Create(new { query = "{ __typename }" }) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotAcceptable, response.StatusCode);
    }

    [Fact]
    public async Task ResponseMediaTypeFollowsAccept()
    {
        using var client = cluster.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/graphql") { Content = JsonContent.Create(new { query = "{ __typename }" }) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task DataWithErrorsIs294()
    {
        var (status, body) = await cluster.GraphQLAsync(null, "{ me { id } tweet(id: \"nope\") { id } }");
        Assert.Equal((HttpStatusCode)294, status);
        Assert.Equal("UNAUTHENTICATED", body["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());
        Assert.Equal("""["me"]""", body["errors"]![0]!["path"]!.ToJsonString());
        Assert.Equal("""{"me":null,"tweet":null}""", body["data"]!.ToJsonString());
    }

    [Fact]
    public async Task BrowserOpeningGraphQLIsSentToTheIde()
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false };
        using var client = new HttpClient(handler) { BaseAddress = cluster.Gateway.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/graphql");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/graphql/", response.Headers.Location!.OriginalString);

        using var page = await client.GetAsync("/graphql/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<title>Banana Cake Pop</title>", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApiDocumentDescribesTheShimAndTheTokenEndpoint()
    {
        using var client = cluster.Client();
        var document = await client.GetFromJsonAsync<JsonObject>("/openapi/v1.json");
        var paths = document!["paths"]!.AsObject();
        Assert.Contains("/tweets", paths.Select(p => p.Key));
        Assert.Contains("/tweets/{id}/retweet", paths.Select(p => p.Key));
        Assert.Contains("/auth/token", paths.Select(p => p.Key));
    }
}
