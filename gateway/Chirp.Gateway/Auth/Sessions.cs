using StackExchange.Redis;

namespace Chirp.Gateway.Auth;

/// <summary>Ends log-in sessions: each one's refresh-token family and, through the deny list, its access tokens.</summary>
public sealed class Sessions(RefreshTokenStore refreshTokens, RevocationFeed revocations)
{
    /// <summary>
    /// Ends every session of <paramref name="userId"/> except <paramref name="keepSessionId"/> (null: ends all), as
    /// after a password change; their live connections close on every replica.
    /// </summary>
    /// <exception cref="RedisException">Redis cannot be reached; sessions revoked so far stay revoked.</exception>
    public async Task EndOthersAsync(string userId, string? keepSessionId)
    {
        foreach (var family in await refreshTokens.FamiliesOfAsync(userId))
        {
            if (!string.Equals(family, keepSessionId, StringComparison.Ordinal))
            {
                await revocations.RevokeSessionAsync(family);
                await refreshTokens.RevokeFamilyAsync(family);
            }
        }
    }
}
