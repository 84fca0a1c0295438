using Chirp.EmailWorker.Data;
using Chirp.Subgraphs;
using GraphQL.Federation;
using GraphQL.Types;
using Microsoft.EntityFrameworkCore;

namespace Chirp.EmailWorker.Schema;

/// <summary>The stub of a <c>User</c> entity owned by the users subgraph: only its key.</summary>
public sealed class UserReference
{
    /// <summary>The user's id as the client or gateway sent it.</summary>
    public string Id { get; set; } = "";
}

/// <summary>
/// <c>type User @key(fields: "id") { id: ID!  emailSettings: EmailSettings }</c>. Reached only through
/// <c>_entities</c>; <c>emailSettings</c> is the caller's own (defaults before any update), FORBIDDEN for others and
/// UNAUTHENTICATED for anonymous callers (docs/architecture.md section 3).
/// </summary>
public sealed class UserGraphType : ObjectGraphType<UserReference>
{
    public UserGraphType(IDbContextFactory<EmailDbContext> databases)
    {
        Name = "User";
        this.Key("id");
        this.ResolveReference((_, reference) => reference);

        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => c.Source.Id);
        Field<EmailSettingsGraphType>("emailSettings").ResolveAsync(async context =>
        {
            var callerId = context.RequireUserId("Sign in to read email settings.");
            if (!Guid.TryParse(context.Source.Id, out var userId) || userId != callerId)
            {
                throw CodedErrors.Forbidden("Only the user can read their own email settings.");
            }

            await using var db = await databases.CreateDbContextAsync(context.CancellationToken);
            var settings = await db.EmailSettings.AsNoTracking().FirstOrDefaultAsync(s => s.UserId == userId, context.CancellationToken);
            return settings ?? new EmailSettings { UserId = userId };
        });
    }
}
