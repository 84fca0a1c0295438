using System.Globalization;
using System.Text;

namespace Chirp.Tweets.Data;

/// <summary>The tweet text rule (docs/architecture.md section 3): 1-280 Unicode scalar values after NFC normalisation.</summary>
public static class TweetText
{
    /// <summary>Most Unicode scalar values a tweet may hold.</summary>
    public const int MaxScalars = 280;

    /// <summary>
    /// Fails fast when Unicode normalisation does not work in this process: in globalization-invariant mode
    /// <see cref="string.Normalize(NormalizationForm)"/> returns its input unchanged, so "e\u0301" would count 2.
    /// </summary>
    /// <exception cref="InvalidOperationException">The process runs without ICU (<c>InvariantGlobalization</c> is true).</exception>
    public static void EnsureNormalizationWorks()
    {
        if ("e\u0301".Normalize(NormalizationForm.FormC) != "\u00e9")
        {
            throw new InvalidOperationException(
                "Unicode normalisation is unavailable: run with ICU (InvariantGlobalization=false, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT unset).");
        }
    }

    /// <summary>
    /// Normalises <paramref name="text"/> to NFC (Unicode UAX #15) and checks it: at least one non-whitespace
    /// character, at most <see cref="MaxScalars"/> scalar values (so "e\u0301" counts 1 once composed, and an emoji
    /// outside the BMP counts 1, not 2 UTF-16 units), no control characters other than tab, line feed and carriage
    /// return (PostgreSQL text cannot hold NUL), no unpaired surrogates.
    /// </summary>
    /// <returns>True with the NFC form to store, or false with a message for the client.</returns>
    public static bool TryNormalize(string? text, out string normalized, out string error)
    {
        normalized = "";
        if (text is null)
        {
            error = "The text must not be empty.";
            return false;
        }

        if (!IsWellFormed(text))
        {
            error = "The text is not valid Unicode (it has an unpaired surrogate).";
            return false;
        }

        var nfc = text.Normalize(NormalizationForm.FormC);

        var scalars = 0;
        var visible = false;
        foreach (var rune in nfc.EnumerateRunes())
        {
            scalars++;
            if (Rune.IsControl(rune) && rune.Value is not ('\t' or '\n' or '\r'))
            {
                error = "The text must not contain control characters.";
                return false;
            }

            // Zero-width and other format characters (category Cf) show nothing, so they do not make a tweet.
            visible |= !Rune.IsWhiteSpace(rune) && Rune.GetUnicodeCategory(rune) != UnicodeCategory.Format;
        }

        if (!visible)
        {
            error = "The text must not be empty or only whitespace.";
            return false;
        }

        if (scalars > MaxScalars)
        {
            error = $"The text must be at most {MaxScalars} characters; it has {scalars}.";
            return false;
        }

        normalized = nfc;
        error = "";
        return true;
    }

    private static bool IsWellFormed(ReadOnlySpan<char> text)
    {
        while (!text.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(text, out _, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return false;
            }

            text = text[consumed..];
        }

        return true;
    }
}
