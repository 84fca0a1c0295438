using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Chirp.Hosting;
using StackExchange.Redis;

namespace Chirp.Gateway.Auth;

/// <summary>
/// Opaque refresh tokens (256 random bits, base64url) stored in Redis only as SHA-256 hashes, grouped in families.
/// Every use rotates the token; presenting a rotated token again revokes the whole family (RFC 9700 section 4.14.2).
/// Keys: <c>chirp:rt:{hash}</c> (hash: subject, family, rotated flag), <c>chirp:rtf:{family}</c> (set of hashes),
/// <c>chirp:rtu:{userId}</c> (set of families).
/// </summary>
public sealed class RefreshTokenStore(RedisConnection redis, IOptions<TokenOptions> options)
{
    /// <summary>Outcome of redeeming a refresh token.</summary>
    public enum RedeemStatus { Rotated, Unknown, Reused }

    /// <summary>Starts a new family for a fresh log-in and returns its first token.</summary>
    /// <exception cref="RedisException">Redis cannot be reached.</exception>
    public async Task<(string Token, string Family)> IssueAsync(TokenSubject subject)
    {
        var family = Guid.CreateVersion7().ToString("N");
        return (await IssueInFamilyAsync(subject, family), family);
    }

    /// <summary>
    /// Redeems <paramref name="token"/>: on success marks it rotated and returns a new token of the same family; a
    /// rotated token revokes its family (<see cref="RedeemStatus.Reused"/>, with the family so the caller can revoke
    /// the session's access tokens too).
    /// </summary>
    public async Task<(RedeemStatus Status, TokenSubject? Subject, string? NewToken, string? Family)> RedeemAsync(string token)
    {
        var db = (await redis.GetAsync()).GetDatabase();
        var key = TokenKey(Hash(token));
        var fields = await db.HashGetAllAsync(key);
        if (fields.Length == 0)
        {
            return (RedeemStatus.Unknown, null, null, null);
        }

        var map = fields.ToDictionary(f => f.Name.ToString(), f => f.Value.ToString());
        var family = map["family"];
        var tx = db.CreateTransaction();
        tx.AddCondition(Condition.HashEqual(key, "rotated", "0"));
        _ = tx.HashSetAsync(key, "rotated", "1");
        if (!await tx.ExecuteAsync())
        {
            await RevokeFamilyAsync(family);
            return (RedeemStatus.Reused, null, null, family);
        }

        var subject = new TokenSubject(map["sub"], map["handle"], map["displayName"], map["scope"]);
        return (RedeemStatus.Rotated, subject, await IssueInFamilyAsync(subject, family), family);
    }

    /// <summary>Revokes the family of <paramref name="token"/>; returns the user id and the family (session id), or null for an unknown token.</summary>
    public async Task<(string UserId, string Family)?> RevokeAsync(string token)
    {
        var db = (await redis.GetAsync()).GetDatabase();
        var fields = await db.HashGetAsync(TokenKey(Hash(token)), ["family", "sub"]);
        if (fields[0].IsNull)
        {
            return null;
        }

        await RevokeFamilyAsync(fields[0].ToString());
        return (fields[1].ToString(), fields[0].ToString());
    }

    /// <summary>The ids of the user's families (sessions) issued within the refresh-token lifetime; some may be revoked already.</summary>
    /// <exception cref="RedisException">Redis cannot be reached.</exception>
    public async Task<IReadOnlyList<string>> FamiliesOfAsync(string userId)
    {
        var db = (await redis.GetAsync()).GetDatabase();
        return [.. (await db.SetMembersAsync(UserKey(userId))).Select(f => f.ToString())];
    }

    /// <summary>Revokes every family of a user (log-out everywhere).</summary>
    public async Task RevokeAllAsync(string userId)
    {
        var db = (await redis.GetAsync()).GetDatabase();
        foreach (var family in await db.SetMembersAsync(UserKey(userId)))
        {
            await RevokeFamilyAsync(family.ToString());
        }

        await db.KeyDeleteAsync(UserKey(userId));
    }

    private async Task<string> IssueInFamilyAsync(TokenSubject subject, string family)
    {
        var token = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var hash = Hash(token);
        var ttl = options.Value.RefreshTokenLifetime;
        var db = (await redis.GetAsync()).GetDatabase();
        var tx = db.CreateTransaction();
        _ = tx.HashSetAsync(TokenKey(hash),
        [
            new("sub", subject.UserId), new("handle", subject.Handle), new("displayName", subject.DisplayName),
            new("scope", subject.Scope), new("family", family), new("rotated", "0"),
        ]);
        _ = tx.KeyExpireAsync(TokenKey(hash), ttl);
        _ = tx.SetAddAsync(FamilyKey(family), hash);
        _ = tx.KeyExpireAsync(FamilyKey(family), ttl);
        _ = tx.SetAddAsync(UserKey(subject.UserId), family);
        _ = tx.KeyExpireAsync(UserKey(subject.UserId), ttl);
        await tx.ExecuteAsync();
        return token;
    }

    /// <summary>Revokes one family (one log-in session) by its id, the access token's <c>sid</c> claim.</summary>
    public async Task RevokeFamilyAsync(string family)
    {
        var db = (await redis.GetAsync()).GetDatabase();
        var members = await db.SetMembersAsync(FamilyKey(family));
        var keys = members.Select(m => (RedisKey)TokenKey(m.ToString())).Append(FamilyKey(family)).ToArray();
        await db.KeyDeleteAsync(keys);
    }

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string TokenKey(string hash) => "chirp:rt:" + hash;

    private static string FamilyKey(string family) => "chirp:rtf:" + family;

    private static string UserKey(string userId) => "chirp:rtu:" + userId;
}
