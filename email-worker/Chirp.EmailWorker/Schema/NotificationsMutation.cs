using Chirp.Contracts;
using Chirp.EmailWorker.Data;
using Chirp.EmailWorker.Links;
using Chirp.EmailWorker.Mail;
using Chirp.Subgraphs;
using GraphQL;
using GraphQL.Types;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Chirp.EmailWorker.Schema;

/// <summary>
/// <c>updateEmailSettings(input: UpdateEmailSettingsInput!): UpdateEmailSettingsPayload! @requiresScopes(scopes: [["email:manage"]])</c>.
/// The subgraph enforces the scope itself too (<see cref="AccessDirectivesMiddleware"/>): anonymous callers get
/// UNAUTHENTICATED, callers without the scope FORBIDDEN, a bad address BAD_USER_INPUT, each before anything is stored.
/// A new address is unverified until its owner follows the link of the confirmation mail (docs/architecture.md
/// section 3: mail goes only to verified addresses); setting the same unverified address again sends the mail again,
/// at most once per <c>EmailLinks:ConfirmationResendInterval</c> (else RATE_LIMITED).
/// </summary>
public sealed class NotificationsMutation : ObjectGraphType
{
    public NotificationsMutation(IDbContextFactory<EmailDbContext> databases, ConfirmationSender confirmation, IOptions<EmailLinkOptions> links, TimeProvider time)
    {
        Name = "Mutation";
        Field<NonNullGraphType<UpdateEmailSettingsPayloadGraphType>>("updateEmailSettings")
            .Argument<NonNullGraphType<UpdateEmailSettingsInputGraphType>>("input")
            .ApplyDirective(AccessDirectives.RequiresScopes, AccessDirectives.ScopesArgument, new List<List<string>> { new() { ChirpScopes.EmailManage } })
            .ResolveAsync(async context =>
            {
                var userId = context.RequireUserId("Sign in to change email settings.");

                var input = context.GetArgument<IDictionary<string, object?>>("input");
                var change = new SettingsChange(
                    SetAddress: input.TryGetValue("address", out var address),
                    Address: address as string,
                    NotifyOnRetweet: input.TryGetValue("notifyOnRetweet", out var notify) ? notify as bool? : null);
                if (change is { SetAddress: true, Address: { } text } && EmailAddressRule.Validate(text) is { } problem)
                {
                    throw CodedErrors.BadUserInput(problem);
                }

                var (settings, confirm) = await SaveAsync(databases, time, links.Value.ConfirmationResendInterval, userId, change, context.CancellationToken);
                if (confirm && !await confirmation.SendAsync(userId, settings.Address!, context.CancellationToken))
                {
                    // Let the user ask again at once: the mail never went out.
                    await using var db = await databases.CreateDbContextAsync(CancellationToken.None);
                    var sentAt = settings.ConfirmationSentAt;
                    await db.EmailSettings
                        .Where(s => s.UserId == userId && s.ConfirmationSentAt == sentAt)
                        .ExecuteUpdateAsync(u => u.SetProperty(s => s.ConfirmationSentAt, (DateTimeOffset?)null), CancellationToken.None);
                    context.Errors.Add(new ExecutionError("The address is saved, but its confirmation mail could not be sent now; set the same address again to retry.")
                    {
                        Code = ErrorCodes.Internal,
                        Path = context.ResponsePath,
                    });
                }

                return settings;
            });
    }

    private readonly record struct SettingsChange(bool SetAddress, string? Address, bool? NotifyOnRetweet);

    /// <summary>
    /// Applies the change under a row lock. A new address, or the same unverified address set again, is stored
    /// unverified and needs a confirmation mail (the second value), at most one per <paramref name="resendInterval"/>:
    /// sooner is refused with <c>RATE_LIMITED</c> and nothing is stored.
    /// </summary>
    private static async Task<(EmailSettings Settings, bool Confirm)> SaveAsync(
        IDbContextFactory<EmailDbContext> databases, TimeProvider time, TimeSpan resendInterval, Guid userId, SettingsChange change, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var db = await databases.CreateDbContextAsync(ct);
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            var settings = await db.EmailSettings
                .FromSql($"SELECT * FROM email_settings WHERE user_id = {userId} FOR UPDATE")
                .FirstOrDefaultAsync(ct);
            var isNew = settings is null;
            settings ??= db.EmailSettings.Add(new EmailSettings { UserId = userId }).Entity;
            var now = time.GetUtcNow();

            var confirm = false;
            if (change.SetAddress)
            {
                var same = string.Equals(settings.Address, change.Address, StringComparison.Ordinal);
                confirm = change.Address is not null && !(same && settings.Verified);
                if (!same)
                {
                    settings.Address = change.Address;
                    settings.Verified = false;
                }
            }

            if (confirm)
            {
                if (settings.ConfirmationSentAt is { } last && now - last < resendInterval)
                {
                    var wait = Math.Max(1, (int)Math.Ceiling((resendInterval - (now - last)).TotalSeconds));
                    throw CodedErrors.Create(ErrorCodes.RateLimited, $"A confirmation mail went out moments ago; try again in {wait} s.");
                }

                settings.ConfirmationSentAt = now;
            }

            if (change.NotifyOnRetweet is { } notify)
            {
                settings.NotifyOnRetweet = notify;
            }

            settings.UpdatedAt = now;
            try
            {
                await db.SaveChangesAsync(ct);
                await transaction.CommitAsync(ct);
                return (settings, confirm);
            }
            catch (DbUpdateException e) when (isNew && attempt == 0 && e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
            {
                // A concurrent first update inserted the row; apply this change on top of it.
            }
        }
    }
}
