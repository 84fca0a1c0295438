using Chirp.Contracts;
using GraphQL;

namespace Chirp.Subgraphs;

/// <summary>
/// GraphQL errors whose <c>extensions.code</c> is one of <see cref="ErrorCodes"/>; the error shaping keeps the code
/// and the message and adds nothing else.
/// </summary>
public static class CodedErrors
{
    /// <summary>An error with <paramref name="code"/> (one of <see cref="ErrorCodes"/>) and a message for the caller.</summary>
    public static ExecutionError Create(string code, string message) => new(message) { Code = code };

    /// <summary>The caller is anonymous or its identity names no user.</summary>
    public static ExecutionError Unauthenticated(string message) => Create(ErrorCodes.Unauthenticated, message);

    /// <summary>The caller is known but may not do this.</summary>
    public static ExecutionError Forbidden(string message) => Create(ErrorCodes.Forbidden, message);

    /// <summary>An argument breaks a rule; the message says which and how.</summary>
    public static ExecutionError BadUserInput(string message) => Create(ErrorCodes.BadUserInput, message);

    /// <summary>The object the arguments name does not exist.</summary>
    public static ExecutionError NotFound(string message) => Create(ErrorCodes.NotFound, message);
}
