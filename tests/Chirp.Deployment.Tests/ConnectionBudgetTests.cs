using System.Globalization;
using System.Text.RegularExpressions;
using Chirp.Testing;
using k8s.Models;

namespace Chirp.Deployment.Tests;

/// <summary>
/// The PostgreSQL connection budget of every environment (README.md "Capacity"): each service's pool maximum
/// (<c>Database:MaxPoolSize</c>) times the replicas that can run at once stays below the server's
/// <c>max_connections</c>, with room left for migrations and operators. Computed from the rendered configuration.
/// </summary>
public sealed partial class ConnectionBudgetTests
{
    /// <summary>
    /// Connections kept free of the services' pools: PostgreSQL's <c>superuser_reserved_connections</c> (3), one
    /// <c>migrate</c> chore per database service running beside the old replicas during a rollout, and 10 for
    /// operators (psql, backups, monitoring).
    /// </summary>
    private const int Reserved = 3 + 3 + 10;

    private static readonly string[] DatabaseServices = ["users", "tweets", "email-worker"];

    /// <summary>Connections a pod holds outside its pool: the tweets service's one unpooled <c>LISTEN</c> session (OutboxListener).</summary>
    private static int OutsideThePool(string service) => service == "tweets" ? 1 : 0;

    public static TheoryData<string> Overlays => new() { "dev", "prod" };

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void KustomizePoolsTimesReplicasStayBelowMaxConnections(string overlay)
    {
        Skip.If(Kustomize.Kubectl is null, "kubectl is not installed, so the kustomize overlays cannot be rendered here.");
        var rendered = Kustomize.Render(overlay);

        var budget = 0;
        var lines = new List<string>();
        foreach (var service in DatabaseServices)
        {
            var deployment = rendered.All<V1Deployment>().Single(d => d.Metadata.Name == service);
            var pool = int.Parse(Setting(rendered, deployment, "Database__MaxPoolSize")
                ?? throw new Xunit.Sdk.XunitException($"{overlay}/{service}: Database__MaxPoolSize is not set"), CultureInfo.InvariantCulture);
            var pods = MostPodsAtOnce(rendered, deployment);
            budget += (pool + OutsideThePool(service)) * pods;
            lines.Add($"{service}: ({pool} + {OutsideThePool(service)}) x {pods}");
        }

        var maxConnections = MaxConnections(rendered, overlay);
        Assert.True(budget + Reserved <= maxConnections,
            $"{overlay}: {string.Join(" + ", lines)} = {budget} connections, plus {Reserved} reserved, exceeds max_connections {maxConnections}");
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void KustomizeRunsNoServiceInTheDevelopmentEnvironment(string overlay)
    {
        Skip.If(Kustomize.Kubectl is null, "kubectl is not installed, so the kustomize overlays cannot be rendered here.");
        var rendered = Kustomize.Render(overlay);

        // Chirp's four services; the components' workloads (the dashboard, the mail catcher...) are not ASP.NET apps of Chirp.
        foreach (var deployment in new[] { "gateway", "users", "tweets", "email-worker" }.Select(name => Assert.Single(rendered.All<V1Deployment>(), d => d.Metadata.Name == name)))
        {
            var environment = Setting(rendered, deployment, "ASPNETCORE_ENVIRONMENT") ?? Setting(rendered, deployment, "DOTNET_ENVIRONMENT");
            Assert.True(environment is null or "Production", $"{overlay}/{deployment.Metadata.Name} runs in {environment}: developer exception pages would reach clients");
        }
    }

    [Fact]
    public async Task TheStartCommandsPoolsStayBelowItsMaxConnectionsAndItRunsInProduction()
    {
        var common = RepoPaths.Combine("scripts", "lib", "common.sh");
        var (exitCode, output) = await ChildProcesses.RunAsync("bash", ["-c",
            $"source '{common}' && echo \"$PG_MAX_CONNECTIONS $USERS_DB_POOL $TWEETS_DB_POOL $EMAIL_DB_POOL\""]);
        Assert.True(exitCode == 0, output);
        var numbers = output.Trim().Split(' ').Select(n => int.Parse(n, CultureInfo.InvariantCulture)).ToArray();
        var (maxConnections, pools) = (numbers[0], numbers[1..]);

        // One replica of each service.
        Assert.True(pools.Sum() + OutsideThePool("tweets") + Reserved <= maxConnections,
            $"scripts/start: pools {string.Join(" + ", pools)} plus {Reserved} reserved exceed max_connections {maxConnections}");

        var start = await File.ReadAllTextAsync(RepoPaths.Combine("scripts", "start"));
        Assert.Contains("-c max_connections=$PG_MAX_CONNECTIONS", start, StringComparison.Ordinal);
        foreach (var pool in new[] { "USERS_DB_POOL", "TWEETS_DB_POOL", "EMAIL_DB_POOL" })
        {
            Assert.Contains($"Database__MaxPoolSize=${pool}", start, StringComparison.Ordinal);
        }

        Assert.Contains("environment=Production", start, StringComparison.Ordinal);
        Assert.Contains("ASPNETCORE_ENVIRONMENT=$environment", start, StringComparison.Ordinal);
        Assert.DoesNotContain("ASPNETCORE_ENVIRONMENT=Development", start, StringComparison.Ordinal);
    }

    [Fact]
    public void TheTestServersHoldEveryServiceATestStarts()
    {
        // The largest test fixture (the end-to-end cluster) runs users, email worker and up to three tweets
        // replicas on one server.
        const int instances = 5;
        Assert.True(ServiceHost.DatabaseMaxPoolSize * instances + Reserved <= PostgresServer.MaxConnections,
            $"{instances} x {ServiceHost.DatabaseMaxPoolSize} plus {Reserved} exceed the test server's {PostgresServer.MaxConnections}");
    }

    /// <summary>An environment variable of the service container: its <c>env</c>, else a ConfigMap it reads with <c>envFrom</c>.</summary>
    private static string? Setting(Kustomize.Rendered rendered, V1Deployment deployment, string name)
    {
        var container = deployment.Spec.Template.Spec.Containers.Single(c => c.Name == deployment.Metadata.Name);
        if (container.Env?.FirstOrDefault(e => e.Name == name) is { } variable)
        {
            return variable.Value;
        }

        foreach (var source in container.EnvFrom ?? [])
        {
            if (source.ConfigMapRef is { } reference &&
                rendered.All<V1ConfigMap>().SingleOrDefault(c => c.Metadata.Name == reference.Name) is { } map &&
                map.Data?.TryGetValue(name, out var value) == true)
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>
    /// Replicas that can hold connections at once: the HorizontalPodAutoscaler's <c>maxReplicas</c> when one scales the
    /// Deployment, else its <c>replicas</c>; plus the rolling update's <c>maxSurge</c> (old and new pods overlap).
    /// </summary>
    private static int MostPodsAtOnce(Kustomize.Rendered rendered, V1Deployment deployment)
    {
        var autoscaler = rendered.All<V2HorizontalPodAutoscaler>()
            .SingleOrDefault(h => h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == deployment.Metadata.Name);
        var replicas = autoscaler?.Spec.MaxReplicas ?? deployment.Spec.Replicas ?? 1;
        var surge = deployment.Spec.Strategy?.RollingUpdate?.MaxSurge;
        var extra = surge is null ? (int)Math.Ceiling(replicas * 0.25)
            : surge.Value.EndsWith('%') ? (int)Math.Ceiling(replicas * int.Parse(surge.Value.TrimEnd('%'), CultureInfo.InvariantCulture) / 100.0)
            : int.Parse(surge.Value, CultureInfo.InvariantCulture);
        return replicas + extra;
    }

    /// <summary>
    /// dev: the <c>max_connections</c> the in-cluster PostgreSQL is started with; prod: the managed server's, declared on
    /// the namespace (<c>chirp.example.com/postgres-max-connections</c>).
    /// </summary>
    private static int MaxConnections(Kustomize.Rendered rendered, string overlay)
    {
        if (rendered.All<V1StatefulSet>().SingleOrDefault(s => s.Metadata.Name == "postgres") is { } postgres)
        {
            var args = string.Join(' ', postgres.Spec.Template.Spec.Containers.Single(c => c.Name == "postgres").Args ?? []);
            var match = MaxConnectionsArgument().Match(args);
            Assert.True(match.Success, $"{overlay}: the postgres container must state -c max_connections=N");
            return int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        var ns = rendered.All<V1Namespace>().Single();
        Assert.True(ns.Metadata.Annotations?.ContainsKey("chirp.example.com/postgres-max-connections") == true,
            $"{overlay}: the namespace must declare the managed server's max_connections (chirp.example.com/postgres-max-connections)");
        return int.Parse(ns.Metadata.Annotations!["chirp.example.com/postgres-max-connections"], CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"-c max_connections=(\d+)")]
    private static partial Regex MaxConnectionsArgument();

}
