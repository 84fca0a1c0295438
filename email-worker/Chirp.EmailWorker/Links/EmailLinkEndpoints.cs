using System.Net;
using System.Text;
using Chirp.EmailWorker.Data;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Chirp.EmailWorker.Links;

/// <summary>
/// <c>/email/confirm</c> and <c>/email/unsubscribe</c>, reached through the gateway (docs/architecture.md section 6).
/// GET only shows a page, so mail scanners that prefetch links change nothing; POST acts. The unsubscribe POST is RFC
/// 8058's one-click request (body <c>List-Unsubscribe=One-Click</c>), which needs no log-in: the signed token is the
/// authority. A link that does not verify gets 400, an expired one 410, each with a page that says so and changes nothing.
/// </summary>
public static class EmailLinkEndpoints
{
    /// <summary>Maps the four routes. POST bodies are not read, so there is nothing for antiforgery to protect.</summary>
    public static IEndpointRouteBuilder MapEmailLinks(this IEndpointRouteBuilder app)
    {
        app.MapGet("/email/confirm", ([FromQuery] string? token, EmailLinks links) => ConfirmPage(token, links));
        app.MapPost("/email/confirm", ConfirmAsync);
        app.MapGet("/email/unsubscribe", ([FromQuery] string? token, EmailLinks links) => UnsubscribePage(token, links));
        app.MapPost("/email/unsubscribe", UnsubscribeAsync);
        return app;
    }

    private static IResult ConfirmPage(string? token, EmailLinks links)
    {
        var check = links.Check(LinkPurpose.Confirm, token);
        return check.Status switch
        {
            LinkStatus.Valid => Page(200, "Confirm your address",
                [$"Press the button to confirm that {check.Address} is your address for Chirp mail."],
                ("Confirm my address", token!, false)),
            _ => Refused(check.Status, "confirmation", "Set your address again in Chirp to get a new link."),
        };
    }

    private static async Task<IResult> ConfirmAsync(
        [FromQuery] string? token, EmailLinks links, IDbContextFactory<EmailDbContext> databases, TimeProvider time, CancellationToken ct)
    {
        var check = links.Check(LinkPurpose.Confirm, token);
        if (check.Status != LinkStatus.Valid)
        {
            return Refused(check.Status, "confirmation", "Set your address again in Chirp to get a new link.");
        }

        await using var db = await databases.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        var changed = await db.EmailSettings
            .Where(s => s.UserId == check.UserId && s.Address == check.Address)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.Verified, true).SetProperty(s => s.UpdatedAt, now), ct);
        return changed == 0
            ? Page(409, "This link is out of date",
                ["This link is for an address that is no longer the one on your Chirp account. Nothing was changed."])
            : Page(200, "Address confirmed", [$"{check.Address} is confirmed. Chirp mail can now reach you there."]);
    }

    private static IResult UnsubscribePage(string? token, EmailLinks links)
    {
        var check = links.Check(LinkPurpose.Unsubscribe, token);
        return check.Status switch
        {
            LinkStatus.Valid => Page(200, "Stop retweet mail",
                ["This link came in a Chirp mail about a retweet. Press the button to stop getting mail when your tweets are retweeted.",
                 "You can turn it on again in your Chirp email settings."],
                ("Stop retweet mail", token!, true)),
            _ => Refused(check.Status, "unsubscribe", "Turn retweet mail off in your Chirp email settings, or use the link of a newer mail."),
        };
    }

    private static async Task<IResult> UnsubscribeAsync(
        [FromQuery] string? token, EmailLinks links, IDbContextFactory<EmailDbContext> databases, TimeProvider time, CancellationToken ct)
    {
        var check = links.Check(LinkPurpose.Unsubscribe, token);
        if (check.Status != LinkStatus.Valid)
        {
            return Refused(check.Status, "unsubscribe", "Turn retweet mail off in your Chirp email settings, or use the link of a newer mail.");
        }

        await using var db = await databases.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        await db.EmailSettings
            .Where(s => s.UserId == check.UserId)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.NotifyOnRetweet, false).SetProperty(s => s.UpdatedAt, now), ct);
        return Page(200, "Retweet mail is off", ["You will get no more mail when your tweets are retweeted. You can turn it on again in your Chirp email settings."]);
    }

    private static IResult Refused(LinkStatus status, string kind, string advice) => status == LinkStatus.Expired
        ? Page(410, "This link has expired", [$"This {kind} link is too old to use. Nothing was changed.", advice])
        : Page(400, "This link is not valid", [$"This {kind} link is damaged or was not issued by Chirp. Nothing was changed.", advice]);

    /// <summary>
    /// A small self-contained HTML page; every text is HTML-encoded. The form posts back to the same path and token
    /// (a relative URL, so it works under the gateway's public address).
    /// </summary>
    private static IResult Page(int status, string title, string[] paragraphs, (string Button, string Token, bool OneClick)? form = null)
    {
        var html = new StringBuilder()
            .Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(WebUtility.HtmlEncode(title)).Append(" · Chirp</title>")
            .Append("<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}")
            .Append("button{font-size:1rem;padding:.5rem 1rem}</style></head><body>")
            .Append("<h1>").Append(WebUtility.HtmlEncode(title)).Append("</h1>");
        foreach (var p in paragraphs)
        {
            html.Append("<p>").Append(WebUtility.HtmlEncode(p)).Append("</p>");
        }

        if (form is { } f)
        {
            html.Append("<form method=\"post\" action=\"?token=").Append(WebUtility.HtmlEncode(Uri.EscapeDataString(f.Token))).Append("\">");
            if (f.OneClick)
            {
                html.Append("<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">");
            }

            html.Append("<button type=\"submit\">").Append(WebUtility.HtmlEncode(f.Button)).Append("</button></form>");
        }

        html.Append("</body></html>");
        return new PageResult(status, html.ToString());
    }

    /// <summary>The page with headers that keep the token out of caches and referrers and forbid scripts.</summary>
    private sealed class PageResult(int status, string html) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            var headers = context.Response.Headers;
            headers.CacheControl = "no-store";
            headers["Referrer-Policy"] = "no-referrer";
            headers["X-Content-Type-Options"] = "nosniff";
            headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";
            return Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status).ExecuteAsync(context);
        }
    }
}
