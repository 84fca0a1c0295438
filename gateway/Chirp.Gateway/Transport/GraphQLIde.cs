using Microsoft.Extensions.FileProviders;
using Chirp.GraphQL.AspNetCore;
using Microsoft.Net.Http.Headers;

namespace Chirp.Gateway.Transport;

/// <summary>
/// Serves the Banana Cake Pop GraphQL IDE (npm <c>@chillicream/bananacakepop-graphql-ide</c>, copied into the build
/// output's <c>ide/</c> folder) at <c>/graphql/</c>, and sends browsers that open <c>/graphql</c> there.
/// </summary>
public static class GraphQLIde
{
    /// <summary>Redirects browser page loads of <c>GET /graphql</c> (Accept text/html, no <c>query</c>) to <c>/graphql/</c>, and serves the IDE files.</summary>
    public static WebApplication UseGraphQLIde(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            if (HttpMethods.IsGet(request.Method) && request.Path.Equals("/graphql", StringComparison.Ordinal) &&
                !request.Query.ContainsKey("query") &&
                AcceptsHtml(request) &&
                request.Headers.Upgrade.Count == 0)
            {
                context.Response.Redirect("/graphql/");
                return;
            }

            // Routing already matched /graphql/ to the GraphQL endpoint; the IDE page wins when no query is sent.
            if (HttpMethods.IsGet(request.Method) && request.Path.Equals("/graphql/", StringComparison.Ordinal) && !request.Query.ContainsKey("query"))
            {
                request.Path = "/graphql/index.html";
                context.SetEndpoint(null);
            }

            await next(context);
        });

        var folder = app.Configuration["Ide:Path"] ?? Path.Combine(AppContext.BaseDirectory, "ide");
        if (File.Exists(Path.Combine(folder, "index.html")))
        {
            var files = new PhysicalFileProvider(Path.GetFullPath(folder));
            app.UseStaticFiles(new StaticFileOptions
            {
                RequestPath = "/graphql",
                FileProvider = files,
                OnPrepareResponse = ctx => ctx.Context.Response.Headers[HeaderNames.CacheControl] = "public, max-age=3600",
            });
        }
        else
        {
            app.Logger.LogWarning("GraphQL IDE assets not found in {Folder}; run 'npm ci' in gateway/Chirp.Gateway/ide and rebuild", folder);
        }

        // The IDE asks for its settings next to the page; it should talk to this gateway's /graphql.
        // An absolute URL: the IDE rewrites a relative one to "https://graphql" once its connection settings are saved.
        app.MapGet("/graphql/bcp-config.json", (HttpRequest request) => Results.Json(new
        {
            useBrowserUrlAsEndpoint = false,
            endpoint = $"{request.Scheme}://{request.Host}{request.PathBase}/graphql",
            title = "Chirp",
        }))
            .ExcludeFromDescription();
        return app;
    }

    private static bool AcceptsHtml(HttpRequest request)
    {
        var ranges = MediaTypes.Accepted(request.Headers.Accept);
        while (ranges.MoveNext())
        {
            if (ranges.Current.Equals("text/html", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
