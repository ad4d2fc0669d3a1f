// `tierwatch policy lint` on a GitOps-sized set: N app namespaces with four
// CiliumNetworkPolicies each (namespace default-deny with DNS egress to kube-dns, ingress to
// the api from the frontend and egress to the db, the db's ingress from the api, metrics
// ingress from observability's prometheus) plus the story's cluster-wide policies, for 1k,
// 2.5k, 5k and 10k policies. Some namespaces are deliberately wrong (UDP-only DNS, a missing
// db ingress) so every rule family has work and findings. The time per policy should stay
// flat as the set grows (issue 12: it used to grow with the set, 13.5 s for 5k).
//
//   cmake --preset release && cmake --build build/release --target lint_bench
//   build/release/bench/lint_bench
//   # the same sets as YAML, one directory per namespace, for timing the CLI:
//   build/release/bench/lint_bench --write DIR 5000
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench_scale.h"
#include "policy/lint.h"
#include "policy/parser.h"

namespace {

// The cluster-wide policies of the story (tests/policy/testdata/story), as a real set has.
constexpr const char* kClusterwide = R"(---
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: default-deny-all
spec:
  description: "Default deny all traffic except for Tier 0 system namespaces"
  endpointSelector:
    matchExpressions:
      - key: k8s:io.kubernetes.pod.namespace
        operator: NotIn
        values: [kube-system, flux-system, cilium, cilium-secrets]
  ingress:
    - {}
  egress:
    - {}
---
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: allow-dns-ingress
spec:
  endpointSelector:
    matchLabels:
      k8s:io.kubernetes.pod.namespace: kube-system
      k8s-app: kube-dns
  ingress:
    - fromEndpoints:
        - {}
      toPorts:
        - ports:
            - {port: "53", protocol: UDP}
            - {port: "53", protocol: TCP}
---
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: tier1-observability-egress
spec:
  endpointSelector:
    matchLabels:
      k8s:io.kubernetes.pod.namespace: observability
  egress:
    - {}
---
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: cert-manager-apiserver
spec:
  endpointSelector:
    matchLabels:
      k8s:io.kubernetes.pod.namespace: cert-manager
  egress:
    - toEntities: [kube-apiserver]
      toPorts:
        - ports:
            - {port: "6443", protocol: TCP}
)";
constexpr int kClusterwideCount = 4;
constexpr int kPerNamespace = 4;

// The four CNPs of app namespace i.
std::string NamespacePolicies(int i) {
  const std::string ns = absl::StrCat("app-", i);
  std::string dns_ports = R"(            - {port: "53", protocol: UDP}
)";
  if (i % 7 != 0)
    absl::StrAppend(&dns_ports, R"(            - {port: "53", protocol: TCP}
)");
  std::string y = absl::StrCat(R"(---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: default-deny
  namespace: )",
                               ns, R"(
spec:
  endpointSelector: {}
  ingress:
    - {}
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s-app: kube-dns
      toPorts:
        - ports:
)",
                               dns_ports, R"(---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: api
  namespace: )",
                               ns, R"(
spec:
  endpointSelector:
    matchLabels:
      app: api
  ingress:
    - fromEndpoints:
        - matchLabels:
            app: frontend
      toPorts:
        - ports:
            - {port: "8080", protocol: TCP}
  egress:
    - toEndpoints:
        - matchLabels:
            app: db
      toPorts:
        - ports:
            - {port: "5432", protocol: TCP}
)");
  // Every fifth namespace forgets the db side: a one-way egress.
  const std::string db_from = i % 5 == 0 ? "worker" : "api";
  absl::StrAppend(&y, R"(---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: db
  namespace: )",
                  ns, R"(
spec:
  endpointSelector:
    matchLabels:
      app: db
  ingress:
    - fromEndpoints:
        - matchLabels:
            app: )",
                  db_from, R"(
      toPorts:
        - ports:
            - {port: "5432", protocol: TCP}
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s-app: kube-dns
      toPorts:
        - ports:
            - {port: "53", protocol: UDP}
            - {port: "53", protocol: TCP}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: metrics
  namespace: )",
                  ns, R"(
spec:
  endpointSelector: {}
  ingress:
    - fromEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: observability
            app.kubernetes.io/name: prometheus
      toPorts:
        - ports:
            - {port: ")",
                  i % 2 == 0 ? "9090" : "8081", R"(", protocol: TCP}
)");
  return y;
}

int NamespacesFor(int policies) {
  return std::max(1, (policies - kClusterwideCount) / kPerNamespace);
}

// The whole set, one "file" per namespace as a GitOps repo lays it out.
tw::policy::LoadedPolicies Generate(int policies) {
  tw::policy::LoadedPolicies r;
  tw::policy::ParsePolicyText(kClusterwide, "clusterwide.yaml", r);
  const int n = NamespacesFor(policies);
  for (int i = 0; i < n; ++i)
    tw::policy::ParsePolicyText(NamespacePolicies(i), absl::StrCat("app-", i, ".yaml"), r);
  return r;
}

void BM_Lint(benchmark::State& state) {
  const int policies = static_cast<int>(tw::bench::Scaled(state.range(0), 20));
  const tw::policy::LoadedPolicies set = Generate(policies);
  size_t findings = 0;
  for (auto _ : state) {
    tw::policy::LintFindings f = tw::policy::Lint(set);
    findings = f.size();
    benchmark::DoNotOptimize(f);
  }
  const auto n = static_cast<int64_t>(set.policies.policies.size());
  state.counters["policies"] = static_cast<double>(n);
  state.counters["findings"] = static_cast<double>(findings);
  state.counters["time_per_policy"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Lint)
    ->Arg(1000)
    ->Arg(2500)
    ->Arg(5000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// Writes the generated set as YAML (DIR/clusterwide.yaml, DIR/app-<i>/policies.yaml).
int WriteSet(const std::string& dir, int policies) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  std::ofstream(fs::path(dir) / "clusterwide.yaml") << kClusterwide;
  const int n = NamespacesFor(policies);
  for (int i = 0; i < n; ++i) {
    fs::path sub = fs::path(dir) / absl::StrCat("app-", i);
    fs::create_directories(sub, ec);
    std::ofstream(sub / "policies.yaml") << NamespacePolicies(i);
  }
  std::printf("%d policies in %s\n", kClusterwideCount + n * kPerNamespace, dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--write") == 0)
    return WriteSet(argv[2], std::atoi(argv[3]));
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
