namespace Chirp.Tests;

public sealed class PlaceholderTests
{
    [Fact]
    public void SolutionBuilds() => Assert.Equal(2, 1 + 1);
}
