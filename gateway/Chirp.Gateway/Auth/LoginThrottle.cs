using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Chirp.Gateway.Auth;

/// <summary>Limits on failed password log-ins (section <c>Tokens:LoginThrottle</c>); each replica counts on its own.</summary>
public sealed class LoginThrottleOptions
{
    public const string SectionName = "Tokens:LoginThrottle";

    /// <summary>Failed log-ins for one handle from one client address per <see cref="Window"/> (default 5).</summary>
    [Range(1, 1_000_000)]
    public int FailuresPerHandleAndAddress { get; set; } = 5;

    /// <summary>Failed log-ins from one client address, whatever the handle, per <see cref="Window"/> (default 30).</summary>
    [Range(1, 1_000_000)]
    public int FailuresPerAddress { get; set; } = 30;

    /// <summary>The fixed window both limits count in (default 5 minutes, 1 second to 1 day).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Networks in CIDR notation (e.g. <c>10.0.0.0/8</c>) of reverse proxies whose <c>X-Forwarded-For</c> names the
    /// client. Empty (the default): the connection's own address is the client. Behind an ingress, list the
    /// ingress's addresses, or every client shares the ingress's address and its limits.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];
}

/// <summary>
/// Counts failed password log-ins in two fixed-window partitioned limiters: per handle and client address, and per
/// client address. Only failures take a permit, so correct log-ins never use up a limit; an attempt is refused while
/// either partition has no permit left beyond the attempts still being checked. There is deliberately no limit per handle alone: a guesser at another address
/// would then lock the owner out, whereas keyed by handle and address a guesser only ever throttles themselves.
/// IPv6 addresses count per /64, the block one subscriber usually holds. The client address is the connection's,
/// or the one named by trusted proxies (<see cref="LoginThrottleOptions.TrustedProxies"/>). In memory, so per replica.
/// </summary>
public sealed class LoginThrottle : IDisposable
{
    /// <summary>The name of this limit for the shared rejection response (<c>Chirp.Hosting.RequestLimits.Reject</c>).</summary>
    public const string PolicyName = "login";

    /// <summary>Handles are 3 to 15 characters; a longer user name cannot match, so its key is cut short.</summary>
    private const int MaxHandleKeyChars = 64;

    private readonly PartitionedRateLimiter<string> _perHandleAndAddress;
    private readonly PartitionedRateLimiter<string> _perAddress;
    private readonly TimeSpan _window;
    private readonly IPNetwork[] _trustedProxies;

    // Attempts being checked, per partition key; also the lock that makes "check what is left, then count one in"
    // one step.
    private readonly Dictionary<string, int> _inFlight = [];

    /// <summary>Builds both limiters from <paramref name="options"/>.</summary>
    /// <exception cref="InvalidOperationException">An entry of <see cref="LoginThrottleOptions.TrustedProxies"/> is not a CIDR network.</exception>
    public LoginThrottle(IOptions<LoginThrottleOptions> options)
    {
        var o = options.Value;
        _window = o.Window;
        _trustedProxies = [.. o.TrustedProxies.Select(n => IPNetwork.TryParse(n.Trim(), out var network)
            ? network
            : throw new InvalidOperationException($"{LoginThrottleOptions.SectionName}:TrustedProxies holds '{n}', which is not a network like 10.0.0.0/8."))];
        _perHandleAndAddress = Create(o.FailuresPerHandleAndAddress, o.Window);
        _perAddress = Create(o.FailuresPerAddress, o.Window);
    }

    /// <summary>The client address of <paramref name="request"/>, seen through the trusted proxies.</summary>
    public IPAddress? ClientAddress(HttpRequest request) =>
        ClientAddress(request.HttpContext.Connection.RemoteIpAddress, request.Headers["X-Forwarded-For"], _trustedProxies);

    /// <summary>
    /// The client behind <paramref name="remote"/>: while the nearest hop is a trusted proxy, the next address from
    /// the right of <paramref name="forwardedFor"/> (each proxy appends the address it was called from). An address
    /// that a client wrote itself is never reached, because the walk stops at the first hop that is not trusted; an
    /// entry that is not an address stops it too.
    /// </summary>
    public static IPAddress? ClientAddress(IPAddress? remote, IEnumerable<string?> forwardedFor, IReadOnlyList<IPNetwork> trustedProxies)
    {
        var client = remote;
        var hops = forwardedFor.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Reverse();
        foreach (var hop in hops)
        {
            if (client is null || !IsTrusted(client, trustedProxies) || !IPAddress.TryParse(hop, out var next))
            {
                break;
            }

            client = next;
        }

        return client;
    }

    /// <summary>
    /// Starts a log-in attempt for <paramref name="handle"/> from <paramref name="address"/>: null when it may be tried
    /// (<paramref name="attempt"/> is then set, and the caller calls <see cref="LoginAttempt.Fail"/> on a wrong password
    /// and disposes it when done); otherwise how long to wait before trying again, rounded up to whole seconds.
    /// Attempts still being checked count against what is left, so log-ins sent in parallel cannot get more guesses
    /// checked than the limit allows.
    /// </summary>
    public TimeSpan? TryBegin(string handle, IPAddress? address, out LoginAttempt? attempt)
    {
        attempt = null;
        var addressKey = AddressKey(address);
        var handleKey = HandleKey(handle, addressKey);
        lock (_inFlight)
        {
            foreach (var (limiter, key) in new[] { (_perAddress, addressKey), (_perHandleAndAddress, handleKey) })
            {
                // Zero permits asks whether one is left without taking it.
                using var lease = limiter.AttemptAcquire(key, 0);
                if (!lease.IsAcquired)
                {
                    var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : _window;

                    // The partitioned limiter replenishes on a 100 ms tick, so a client that waits exactly the window
                    // could be a tick early: one more second makes Retry-After a promise.
                    return TimeSpan.FromSeconds(Math.Ceiling(wait.TotalSeconds) + 1);
                }

                // Permits left, but as many attempts being checked as there are: their outcome decides, within seconds.
                if (limiter.GetStatistics(key)?.CurrentAvailablePermits <= _inFlight.GetValueOrDefault(key))
                {
                    return TimeSpan.FromSeconds(1);
                }
            }

            _inFlight[addressKey] = _inFlight.GetValueOrDefault(addressKey) + 1;
            _inFlight[handleKey] = _inFlight.GetValueOrDefault(handleKey) + 1;
        }

        attempt = new LoginAttempt(this, addressKey, handleKey);
        return null;
    }

    /// <summary>One log-in being checked (<see cref="TryBegin"/>); disposing it ends the attempt.</summary>
    public sealed class LoginAttempt : IDisposable
    {
        private readonly LoginThrottle _throttle;
        private readonly string _addressKey;
        private readonly string _handleKey;
        private bool _ended;

        internal LoginAttempt(LoginThrottle throttle, string addressKey, string handleKey) =>
            (_throttle, _addressKey, _handleKey) = (throttle, addressKey, handleKey);

        /// <summary>Counts this attempt as a failed log-in in both partitions.</summary>
        public void Fail()
        {
            _throttle._perAddress.AttemptAcquire(_addressKey).Dispose();
            _throttle._perHandleAndAddress.AttemptAcquire(_handleKey).Dispose();
        }

        /// <inheritdoc />
        public void Dispose()
        {
            lock (_throttle._inFlight)
            {
                if (_ended)
                {
                    return;
                }

                _ended = true;
                Release(_throttle._inFlight, _addressKey);
                Release(_throttle._inFlight, _handleKey);
            }
        }

        private static void Release(Dictionary<string, int> inFlight, string key)
        {
            if (inFlight[key] == 1)
            {
                inFlight.Remove(key);
            }
            else
            {
                inFlight[key]--;
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _perHandleAndAddress.Dispose();
        _perAddress.Dispose();
    }

    private static bool IsTrusted(IPAddress address, IReadOnlyList<IPNetwork> networks)
    {
        var v4 = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        return networks.Any(n => n.Contains(v4) || n.Contains(address));
    }

    /// <summary>The partition key of a client address: IPv4 (also when mapped into IPv6) whole, IPv6 by its /64 prefix.</summary>
    public static string AddressKey(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>The partition key of a handle at an address key (an address key holds no newline, so the first one separates them).</summary>
    public static string HandleKey(string handle, string addressKey) =>
        addressKey + "\n" + (handle.Length > MaxHandleKeyChars ? handle[..MaxHandleKeyChars] : handle);

    private static PartitionedRateLimiter<string> Create(int permits, TimeSpan window) =>
        PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = permits,
            Window = window,
            QueueLimit = 0,
        }));
}
