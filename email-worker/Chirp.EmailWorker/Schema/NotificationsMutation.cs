using Chirp.Contracts;
using Chirp.EmailWorker.Data;
using Chirp.GraphQL.AspNetCore.Federation;
using Chirp.Hosting;
using GraphQL;
using GraphQL.Types;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Chirp.EmailWorker.Schema;

/// <summary>
/// <c>updateEmailSettings(input: UpdateEmailSettingsInput!): UpdateEmailSettingsPayload! @requiresScopes(scopes: [["email:manage"]])</c>.
/// The subgraph enforces the scope itself too (<see cref="AccessDirectivesMiddleware"/>): anonymous callers get
/// UNAUTHENTICATED, callers without the scope FORBIDDEN, a bad address BAD_USER_INPUT, each before anything is stored.
/// </summary>
public sealed class NotificationsMutation : ObjectGraphType
{
    public NotificationsMutation(IDbContextFactory<EmailDbContext> databases, TimeProvider time)
    {
        Name = "Mutation";
        Field<NonNullGraphType<UpdateEmailSettingsPayloadGraphType>>("updateEmailSettings")
            .Argument<NonNullGraphType<UpdateEmailSettingsInputGraphType>>("input")
            .ApplyDirective(AccessDirectives.RequiresScopes, AccessDirectives.ScopesArgument, new List<List<string>> { new() { ChirpScopes.EmailManage } })
            .ResolveAsync(async context =>
            {
                var caller = context.User?.GetUserId() ?? throw GraphErrors.Unauthenticated("Sign in to change email settings.");
                if (!Guid.TryParse(caller, out var userId))
                {
                    throw GraphErrors.Forbidden("The caller has no valid user id.");
                }

                var input = context.GetArgument<IDictionary<string, object?>>("input");
                var change = new SettingsChange(
                    SetAddress: input.TryGetValue("address", out var address),
                    Address: address as string,
                    NotifyOnRetweet: input.TryGetValue("notifyOnRetweet", out var notify) ? notify as bool? : null);
                if (change is { SetAddress: true, Address: { } text } && EmailAddressRule.Validate(text) is { } problem)
                {
                    throw GraphErrors.BadUserInput(problem);
                }

                return await SaveAsync(databases, time, userId, change, context.CancellationToken);
            });
    }

    private readonly record struct SettingsChange(bool SetAddress, string? Address, bool? NotifyOnRetweet);

    private static async Task<EmailSettings> SaveAsync(
        IDbContextFactory<EmailDbContext> databases, TimeProvider time, Guid userId, SettingsChange change, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var db = await databases.CreateDbContextAsync(ct);
            var settings = await db.EmailSettings.FirstOrDefaultAsync(s => s.UserId == userId, ct);
            var isNew = settings is null;
            settings ??= db.EmailSettings.Add(new EmailSettings { UserId = userId }).Entity;

            if (change.SetAddress && !string.Equals(settings.Address, change.Address, StringComparison.Ordinal))
            {
                settings.Address = change.Address;
                // Until address confirmation mails exist, a new address counts as verified at once.
                settings.Verified = change.Address is not null;
            }

            if (change.NotifyOnRetweet is { } notify)
            {
                settings.NotifyOnRetweet = notify;
            }

            settings.UpdatedAt = time.GetUtcNow();
            try
            {
                await db.SaveChangesAsync(ct);
                return settings;
            }
            catch (DbUpdateException e) when (isNew && attempt == 0 && e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
            {
                // A concurrent first update inserted the row; apply this change on top of it.
            }
        }
    }
}
