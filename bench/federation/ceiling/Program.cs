// The ceiling of the federation bench: the least any .NET gateway on Kestrel must do to answer the deep query,
// namely read the request and write the 87.6 KB response it already holds. No GraphQL, no subgraph.
//   dotnet Chirp.Bench.Ceiling.dll RESPONSE_FILE   (listens where Urls says, e.g. Urls=http://127.0.0.1:7300)
var response = File.ReadAllBytes(args.Length > 0 ? args[0] : throw new ArgumentException("usage: Chirp.Bench.Ceiling RESPONSE_FILE"));
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
app.MapPost("/graphql", async (HttpContext context) =>
{
    // Read the request as a gateway must before it can answer.
    await context.Request.BodyReader.CopyToAsync(Stream.Null, context.RequestAborted);
    context.Response.ContentType = "application/graphql-response+json; charset=utf-8";
    context.Response.ContentLength = response.Length;
    await context.Response.Body.WriteAsync(response, context.RequestAborted);
});
app.Run();
