using System.Globalization;
using System.Text;
using Chirp.Contracts;

namespace Chirp.Users.Data;

/// <summary>
/// A rule of the users subgraph was broken; <see cref="Code"/> is one of <see cref="ErrorCodes"/> and
/// <see cref="Exception.Message"/> is safe to show to the client.
/// </summary>
public sealed class UserAccountException(string code, string message) : Exception(message)
{
    /// <summary>The <c>extensions.code</c> of the GraphQL error this becomes.</summary>
    public string Code { get; } = code;
}

/// <summary>
/// The account rules of docs/architecture.md section 3: handles, display names and passwords. Every method either
/// returns the value to store or throws <see cref="UserAccountException"/> with <see cref="ErrorCodes.BadUserInput"/>.
/// </summary>
public static class UserRules
{
    public const int HandleMinLength = 3;
    public const int HandleMaxLength = 15;
    public const int DisplayNameMaxLength = 50;
    public const int PasswordMinLength = 8;
    public const int PasswordMaxLength = 128;

    /// <summary>
    /// Lower-cases a handle and checks it against <c>^[a-z0-9_]{3,15}$</c>. Only ASCII letters are folded, so no
    /// look-alike (such as the Kelvin sign) turns into a valid handle.
    /// </summary>
    /// <returns>False when the input cannot be a handle; <paramref name="handle"/> is then empty.</returns>
    public static bool TryNormalizeHandle(string? input, out string handle)
    {
        handle = "";
        if (input is null || input.Length is < HandleMinLength or > HandleMaxLength)
        {
            return false;
        }

        foreach (var c in input)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        handle = input.ToLowerInvariant();
        return true;
    }

    /// <summary>Like <see cref="TryNormalizeHandle"/>, but throws with a message that names the rule.</summary>
    /// <exception cref="UserAccountException">The handle breaks the rule.</exception>
    public static string NormalizeHandle(string? input) =>
        TryNormalizeHandle(input, out var handle)
            ? handle
            : throw BadInput($"A handle is {HandleMinLength} to {HandleMaxLength} characters, each a letter a-z, a digit or '_' (^[a-z0-9_]{{3,15}}$ after lower-casing).");

    /// <summary>
    /// Checks a display name and returns it in Unicode normalisation form C with surrounding white space removed:
    /// 1 to 50 Unicode scalar values (what a user counts as characters far more often than UTF-16 units; PostgreSQL's
    /// <c>char_length</c> counts the same), valid UTF-16, and no control characters (C0, DEL, C1, line and paragraph
    /// separators, bidi embeddings, overrides and isolates). Refusing CR and LF here keeps display names out of mail
    /// headers (RFC 5322 header injection). NFC makes "Zoë" typed as e + U+0308 the same name as "Zoë" typed as
    /// U+00EB, as tweet text is.
    /// </summary>
    /// <exception cref="UserAccountException">The display name breaks a rule.</exception>
    public static string NormalizeDisplayName(string? input)
    {
        if (input is null)
        {
            throw BadInput("A display name is required.");
        }

        // Long input should not cost work; invalid UTF-16 is refused before Normalize, which throws on it.
        if (input.Length > DisplayNameMaxLength * 8)
        {
            throw BadInput($"A display name is at most {DisplayNameMaxLength} characters.");
        }

        foreach (var (rune, valid) in EnumerateRunes(input))
        {
            if (!valid)
            {
                throw BadInput("A display name must be valid Unicode text.");
            }

            if (IsForbiddenInDisplayName(rune))
            {
                throw BadInput($"A display name must not contain control characters (found U+{rune.Value:X4}).");
            }
        }

        var name = input.Normalize(NormalizationForm.FormC).Trim();
        var length = CountRunes(name);
        return length switch
        {
            0 => throw BadInput("A display name must not be empty."),
            > DisplayNameMaxLength => throw BadInput($"A display name is at most {DisplayNameMaxLength} characters (this one has {length})."),
            _ => name,
        };
    }

    /// <summary>Checks that a password has 8 to 128 characters (Unicode scalar values).</summary>
    /// <exception cref="UserAccountException">The password is too short or too long.</exception>
    public static void CheckPassword(string? password)
    {
        var length = password is null ? 0 : CountRunes(password);
        if (length is < PasswordMinLength or > PasswordMaxLength)
        {
            throw BadInput($"A password is {PasswordMinLength} to {PasswordMaxLength} characters.");
        }
    }

    private static bool IsForbiddenInDisplayName(Rune rune) =>
        Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
        || rune.Value is >= 0x202A and <= 0x202E or >= 0x2066 and <= 0x2069;

    private static int CountRunes(string text)
    {
        var count = 0;
        foreach (var _ in text.EnumerateRunes())
        {
            count++;
        }

        return count;
    }

    private static IEnumerable<(Rune Rune, bool Valid)> EnumerateRunes(string text)
    {
        for (var i = 0; i < text.Length;)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                yield return (Rune.ReplacementChar, false);
                yield break;
            }

            yield return (rune, true);
            i += consumed;
        }
    }

    private static UserAccountException BadInput(string message) => new(ErrorCodes.BadUserInput, message);
}
