using Chirp.Hosting;

namespace Chirp.Tweets.Data;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without the host (<see cref="DesignTimeDatabase{TDbContext}"/>).</summary>
public sealed class TweetsDesignTimeDbContextFactory() : DesignTimeDatabase<TweetsDbContext>("tweets", options => new(options));
