using System.ComponentModel.DataAnnotations;

namespace Chirp.EmailWorker;

/// <summary>The email worker's connection strings (section <c>ConnectionStrings</c>), required at start.</summary>
public sealed class ConnectionStringsOptions
{
    public const string SectionName = "ConnectionStrings";

    /// <summary>Npgsql connection string of the <c>email</c> database.</summary>
    [Required]
    public string Email { get; set; } = "";

    /// <summary>StackExchange.Redis configuration string.</summary>
    [Required]
    public string Redis { get; set; } = "";
}
