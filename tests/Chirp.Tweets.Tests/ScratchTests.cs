using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Chirp.Tweets.Tests;

public sealed class ScratchTests(ITestOutputHelper output)
{
    [Fact]
    public void Inspect()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration["ConnectionStrings:Tweets"] = "Host=127.0.0.1;Port=1;Database=x";
        builder.Configuration["ConnectionStrings:Redis"] = "127.0.0.1:1";
        builder.Configuration["IdentityAssertion:Keys:k1"] = Convert.ToBase64String(new byte[32]);
        builder.AddTweetsSubgraph();
        using var app = builder.Build();
        var schema = app.Services.GetRequiredService<Chirp.Tweets.Schema.TweetsSchema>();
        schema.Initialize();
        foreach (var d in schema.Directives)
        {
            output.WriteLine($"{d.Name} {d.GetType().Name} {string.Join(",", d.Arguments?.Select(a => a.Name + ":" + a.ResolvedType) ?? [])}");
        }
    }
}
