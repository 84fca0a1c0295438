using Chirp.Contracts;
using GraphQL;
using GraphQL.DI;
using GraphQL.Execution;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chirp.GraphQL.AspNetCore.Federation;

/// <summary>
/// Error shaping of Chirp's GraphQL.NET subgraphs: errors carry <c>extensions.code</c> only (no <c>codes</c> list,
/// no exception data or details); thrown <see cref="ExecutionError"/>s keep their code; any other exception is
/// logged and becomes <see cref="ErrorCodes.Internal"/> with a generic message, so nothing internal leaks.
/// </summary>
public static class ErrorShaping
{
    /// <summary>The message of every <see cref="ErrorCodes.Internal"/> error.</summary>
    public const string InternalMessage = "An internal error occurred.";

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
        logger?.LogError(context.OriginalException, "Unhandled exception in GraphQL field {Path}.",
            context.FieldContext is { } field ? string.Join('.', field.Path) : "(operation)");
        context.Exception = new ExecutionError(InternalMessage) { Code = ErrorCodes.Internal };
    }
}
