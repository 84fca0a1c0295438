using System.Globalization;
using System.Security.Claims;
using Chirp.Gateway.Auth;
using Microsoft.Extensions.Time.Testing;

namespace Chirp.EndToEnd.Tests;

/// <summary>The gateway's in-memory deny lists on their own: verdicts, idempotent updates and pruning.</summary>
public sealed class RevocationStateTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);
    private readonly RevocationState _state;

    public RevocationStateTests()
    {
        _state = new RevocationState(_time);
        _state.MarkLoaded();
    }

    private long Now => _time.GetUtcNow().ToUnixTimeSeconds();

    [Fact]
    public void BeforeTheFirstLoadEveryTokenIsNotLoaded()
    {
        var fresh = new RevocationState(_time);

        Assert.Equal(RevocationVerdict.NotLoaded, fresh.Check(Token("j1", "s1", "u1", Now)));
        fresh.MarkLoaded();
        Assert.Equal(RevocationVerdict.Accepted, fresh.Check(Token("j1", "s1", "u1", Now)));
    }

    [Fact]
    public void ADeniedJtiRefusesThatTokenOnly()
    {
        Assert.True(_state.Apply(new Revocation(RevocationKind.Jti, "j1", 0, Now + 60)));

        Assert.Equal(RevocationVerdict.Revoked, _state.Check(Token("j1", "s1", "u1", Now)));
        Assert.Equal(RevocationVerdict.Accepted, _state.Check(Token("j2", "s1", "u1", Now)));
    }

    [Fact]
    public void ARevokedSessionRefusesEveryTokenOfThatSession()
    {
        _state.Apply(new Revocation(RevocationKind.Session, "s1", 0, Now + 60));

        Assert.Equal(RevocationVerdict.Revoked, _state.Check(Token("j1", "s1", "u1", Now)));
        Assert.Equal(RevocationVerdict.Revoked, _state.Check(Token("j2", "s1", "u1", Now)));
        Assert.Equal(RevocationVerdict.Accepted, _state.Check(Token("j3", "s2", "u1", Now)));
    }

    [Fact]
    public void AUserStampRefusesTokensIssuedBeforeItAndALaterStampWins()
    {
        _state.Apply(new Revocation(RevocationKind.User, "u1", Now, Now + 60));

        Assert.Equal(RevocationVerdict.Revoked, _state.Check(Token("j1", "s1", "u1", Now - 1)));
        Assert.Equal(RevocationVerdict.Accepted, _state.Check(Token("j2", "s2", "u1", Now)));
        Assert.Equal(RevocationVerdict.Revoked, _state.Check(Token("j3", "s3", "u1", iat: null)));
        Assert.Equal(RevocationVerdict.Accepted, _state.Check(Token("j4", "s4", "u2", Now - 1)));

        // An older stamp that arrives late (a reload racing the channel) does not move the stamp back.
        _state.Apply(new Revocation(RevocationKind.User, "u1", Now + 10, Now + 60));
        _state.Apply(new Revocation(RevocationKind.User, "u1", Now - 100, Now + 60));
        Assert.Equal(RevocationVerdict.Revoked, _state.Check(Token("j5", "s5", "u1", Now + 5)));
    }

    [Fact]
    public void AnExpiredRevocationIsNotStored()
    {
        Assert.False(_state.Apply(new Revocation(RevocationKind.Jti, "j1", 0, Now)));

        Assert.Equal(0, _state.Count);
        Assert.Equal(RevocationVerdict.Accepted, _state.Check(Token("j1", "s1", "u1", Now)));
    }

    [Fact]
    public void PruneDropsOnlyEntriesPastTheirUntil()
    {
        _state.Apply(new Revocation(RevocationKind.Jti, "short", 0, Now + 10));
        _state.Apply(new Revocation(RevocationKind.Jti, "long", 0, Now + 100));
        _state.Apply(new Revocation(RevocationKind.Session, "s-short", 0, Now + 10));
        _state.Apply(new Revocation(RevocationKind.User, "u-long", Now, Now + 100));
        _state.Apply(new Revocation(RevocationKind.Jti, "short", 0, Now + 5)); // an earlier Until never shortens an entry

        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(2, _state.Prune());
        Assert.Equal(2, _state.Count);
        Assert.Equal(
            ["Jti:long", "User:u-long"],
            _state.Snapshot().Select(r => $"{r.Kind}:{r.Id}").Order(StringComparer.Ordinal));
    }

    private static ClaimsPrincipal Token(string jti, string sid, string sub, long? iat)
    {
        var claims = new List<Claim> { new("jti", jti), new("sid", sid), new("sub", sub) };
        if (iat is { } seconds)
        {
            claims.Add(new Claim("iat", seconds.ToString(CultureInfo.InvariantCulture)));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, "test"));
    }
}
