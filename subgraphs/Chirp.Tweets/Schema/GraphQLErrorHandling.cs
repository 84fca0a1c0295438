using Chirp.Contracts;
using GraphQL;
using GraphQL.Execution;

namespace Chirp.Tweets.Schema;

/// <summary>Turns unexpected resolver exceptions into <c>INTERNAL</c> errors that reveal nothing (the exception is logged).</summary>
public static class GraphQLErrorHandling
{
    /// <summary>GraphQL.NET unhandled-exception hook: log, then replace with a generic INTERNAL error.</summary>
    public static void OnUnhandledException(UnhandledExceptionContext context)
    {
        var services = context.FieldContext?.RequestServices ?? context.ExecutionOptions?.RequestServices;
        var logger = services?.GetService<ILoggerFactory>()?.CreateLogger(typeof(GraphQLErrorHandling).FullName!);
        logger?.LogError(context.OriginalException, "Unhandled exception in GraphQL field {Path}.",
            context.FieldContext is { } f ? string.Join('.', f.Path) : "(operation)");
        context.Exception = new ExecutionError("An internal error occurred.") { Code = ErrorCodes.Internal };
    }
}
