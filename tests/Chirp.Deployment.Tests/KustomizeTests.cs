using Chirp.Testing;
using k8s;
using k8s.Models;

namespace Chirp.Deployment.Tests;

/// <summary>
/// The kustomize overlays render, parse strictly, and keep the rules of docs/architecture.md section 8 for every workload.
/// Skipped when <c>kubectl</c> (with its built-in kustomize) is not installed.
/// </summary>
public sealed class KustomizeTests
{
    private static readonly string[] ChirpServices = ["gateway", "users", "tweets", "email-worker"];
    private static readonly string[] Subgraphs = ["users", "tweets", "email-worker"];

    /// <summary>Every overlay, rendered from the files of a fresh clone (<see cref="Kustomize.Render"/>): no generated secrets.</summary>
    public static TheoryData<string> Overlays => new(Kustomize.Overlays);

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void OverlayRendersObjectsThatParseStrictly(string overlay)
    {
        var rendered = RenderOrSkip(overlay);

        Assert.NotEmpty(rendered.Objects);
        foreach (var service in ChirpServices)
        {
            Assert.Single(rendered.All<V1Deployment>(), d => d.Metadata.Name == service);
            Assert.Single(rendered.All<V1Service>(), s => s.Metadata.Name == service);
            Assert.Single(rendered.All<V1ServiceAccount>(), s => s.Metadata.Name == service);
            Assert.Single(rendered.All<V1ConfigMap>(), c => c.Metadata.Name.StartsWith(service + "-", StringComparison.Ordinal));
        }

        Assert.All(rendered.Objects.Cast<IKubernetesObject<V1ObjectMeta>>(),
            o => Assert.Equal(overlay == "dev" ? "chirp-dev" : "chirp", o is V1Namespace ns ? ns.Metadata.Name : o.Metadata.NamespaceProperty));
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void EveryWorkloadHasProbesLimitsAndARestrictedSecurityContext(string overlay)
    {
        var rendered = RenderOrSkip(overlay);
        var workloads = Workloads(rendered).ToList();
        Assert.NotEmpty(workloads);

        foreach (var (name, pod) in workloads)
        {
            Assert.False(pod.AutomountServiceAccountToken ?? true, $"{name}: automountServiceAccountToken must be false");
            Assert.Equal(name, pod.ServiceAccountName);
            Assert.True(pod.SecurityContext?.RunAsNonRoot, $"{name}: pod runAsNonRoot");
            Assert.NotEqual(0, pod.SecurityContext?.RunAsUser ?? 0);
            Assert.Equal("RuntimeDefault", pod.SecurityContext?.SeccompProfile?.Type);

            foreach (var container in pod.Containers.Concat(pod.InitContainers ?? []))
            {
                var where = $"{name}/{container.Name}";
                var security = container.SecurityContext;
                Assert.True(security?.ReadOnlyRootFilesystem, $"{where}: readOnlyRootFilesystem");
                Assert.False(security?.AllowPrivilegeEscalation ?? true, $"{where}: allowPrivilegeEscalation");
                Assert.True(security?.RunAsNonRoot, $"{where}: runAsNonRoot");
                Assert.Equal(["ALL"], security?.Capabilities?.Drop ?? []);
                Assert.Null(security?.Capabilities?.Add);
                Assert.False(security?.Privileged ?? false, $"{where}: privileged");

                foreach (var resource in new[] { "cpu", "memory" })
                {
                    Assert.True(container.Resources?.Requests?.ContainsKey(resource), $"{where}: {resource} request");
                    Assert.True(container.Resources?.Limits?.ContainsKey(resource), $"{where}: {resource} limit");
                }

                Assert.DoesNotContain(":latest", container.Image, StringComparison.Ordinal);
                Assert.Contains(':', container.Image);
            }

            foreach (var container in pod.Containers)
            {
                Assert.True(container.LivenessProbe is not null, $"{name}/{container.Name}: liveness probe");
                Assert.True(container.ReadinessProbe is not null, $"{name}/{container.Name}: readiness probe");
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void ChirpServicesListenOn8080ProbeTheirHealthEndpointsAndWriteOnlyToTmp(string overlay)
    {
        var rendered = RenderOrSkip(overlay);
        foreach (var service in ChirpServices)
        {
            var deployment = rendered.All<V1Deployment>().Single(d => d.Metadata.Name == service);
            var pod = deployment.Spec.Template.Spec;
            var container = Assert.Single(pod.Containers);

            Assert.Equal(8080, Assert.Single(container.Ports).ContainerPort);
            Assert.Equal("/health/live", container.LivenessProbe.HttpGet.Path);
            Assert.Equal("/health/ready", container.ReadinessProbe.HttpGet.Path);
            var identity = Assert.Single(container.VolumeMounts, m => m.MountPath == "/var/run/secrets/chirp/identity");
            Assert.StartsWith("identity-assertion", Assert.Single(pod.Volumes, v => v.Name == identity.Name).Secret.SecretName, StringComparison.Ordinal);
            Assert.DoesNotContain(pod.InitContainers ?? [], c => c.EnvFrom.Any(e => e.SecretRef?.Name.StartsWith("identity-assertion", StringComparison.Ordinal) == true));

            var tmp = Assert.Single(container.VolumeMounts, m => m.MountPath == "/tmp");
            Assert.NotNull(Assert.Single(pod.Volumes, v => v.Name == tmp.Name).EmptyDir);
            Assert.All(container.VolumeMounts.Where(m => m.MountPath != "/tmp"), m => Assert.True(m.ReadOnlyProperty, $"{service}: {m.MountPath} must be read-only"));

            var labels = deployment.Spec.Template.Metadata.Labels;
            Assert.Equal(service, labels["app.kubernetes.io/name"]);
            Assert.Equal("chirp", labels["app.kubernetes.io/part-of"]);
            Assert.True(labels.ContainsKey("app.kubernetes.io/component"));
            Assert.All(deployment.Spec.Selector.MatchLabels, l => Assert.Equal(l.Value, labels[l.Key]));
            Assert.Equal(service, deployment.Metadata.Labels["app.kubernetes.io/name"]);

            var kubernetesService = rendered.All<V1Service>().Single(s => s.Metadata.Name == service);
            Assert.All(kubernetesService.Spec.Selector, l => Assert.Equal(l.Value, labels[l.Key]));
            Assert.Equal("http", Assert.Single(kubernetesService.Spec.Ports).TargetPort.Value);
        }

        // Subgraphs migrate their own database before they start.
        foreach (var service in Subgraphs)
        {
            var pod = rendered.All<V1Deployment>().Single(d => d.Metadata.Name == service).Spec.Template.Spec;
            var migrate = Assert.Single(pod.InitContainers);
            Assert.Equal(["migrate"], migrate.Args);
            Assert.Equal(pod.Containers[0].Image, migrate.Image);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void OnlyTheGatewayIsReachableFromOutside(string overlay)
    {
        var rendered = RenderOrSkip(overlay);

        foreach (var service in rendered.All<V1Service>())
        {
            var external = service.Spec.Type is "NodePort" or "LoadBalancer" || service.Spec.ExternalIPs?.Count > 0;
            Assert.True(!external || service.Metadata.Name == "gateway", $"{service.Metadata.Name} must not be exposed outside the cluster");
        }

        foreach (var ingress in rendered.All<V1Ingress>())
        {
            var backends = ingress.Spec.Rules.SelectMany(r => r.Http.Paths).Select(p => p.Backend.Service.Name);
            Assert.All(backends, b => Assert.Equal("gateway", b));
        }

        Assert.True(
            rendered.All<V1Ingress>().Any() || rendered.All<V1Service>().Any(s => s.Metadata.Name == "gateway" && s.Spec.Type != "ClusterIP"),
            "the gateway must be reachable from outside");
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void NetworkPoliciesDenyByDefaultAndLetOnlyTheGatewayReachTheSubgraphs(string overlay)
    {
        var rendered = RenderOrSkip(overlay);
        var policies = rendered.All<V1NetworkPolicy>().ToList();

        Assert.Contains(policies, p => p.Spec.PodSelector.MatchLabels is null or { Count: 0 } && p.Spec.PodSelector.MatchExpressions is null or { Count: 0 }
            && p.Spec.PolicyTypes.Contains("Ingress") && p.Spec.PolicyTypes.Contains("Egress")
            && p.Spec.Ingress is null or { Count: 0 } && p.Spec.Egress is null or { Count: 0 });

        foreach (var subgraph in Subgraphs)
        {
            var podLabels = rendered.All<V1Deployment>().Single(d => d.Metadata.Name == subgraph).Spec.Template.Metadata.Labels;
            var selecting = policies.Where(p => Selects(p.Spec.PodSelector, podLabels)).ToList();
            var ingressRules = selecting.Where(p => p.Spec.PolicyTypes.Contains("Ingress")).SelectMany(p => p.Spec.Ingress ?? []).ToList();

            Assert.NotEmpty(ingressRules);
            foreach (var rule in ingressRules)
            {
                Assert.True(rule.FromProperty is { Count: > 0 }, $"{subgraph}: an ingress rule without 'from' admits every pod");
                Assert.All(rule.FromProperty, peer =>
                {
                    Assert.Null(peer.IpBlock);
                    Assert.Null(peer.NamespaceSelector);
                    Assert.Equal("gateway", Assert.Single(peer.PodSelector.MatchLabels).Value);
                });
            }
        }
    }

    [SkippableFact]
    public void DevSecretsComeFromGitIgnoredFilesAndProdGeneratesNone()
    {
        var dev = RenderOrSkip("dev");
        var prod = RenderOrSkip("prod");
        var devSecrets = Kustomize.Render("dev/secrets", Kustomize.DevSecretFiles);

        Assert.Empty(prod.All<V1Secret>());
        Assert.DoesNotContain("secretGenerator", File.ReadAllText(RepoPaths.Combine("kustomize", "overlays", "prod", "kustomization.yaml")), StringComparison.Ordinal);

        // The overlay generates only what holds no secret (with a hash suffix); dev/secrets the rest, under the plain
        // names the workloads use, in the overlay's namespace.
        Assert.All(devSecrets.All<V1Secret>(), s => Assert.Equal("chirp-dev", s.Metadata.NamespaceProperty));
        var generated = dev.All<V1Secret>().Select(s => s.Metadata.Name)
            .Concat(devSecrets.All<V1Secret>().Select(s => s.Metadata.Name)).ToHashSet();
        Assert.Subset(generated, ReferencedSecrets(dev));
        var plainNames = dev.All<V1Secret>().Select(s => s.Metadata.Name[..s.Metadata.Name.LastIndexOf('-')])
            .Concat(devSecrets.All<V1Secret>().Select(s => s.Metadata.Name)).ToHashSet();
        Assert.Subset(plainNames, ReferencedSecrets(prod));

        var ignore = File.ReadAllLines(RepoPaths.Combine(".gitignore"));
        var kustomization = File.ReadAllText(RepoPaths.Combine("kustomize", "overlays", "dev", "secrets", "kustomization.yaml"));
        var named = System.Text.RegularExpressions.Regex.Matches(kustomization, @"[\w.-]+\.(key|pem|env)\b").Select(m => m.Value)
            .Where(f => !f.StartsWith("dev.", StringComparison.Ordinal) && f != "private.pem").ToHashSet();
        Assert.Equal(Kustomize.DevSecretFiles.Keys.Select(f => Path.GetFileName(f)).ToHashSet(), named);
        foreach (var file in named)
        {
            Assert.Contains($"kustomize/overlays/dev/secrets/*{Path.GetExtension(file)}", ignore);
        }
    }

    [Fact]
    public void KustomizationsUseNoDeprecatedFields()
    {
        var deprecated = new[] { "commonLabels:", "bases:", "patchesStrategicMerge:", "patchesJson6902:", "vars:", "imageTags:" };
        var files = Directory.EnumerateFiles(RepoPaths.Combine("kustomize"), "kustomization.yaml", SearchOption.AllDirectories).ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var lines = File.ReadAllLines(file);
            Assert.All(deprecated, field => Assert.DoesNotContain(lines, l => l.StartsWith(field, StringComparison.Ordinal)));
        }

        foreach (var component in new[] { "postgres", "redis", "mailcatcher", "network-policies", "telemetry" })
        {
            Assert.True(File.Exists(RepoPaths.Combine("kustomize", "components", component, "README.md")), $"components/{component} needs a README.md");
            Assert.Contains("kind: Component", File.ReadAllText(RepoPaths.Combine("kustomize", "components", component, "kustomization.yaml")), StringComparison.Ordinal);
        }
    }

    private static Kustomize.Rendered RenderOrSkip(string overlay)
    {
        Skip.If(Kustomize.Kubectl is null, "kubectl is not installed, so the kustomize overlays cannot be rendered here.");
        return Kustomize.Render(overlay);
    }

    private static HashSet<string> ReferencedSecrets(Kustomize.Rendered rendered) =>
        Workloads(rendered).SelectMany(w => w.Pod.Containers.Concat(w.Pod.InitContainers ?? []))
            .SelectMany(c => c.EnvFrom ?? []).Where(e => e.SecretRef is not null).Select(e => e.SecretRef.Name)
            .Concat(Workloads(rendered).SelectMany(w => w.Pod.Volumes ?? []).Where(v => v.Secret is not null).Select(v => v.Secret.SecretName))
            .ToHashSet();

    private static IEnumerable<(string Name, V1PodSpec Pod)> Workloads(Kustomize.Rendered rendered) =>
        rendered.All<V1Deployment>().Select(d => (d.Metadata.Name, d.Spec.Template.Spec))
            .Concat(rendered.All<V1StatefulSet>().Select(s => (s.Metadata.Name, s.Spec.Template.Spec)))
            .Concat(rendered.All<V1DaemonSet>().Select(s => (s.Metadata.Name, s.Spec.Template.Spec)));

    private static bool Selects(V1LabelSelector selector, IDictionary<string, string> labels)
    {
        var byLabels = (selector.MatchLabels ?? new Dictionary<string, string>()).All(l => labels.TryGetValue(l.Key, out var v) && v == l.Value);
        var byExpressions = (selector.MatchExpressions ?? []).All(e => e.OperatorProperty switch
        {
            "In" => labels.TryGetValue(e.Key, out var v) && e.Values.Contains(v),
            "NotIn" => !labels.TryGetValue(e.Key, out var v) || !e.Values.Contains(v),
            "Exists" => labels.ContainsKey(e.Key),
            "DoesNotExist" => !labels.ContainsKey(e.Key),
            _ => false,
        });
        return byLabels && byExpressions;
    }
}
