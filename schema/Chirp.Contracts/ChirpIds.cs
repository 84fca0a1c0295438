namespace Chirp.Contracts;

/// <summary>
/// The ids of users and tweets on the wire (docs/architecture.md section 3): opaque strings to clients, written by the
/// services as a UUID in its canonical <c>8-4-4-4-12</c> form.
/// </summary>
public static class ChirpIds
{
    /// <summary>
    /// Reads an id; false for anything not in the canonical form (braces, no dashes, null), so every service agrees on
    /// which texts name the same user or tweet.
    /// </summary>
    public static bool TryParse(string? text, out Guid id) => Guid.TryParseExact(text, "D", out id);
}
