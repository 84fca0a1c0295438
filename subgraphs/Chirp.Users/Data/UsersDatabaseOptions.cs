using System.ComponentModel.DataAnnotations;

namespace Chirp.Users.Data;

/// <summary>Where the users database is: <c>ConnectionStrings:Users</c> (an Npgsql connection string).</summary>
public sealed class UsersDatabaseOptions
{
    /// <summary>The configuration key of <see cref="ConnectionString"/>.</summary>
    public const string ConfigurationKey = "ConnectionStrings:Users";

    [Required(ErrorMessage = "ConnectionStrings:Users is required.")]
    public string? ConnectionString { get; set; }
}
