using Microsoft.EntityFrameworkCore;

namespace Chirp.Users.Data;

/// <summary>The users database: one table, <c>users</c>.</summary>
public sealed class UsersDbContext(DbContextOptions<UsersDbContext> options) : DbContext(options)
{
    /// <summary>Name of the unique index on <c>users.handle</c>; a violation of it means the handle is taken.</summary>
    public const string HandleIndexName = "ux_users_handle";

    public DbSet<User> Users => Set<User>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<User>(user =>
        {
            user.ToTable("users", t =>
            {
                // The same rules as UserRules, kept by the database too so no writer can bypass them.
                t.HasCheckConstraint("ck_users_handle", "handle ~ '^[a-z0-9_]{3,15}$'");
                t.HasCheckConstraint("ck_users_display_name_length", "char_length(display_name) BETWEEN 1 AND 50");
            });
            user.HasKey(u => u.Id).HasName("pk_users");
            user.Property(u => u.Id).HasColumnName("id").ValueGeneratedNever();
            user.Property(u => u.Handle).HasColumnName("handle").IsRequired();
            user.Property(u => u.DisplayName).HasColumnName("display_name").IsRequired();
            user.Property(u => u.PasswordHash).HasColumnName("password_hash").IsRequired();
            user.Property(u => u.CreatedAt).HasColumnName("created_at").HasColumnType("timestamptz");
            user.HasIndex(u => u.Handle).IsUnique().HasDatabaseName(HandleIndexName);
        });
    }
}
