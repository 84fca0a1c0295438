using Chirp.GraphQL;
using GraphQLParser;

namespace Chirp.Federation.Tests;

/// <summary>GraphQL spec section 6.1 GetOperation, as every transport and the engine share it.</summary>
public sealed class OperationSelectionTests
{
    [Theory]
    [InlineData("{ me { id } }", null, "")]
    [InlineData("query A { me { id } }", null, "A")]
    [InlineData("query A { me { id } } mutation B { signOut }", "B", "B")]
    [InlineData("fragment F on Query { me { id } } query Q { ...F }", null, "Q")]
    public void TheOperationToRunIsTheNamedOneOrTheOnlyOne(string document, string? operationName, string expected)
    {
        var operation = GraphQLOperations.Select(Parser.Parse(document), operationName);

        Assert.NotNull(operation);
        Assert.Equal(expected, operation.Name?.StringValue ?? "");
    }

    [Theory]
    // Several operations and no name: the client must say which (a request error, not the first one).
    [InlineData("query A { me { id } } query B { me { id } }", null)]
    [InlineData("query A { me { id } }", "B")]
    // An anonymous operation has no name to match.
    [InlineData("{ me { id } }", "A")]
    public void NoSingleMatchingOperationIsNull(string document, string? operationName) =>
        Assert.Null(GraphQLOperations.Select(Parser.Parse(document), operationName));
}
