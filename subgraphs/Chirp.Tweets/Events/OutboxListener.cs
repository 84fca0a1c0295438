using Chirp.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Chirp.Tweets.Events;

/// <summary>
/// Wakes this replica's <see cref="OutboxRelay"/> when any replica commits an outbox row: the writing transaction runs
/// <c>NOTIFY</c> on <see cref="Channel"/>, which PostgreSQL delivers at commit to every session that <c>LISTEN</c>s, so
/// every replica's relay starts at once instead of at its next poll. Holds one dedicated connection (outside the pool)
/// and connects again after a failure; the relay's poll covers the gap.
/// </summary>
public sealed class OutboxListener(
    IOptionsMonitor<DatabaseConnectionOptions> databases,
    IOptions<OutboxRelayOptions> options,
    OutboxSignal signal,
    ILogger<OutboxListener> logger) : BackgroundService
{
    /// <summary>The notification channel; <see cref="Data.TweetStore"/> notifies it in the transaction that writes outbox rows.</summary>
    public const string Channel = "chirp_outbox";

    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(2);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        await Task.Yield();
        // Pooling off: a LISTEN session must not go back to the pool, and it does not count against the pool's budget.
        var connectionString = new NpgsqlConnectionStringBuilder(databases.Get(TweetsSubgraph.DatabaseName).ConnectionString)
        {
            Pooling = false,
            ApplicationName = "chirp-tweets-outbox-listener",
        }.ConnectionString;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                connection.Notification += (_, _) => signal.Notify();
                await connection.OpenAsync(stoppingToken);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Rows committed while this replica was not listening are due now.
                signal.Notify();
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException)
            {
                logger.LogWarning("Listening for outbox commits failed ({Message}); polling until it reconnects.", e.Message);
            }

            try
            {
                await Task.Delay(ReconnectDelay, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
