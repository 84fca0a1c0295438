using Chirp.Contracts;
using GraphQL;

namespace Chirp.EmailWorker.Schema;

/// <summary>GraphQL errors with the <c>extensions.code</c> values of <see cref="ErrorCodes"/>.</summary>
public static class GraphErrors
{
    public static ExecutionError Unauthenticated(string message) => new(message) { Code = ErrorCodes.Unauthenticated };

    public static ExecutionError Forbidden(string message) => new(message) { Code = ErrorCodes.Forbidden };

    public static ExecutionError BadUserInput(string message) => new(message) { Code = ErrorCodes.BadUserInput };
}

