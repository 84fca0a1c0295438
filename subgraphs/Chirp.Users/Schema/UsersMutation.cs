using Chirp.Contracts;
using Chirp.Subgraphs;
using Chirp.Users.Data;
using GraphQL;
using GraphQL.Types;

namespace Chirp.Users.Schema;

/// <summary>
/// <c>type Mutation { signUp(input: SignUpInput!): SignUpPayload!  updateProfile(input: UpdateProfileInput!): UpdateProfilePayload! @authenticated }</c>.
/// <c>signUp</c> answers BAD_USER_INPUT for a bad handle, display name or password and CONFLICT for a taken handle;
/// <c>updateProfile</c> changes the caller's display name (BAD_USER_INPUT for a bad one, UNAUTHENTICATED without an
/// identity); <c>changePassword(input: ChangePasswordInput!): ChangePasswordPayload! @authenticated</c> replaces the
/// caller's password after checking the current one (BAD_USER_INPUT when it is wrong or the new one is too short or
/// long) and tells the gateway, which ends every other session of the caller. Broken rules become errors with <c>extensions.code</c> (see <see cref="UserAccountException"/>).
/// </summary>
public sealed class UsersMutation : ObjectGraphType
{
    public UsersMutation()
    {
        Name = "Mutation";

        Field<NonNullGraphType<SignUpPayloadGraphType>>("signUp")
            .Argument<NonNullGraphType<SignUpInputGraphType>>("input")
            .ResolveAsync(async context =>
            {
                var input = context.GetArgument<SignUpInput>("input");
                var user = await context.RequestServices!.GetRequiredService<UserAccounts>()
                    .SignUpAsync(input.Handle, input.DisplayName, input.Password, context.CancellationToken);
                return new SignUpPayload(user);
            });

        Field<NonNullGraphType<UpdateProfilePayloadGraphType>>("updateProfile")
            .ApplyDirective(AccessDirectives.Authenticated)
            .Argument<NonNullGraphType<UpdateProfileInputGraphType>>("input")
            .ResolveAsync(async context =>
            {
                var userId = context.RequireUserId("Sign in to change your profile.").ToString("D");
                var input = context.GetArgument<UpdateProfileInput>("input");
                var user = await context.RequestServices!.GetRequiredService<UserAccounts>()
                    .UpdateProfileAsync(userId, input.DisplayName, context.CancellationToken);
                return new UpdateProfilePayload(user);
            });

        Field<NonNullGraphType<ChangePasswordPayloadGraphType>>("changePassword")
            .ApplyDirective(AccessDirectives.Authenticated)
            .Argument<NonNullGraphType<ChangePasswordInputGraphType>>("input")
            .ResolveAsync(async context =>
            {
                var userId = context.RequireUserId("Sign in to change your password.").ToString("D");
                var input = context.GetArgument<ChangePasswordInput>("input");
                var user = await context.RequestServices!.GetRequiredService<UserAccounts>()
                    .ChangePasswordAsync(userId, input.CurrentPassword, input.NewPassword, context.CancellationToken);

                // The gateway ends the user's other sessions when it sees this on the response.
                if (context.RequestServices!.GetRequiredService<IHttpContextAccessor>().HttpContext is { } http)
                {
                    http.Response.Headers[ChirpHeaders.CredentialsChanged] = user.Id.ToString();
                }

                return new ChangePasswordPayload(user);
            });
    }
}
