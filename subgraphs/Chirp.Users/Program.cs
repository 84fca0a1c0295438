using Chirp.Hosting;
using Chirp.Users;

var builder = WebApplication.CreateBuilder(args);
builder.AddUsersSubgraph();
var app = builder.Build();
app.MapUsersSubgraph();
return await app.RunWithCommandsAsync(args, UsersSubgraph.Commands);
