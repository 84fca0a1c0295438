using GraphQL.Types;

namespace Chirp.EmailWorker.Schema;

/// <summary>
/// <c>input UpdateEmailSettingsInput { address: String  notifyOnRetweet: Boolean }</c>. An omitted field keeps its
/// value; <c>address: null</c> removes the address.
/// </summary>
public sealed class UpdateEmailSettingsInputGraphType : InputObjectGraphType
{
    public UpdateEmailSettingsInputGraphType()
    {
        Name = "UpdateEmailSettingsInput";
        Field<StringGraphType>("address");
        Field<BooleanGraphType>("notifyOnRetweet");
    }
}

/// <summary><c>type UpdateEmailSettingsPayload { emailSettings: EmailSettings! }</c></summary>
public sealed class UpdateEmailSettingsPayloadGraphType : ObjectGraphType<Data.EmailSettings>
{
    public UpdateEmailSettingsPayloadGraphType()
    {
        Name = "UpdateEmailSettingsPayload";
        Field<NonNullGraphType<EmailSettingsGraphType>>("emailSettings").Resolve(c => c.Source);
    }
}
