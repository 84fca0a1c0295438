using System.Security.Cryptography;
using Chirp.Contracts;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Chirp.Users.Data;

/// <summary>
/// What can be done to accounts: sign up, change the display name, look up, check a password. Each call uses its
/// own short-lived <see cref="UsersDbContext"/>, so one instance serves concurrent GraphQL fields.
/// </summary>
public sealed class UserAccounts(
    IDbContextFactory<UsersDbContext> dbFactory,
    IPasswordHasher<User> hasher,
    TimeProvider time,
    ILogger<UserAccounts> logger)
{
    // Checked when the handle is unknown, so that an unknown handle costs as much as a wrong password
    // and response times do not tell which handles exist.
    private readonly Lazy<string> _dummyHash = new(() => hasher.HashPassword(new User(), RandomNumberGenerator.GetHexString(32)));

    /// <summary>Creates an account; the handle is stored lower-case and the password only as a hash.</summary>
    /// <exception cref="UserAccountException">
    /// <see cref="ErrorCodes.BadUserInput"/> for a bad handle, display name or password;
    /// <see cref="ErrorCodes.Conflict"/> when the handle is taken (nothing is written then).
    /// </exception>
    public async Task<User> SignUpAsync(string? handle, string? displayName, string? password, CancellationToken cancellationToken)
    {
        var user = new User
        {
            Handle = UserRules.NormalizeHandle(handle),
            DisplayName = UserRules.NormalizeDisplayName(displayName),
        };
        UserRules.CheckPassword(password);

        var now = time.GetUtcNow();
        user.Id = Guid.CreateVersion7(now);
        // PostgreSQL keeps microseconds; cut the rest now so that this answer and later reads agree.
        user.CreatedAt = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % 10), TimeSpan.Zero);
        user.PasswordHash = hasher.HashPassword(user, password!);

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        db.Users.Add(user);
        try
        {
            // One INSERT: either the row is there or nothing is. The unique index decides races between
            // two sign-ups of the same handle, which a read-then-write check could not.
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: UsersDbContext.HandleIndexName })
        {
            throw new UserAccountException(ErrorCodes.Conflict, $"The handle '{user.Handle}' is taken.");
        }

        logger.LogInformation("Signed up user {UserId}", user.Id);
        return user;
    }

    /// <summary>Changes a user's display name.</summary>
    /// <exception cref="UserAccountException">
    /// <see cref="ErrorCodes.BadUserInput"/> for a bad display name; <see cref="ErrorCodes.NotFound"/> when the user does not exist.
    /// </exception>
    public async Task<User> UpdateProfileAsync(string userId, string? displayName, CancellationToken cancellationToken)
    {
        var name = UserRules.NormalizeDisplayName(displayName);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var user = ChirpIds.TryParse(userId, out var id) ? await db.Users.SingleOrDefaultAsync(u => u.Id == id, cancellationToken) : null;
        if (user is null)
        {
            throw new UserAccountException(ErrorCodes.NotFound, "There is no such user.");
        }

        user.DisplayName = name;
        await db.SaveChangesAsync(cancellationToken);
        return user;
    }

    /// <summary>
    /// Replaces a user's password after checking the current one; the new one follows the sign-up rules. Ending the
    /// user's other sessions is the gateway's part (<see cref="ChirpHeaders.CredentialsChanged"/>).
    /// </summary>
    /// <exception cref="UserAccountException">
    /// <see cref="ErrorCodes.BadUserInput"/> when the current password is wrong or the new one breaks the rules;
    /// <see cref="ErrorCodes.NotFound"/> when the user does not exist.
    /// </exception>
    public async Task<User> ChangePasswordAsync(string userId, string? currentPassword, string? newPassword, CancellationToken cancellationToken)
    {
        UserRules.CheckPassword(newPassword);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var user = ChirpIds.TryParse(userId, out var id) ? await db.Users.SingleOrDefaultAsync(u => u.Id == id, cancellationToken) : null;
        if (user is null)
        {
            throw new UserAccountException(ErrorCodes.NotFound, "There is no such user.");
        }

        if (string.IsNullOrEmpty(currentPassword) || currentPassword.Length > UserRules.PasswordMaxLength * 2 ||
            hasher.VerifyHashedPassword(user, user.PasswordHash, currentPassword) == PasswordVerificationResult.Failed)
        {
            throw new UserAccountException(ErrorCodes.BadUserInput, "The current password is wrong.");
        }

        user.PasswordHash = hasher.HashPassword(user, newPassword!);
        await db.SaveChangesAsync(cancellationToken);
        logger.LogInformation("Changed the password of user {UserId}", user.Id);
        return user;
    }

    /// <summary>The users with the given ids, in one query; unknown ids are missing from the answer.</summary>
    public async Task<Dictionary<Guid, User>> FindByIdsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Users.AsNoTracking().Where(u => ids.Contains(u.Id)).ToDictionaryAsync(u => u.Id, cancellationToken);
    }

    /// <summary>The user with this handle (any letter case), or null, also for text that cannot be a handle.</summary>
    public async Task<User?> FindByHandleAsync(string? handle, CancellationToken cancellationToken)
    {
        if (!UserRules.TryNormalizeHandle(handle, out var normalized))
        {
            return null;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Handle == normalized, cancellationToken);
    }

    /// <summary>
    /// Checks a handle and password. Returns the user, or null when either is wrong; an unknown handle is checked
    /// against a dummy hash so both failures take about as long. A hash made with older settings is replaced.
    /// </summary>
    public async Task<User?> VerifyCredentialsAsync(string handle, string password, CancellationToken cancellationToken)
    {
        // No stored password is longer (sign-up caps it), and the length is no secret: skip the hashing work.
        if (password.Length > UserRules.PasswordMaxLength * 2)
        {
            return null;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var user = UserRules.TryNormalizeHandle(handle, out var normalized)
            ? await db.Users.SingleOrDefaultAsync(u => u.Handle == normalized, cancellationToken)
            : null;

        if (user is null)
        {
            hasher.VerifyHashedPassword(new User(), _dummyHash.Value, password);
            return null;
        }

        switch (hasher.VerifyHashedPassword(user, user.PasswordHash, password))
        {
            case PasswordVerificationResult.Success:
                return user;
            case PasswordVerificationResult.SuccessRehashNeeded:
                user.PasswordHash = hasher.HashPassword(user, password);
                await db.SaveChangesAsync(cancellationToken);
                logger.LogInformation("Rehashed the password of user {UserId}", user.Id);
                return user;
            default:
                return null;
        }
    }
}
