using Chirp.EmailWorker;
using Chirp.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddEmailWorker();
var app = builder.Build();
app.MapEmailWorker();
return await app.RunWithCommandsAsync(args, EmailWorkerService.Commands);
