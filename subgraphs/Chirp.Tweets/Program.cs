using Chirp.Hosting;
using Chirp.Tweets;

var builder = WebApplication.CreateBuilder(args);
builder.AddTweetsSubgraph();
var app = builder.Build();
app.MapTweetsSubgraph();
return await app.RunWithCommandsAsync(args, TweetsSubgraph.Commands);
