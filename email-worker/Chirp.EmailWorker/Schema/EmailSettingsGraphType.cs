using Chirp.EmailWorker.Data;
using GraphQL.Types;

namespace Chirp.EmailWorker.Schema;

/// <summary><c>type EmailSettings { address: String  verified: Boolean!  notifyOnRetweet: Boolean! }</c></summary>
public sealed class EmailSettingsGraphType : ObjectGraphType<EmailSettings>
{
    public EmailSettingsGraphType()
    {
        Name = "EmailSettings";
        Field<StringGraphType>("address").Resolve(c => c.Source.Address);
        Field<NonNullGraphType<BooleanGraphType>>("verified").Resolve(c => c.Source.Verified);
        Field<NonNullGraphType<BooleanGraphType>>("notifyOnRetweet").Resolve(c => c.Source.NotifyOnRetweet);
    }
}
