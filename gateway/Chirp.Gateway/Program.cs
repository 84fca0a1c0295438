using Chirp.Gateway;
using Chirp.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddGateway();

var app = builder.Build();
app.MapGateway();

return await app.RunWithCommandsAsync(args, GatewayService.Commands);
