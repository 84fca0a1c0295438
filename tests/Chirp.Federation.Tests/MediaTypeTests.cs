using Chirp.GraphQL.AspNetCore;
using Microsoft.AspNetCore.Http;

namespace Chirp.Federation.Tests;

/// <summary>
/// Media types read from header text (RFC 9110 sections 8.3.1 and 12.5.1): content negotiation of the GraphQL
/// endpoint (GraphQL-over-HTTP draft, "Accept"), the SSE check, and the Content-Type checks.
/// </summary>
public sealed class MediaTypeTests
{
    [Theory]
    [InlineData(null, "application/graphql-response+json")]
    [InlineData("", "application/graphql-response+json")]
    [InlineData("application/json", "application/json")]
    [InlineData("Application/JSON", "application/json")]
    [InlineData("*/*", "application/graphql-response+json")]
    [InlineData("application/*;q=0.8", "application/graphql-response+json")]
    [InlineData("application/graphql-response+json, application/json;q=0.9", "application/graphql-response+json")]
    [InlineData("application/json;q=0.9, application/graphql-response+json", "application/graphql-response+json")]
    [InlineData("application/graphql-response+json;q=0.5, application/json", "application/json")]
    // Equal quality: the first one sent wins.
    [InlineData("application/json, application/graphql-response+json", "application/json")]
    [InlineData("text/html, application/json ; charset=utf-8 ; q=0.2", "application/json")]
    // A comma inside a quoted parameter does not end the range.
    [InlineData("text/html;x=\"a,application/json\", application/json;q=0.1", "application/json")]
    // A quality that does not parse drops its range; the others still count.
    [InlineData("application/graphql-response+json;q=high, application/json;q=0.3", "application/json")]
    [InlineData("text/html", null)]
    [InlineData("application/json;q=0", null)]
    [InlineData("application/xml, text/plain;q=0.5", null)]
    public void TheResponseMediaTypeIsTheBestAcceptedOne(string? accept, string? expected)
    {
        var context = new DefaultHttpContext();
        if (accept is not null)
        {
            context.Request.Headers.Accept = accept;
        }

        Assert.Equal(expected, GraphQLHttpEndpoint.NegotiateMediaType(context.Request));
    }

    [Fact]
    public void SeveralAcceptHeadersCountAsOneList()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Accept = new(["text/html;q=0.9", "application/json;q=0.4, application/graphql-response+json;q=0.6"]);

        Assert.Equal("application/graphql-response+json", GraphQLHttpEndpoint.NegotiateMediaType(context.Request));
    }

    [Theory]
    [InlineData("text/event-stream", true)]
    [InlineData("application/json, TEXT/EVENT-STREAM;q=0.5", true)]
    [InlineData("text/event-stream;q=0", false)]
    [InlineData("*/*", false)]
    [InlineData("application/json", false)]
    public void AnEventStreamIsRequestedOnlyByName(string accept, bool expected)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Accept = accept;

        Assert.Equal(expected, GraphQLSse.IsRequested(context.Request));
    }

    [Theory]
    [InlineData("application/json", true)]
    [InlineData("application/json; charset=utf-8", true)]
    [InlineData(" Application/Json ;charset=utf-8", true)]
    [InlineData("application/jsonx", false)]
    [InlineData("application/graphql-response+json", false)]
    [InlineData("text/plain; x=application/json", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void AContentTypeIsMatchedByItsMediaTypeAlone(string? contentType, bool expected) =>
        Assert.Equal(expected, MediaTypes.HasMediaType(contentType, "application/json"));
}
