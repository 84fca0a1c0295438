using Chirp.Hosting;

namespace Chirp.EmailWorker.Data;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without the host (<see cref="DesignTimeDatabase{TDbContext}"/>).</summary>
public sealed class EmailDesignTimeDbContextFactory() : DesignTimeDatabase<EmailDbContext>("email", options => new(options));
