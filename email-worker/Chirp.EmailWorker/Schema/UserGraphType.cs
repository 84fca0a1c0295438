using Chirp.EmailWorker.Data;
using Chirp.Subgraphs;
using GraphQL.Types;
using Microsoft.EntityFrameworkCore;

namespace Chirp.EmailWorker.Schema;

/// <summary>
/// <c>type User @key(fields: "id") { id: ID!  emailSettings: EmailSettings }</c>: contributes a user's email settings
/// to the shared User entity. Reached only through <c>_entities</c>; <c>emailSettings</c> is the caller's own (defaults
/// before any update), FORBIDDEN for others and UNAUTHENTICATED for anonymous callers (docs/architecture.md section 3).
/// </summary>
public sealed class UserGraphType : ObjectGraphType<UserReference>
{
    public UserGraphType(IDbContextFactory<EmailDbContext> databases)
    {
        this.KeyedById("User", user => user.Id);
        this.ResolveAsUserReference();

        Field<EmailSettingsGraphType, EmailSettings>("emailSettings").ResolveAsync(async context =>
        {
            var callerId = context.RequireUserId("Sign in to read email settings.");
            if (!context.Source.TryGetId(out var userId) || userId != callerId)
            {
                throw CodedErrors.Forbidden("Only the user can read their own email settings.");
            }

            await using var db = await databases.CreateDbContextAsync(context.CancellationToken);
            var settings = await db.EmailSettings.AsNoTracking().FirstOrDefaultAsync(s => s.UserId == userId, context.CancellationToken);
            return settings ?? new EmailSettings { UserId = userId };
        });
    }
}
