using GraphQLParser.AST;

namespace Chirp.GraphQL;

/// <summary>
/// Selects the operation a request runs. Every part of a request's path (transport, executor, telemetry) uses the
/// operation selected once here, so they cannot disagree about it.
/// </summary>
public static class GraphQLOperations
{
    /// <summary>
    /// The operation to run (GraphQL spec section 6.1, GetOperation): the one named <paramref name="operationName"/>,
    /// or the only one when no name is given; null when there is no such single operation (a request error).
    /// </summary>
    public static GraphQLOperationDefinition? Select(GraphQLDocument document, string? operationName)
    {
        ArgumentNullException.ThrowIfNull(document);
        GraphQLOperationDefinition? found = null;
        foreach (var definition in document.Definitions)
        {
            if (definition is not GraphQLOperationDefinition operation)
            {
                continue;
            }

            if (operationName is null)
            {
                if (found is not null)
                {
                    return null;
                }

                found = operation;
            }
            else if (operation.Name is not null && operation.Name.StringValue == operationName)
            {
                return operation;
            }
        }

        return found;
    }
}
