using Chirp.Contracts;
using GraphQL;
using GraphQL.Execution;

namespace Chirp.EmailWorker.Schema;

/// <summary>GraphQL errors with the <c>extensions.code</c> values of <see cref="ErrorCodes"/>.</summary>
public static class GraphErrors
{
    public static ExecutionError Unauthenticated(string message) => new(message) { Code = ErrorCodes.Unauthenticated };

    public static ExecutionError Forbidden(string message) => new(message) { Code = ErrorCodes.Forbidden };

    public static ExecutionError BadUserInput(string message) => new(message) { Code = ErrorCodes.BadUserInput };
}

/// <summary>
/// Shapes errors for the response: the <c>code</c> extension only (no <c>codes</c> list), and unexpected
/// exceptions as <c>INTERNAL</c> with a generic message so no internals leak (they are logged instead).
/// </summary>
public sealed class NotificationsErrorInfoProvider() : ErrorInfoProvider(o => o.ExposeCodes = false)
{
    /// <inheritdoc />
    public override ErrorInfo GetInfo(ExecutionError executionError)
    {
        if (executionError is UnhandledError)
        {
            var internalError = new ExecutionError("An internal error occurred.") { Code = ErrorCodes.Internal, Path = executionError.Path };
            foreach (var location in executionError.Locations ?? [])
            {
                internalError.AddLocation(location);
            }

            return base.GetInfo(internalError);
        }

        return base.GetInfo(executionError);
    }
}
