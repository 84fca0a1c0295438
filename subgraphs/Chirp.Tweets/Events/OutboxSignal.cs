using System.Threading.Channels;

namespace Chirp.Tweets.Events;

/// <summary>
/// In-process wake-up for <see cref="OutboxRelay"/>: a commit that wrote an outbox row calls <see cref="Notify"/>, and
/// so does <see cref="OutboxListener"/> when another replica commits one, so the event goes out at once instead of at
/// the next poll. Signals coalesce; a missed one only costs one
/// poll interval, because the relay also polls.
/// </summary>
public sealed class OutboxSignal
{
    private readonly Channel<bool> _channel = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = false,
    });

    /// <summary>Wakes a waiting relay (or the next one to wait). Never blocks.</summary>
    public void Notify() => _channel.Writer.TryWrite(true);

    /// <summary>Waits until <see cref="Notify"/> is called or <paramref name="timeout"/> passes.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await _channel.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The poll interval passed.
        }
    }
}
