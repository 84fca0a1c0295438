namespace Chirp.Users.Data;

/// <summary>An account (table <c>users</c>).</summary>
public sealed class User
{
    /// <summary>UUIDv7, so ids sort by creation time and index well.</summary>
    public Guid Id { get; set; }

    /// <summary>Lower-case, <c>^[a-z0-9_]{3,15}$</c>, unique, never changes.</summary>
    public string Handle { get; set; } = "";

    /// <summary>1-50 Unicode scalar values, NFC, no control characters (see <see cref="UserRules"/>).</summary>
    public string DisplayName { get; set; } = "";

    /// <summary>ASP.NET Core Identity <c>PasswordHasher</c> output (versioned, salted PBKDF2).</summary>
    public string PasswordHash { get; set; } = "";

    /// <summary>When the account was created, UTC, microsecond precision (what PostgreSQL keeps).</summary>
    public DateTimeOffset CreatedAt { get; set; }
}
