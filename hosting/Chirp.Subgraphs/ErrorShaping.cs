using Chirp.Contracts;
using GraphQL;
using GraphQL.DI;
using GraphQL.Execution;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chirp.Subgraphs;

/// <summary>
/// Error shaping of Chirp's GraphQL.NET subgraphs: errors carry <c>extensions.code</c> only (no <c>codes</c> list,
/// no exception data or details); thrown <see cref="ExecutionError"/>s keep their code; a database connection that
/// did not come free in time becomes <see cref="ErrorCodes.Unavailable"/>; any other exception is logged and becomes
/// <see cref="ErrorCodes.Internal"/> with a generic message, so nothing internal leaks.
/// </summary>
public static class ErrorShaping
{
    /// <summary>The message of every <see cref="ErrorCodes.Internal"/> error.</summary>
    public const string InternalMessage = "An internal error occurred.";

    /// <summary>The message of an <see cref="ErrorCodes.Unavailable"/> error for an overloaded service.</summary>
    public const string UnavailableMessage = "The service is busy; try again shortly.";

    /// <summary>
    /// True for a database provider's timeout (a <see cref="System.Data.Common.DbException"/> caused by a
    /// <see cref="TimeoutException"/>, as Npgsql reports an exhausted connection pool), however deeply wrapped.
    /// </summary>
    public static bool IsOverload(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is System.Data.Common.DbException { InnerException: TimeoutException })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Installs the error shaping. <paramref name="translate"/> may turn a known domain exception into an
    /// <see cref="ExecutionError"/> with its own code (return null for anything else; it is then logged and INTERNAL).
    /// </summary>
    public static IGraphQLBuilder AddChirpErrorShaping(this IGraphQLBuilder builder, Func<Exception, ExecutionError?>? translate = null) =>
        builder
            .AddErrorInfoProvider(o =>
            {
                o.ExposeCodes = false;
                o.ExposeData = false;
                o.ExposeExceptionDetails = false;
            })
            .AddUnhandledExceptionHandler(context => OnUnhandledException(context, translate));

    private static void OnUnhandledException(UnhandledExceptionContext context, Func<Exception, ExecutionError?>? translate)
    {
        if (translate?.Invoke(context.OriginalException) is { } known)
        {
            context.Exception = known;
            return;
        }

        var services = context.FieldContext?.RequestServices ?? context.ExecutionOptions?.RequestServices;
        var logger = services?.GetService<ILoggerFactory>()?.CreateLogger(typeof(ErrorShaping).FullName!);
        if (IsOverload(context.OriginalException))
        {
            // The database pool had no free connection within its Timeout (README.md "Capacity"): overload, which a
            // retry may get through, not a fault.
            logger?.LogWarning("No database connection came free in time for GraphQL field {Path}.",
                context.FieldContext is { } busy ? string.Join('.', busy.Path) : "(operation)");
            context.Exception = new ExecutionError(UnavailableMessage) { Code = ErrorCodes.Unavailable };
            return;
        }

        logger?.LogError(context.OriginalException, "Unhandled exception in GraphQL field {Path}.",
            context.FieldContext is { } field ? string.Join('.', field.Path) : "(operation)");
        context.Exception = new ExecutionError(InternalMessage) { Code = ErrorCodes.Internal };
    }
}
