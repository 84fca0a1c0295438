using Chirp.Users.Data;
using GraphQL.Types;

namespace Chirp.Users.Schema;

/// <summary>The argument of <c>signUp</c>.</summary>
public sealed record SignUpInput(string Handle, string DisplayName, string Password);

/// <summary>The argument of <c>updateProfile</c>.</summary>
public sealed record UpdateProfileInput(string DisplayName);

/// <summary>The argument of <c>changePassword</c>.</summary>
public sealed record ChangePasswordInput(string CurrentPassword, string NewPassword);

/// <summary>The result of <c>changePassword</c>.</summary>
public sealed record ChangePasswordPayload(User User);

/// <summary>The result of <c>signUp</c>.</summary>
public sealed record SignUpPayload(User User);

/// <summary>The result of <c>updateProfile</c>.</summary>
public sealed record UpdateProfilePayload(User User);

/// <summary><c>input SignUpInput { handle: String!  displayName: String!  password: String! }</c>.</summary>
public sealed class SignUpInputGraphType : InputObjectGraphType<SignUpInput>
{
    public SignUpInputGraphType()
    {
        Name = "SignUpInput";
        Field<NonNullGraphType<StringGraphType>>("handle");
        Field<NonNullGraphType<StringGraphType>>("displayName");
        Field<NonNullGraphType<StringGraphType>>("password");
    }
}

/// <summary><c>input UpdateProfileInput { displayName: String! }</c>.</summary>
public sealed class UpdateProfileInputGraphType : InputObjectGraphType<UpdateProfileInput>
{
    public UpdateProfileInputGraphType()
    {
        Name = "UpdateProfileInput";
        Field<NonNullGraphType<StringGraphType>>("displayName");
    }
}

/// <summary><c>type SignUpPayload { user: User! }</c>.</summary>
public sealed class SignUpPayloadGraphType : ObjectGraphType<SignUpPayload>
{
    public SignUpPayloadGraphType()
    {
        Name = "SignUpPayload";
        Field<NonNullGraphType<UserGraphType>>("user").Resolve(c => c.Source.User);
    }
}

/// <summary><c>type UpdateProfilePayload { user: User! }</c>.</summary>
public sealed class UpdateProfilePayloadGraphType : ObjectGraphType<UpdateProfilePayload>
{
    public UpdateProfilePayloadGraphType()
    {
        Name = "UpdateProfilePayload";
        Field<NonNullGraphType<UserGraphType>>("user").Resolve(c => c.Source.User);
    }
}

/// <summary><c>input ChangePasswordInput { currentPassword: String!  newPassword: String! }</c>.</summary>
public sealed class ChangePasswordInputGraphType : InputObjectGraphType<ChangePasswordInput>
{
    public ChangePasswordInputGraphType()
    {
        Name = "ChangePasswordInput";
        Field<NonNullGraphType<StringGraphType>>("currentPassword");
        Field<NonNullGraphType<StringGraphType>>("newPassword");
    }
}

/// <summary><c>type ChangePasswordPayload { user: User! }</c>.</summary>
public sealed class ChangePasswordPayloadGraphType : ObjectGraphType<ChangePasswordPayload>
{
    public ChangePasswordPayloadGraphType()
    {
        Name = "ChangePasswordPayload";
        Field<NonNullGraphType<UserGraphType>>("user").Resolve(c => c.Source.User);
    }
}
