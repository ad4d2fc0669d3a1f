// Verdict throughput: connections/s through policy::Evaluator against (a) the story's policy
// set and the corrected set in deploy/network-policies, and (b) 300 generated CNPs/CCNPs over
// 30 namespaces. Connections are a fixed pseudo-random mix (seeded) of pod-to-pod,
// pod-to-DNS, pod-to-world (with DNS names) and host/remote-node traffic over a few hundred
// distinct workloads, so the subject-selection cache sees a realistic hit rate.
//
//   cmake --preset release && cmake --build build/release --target policy_verdict_bench
//   build/release/bench/policy_verdict_bench
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "flow/flow.h"
#include "generated_policies.h"
#include "policy/evaluator.h"
#include "policy/parser.h"

namespace {

using tw::policy::Connection;
using tw::policy::EndpointView;
using tw::policy::Evaluator;
using tw::policy::EvaluatorOptions;
using tw::policy::LoadedPolicies;
using tw::policy::LoadPolicies;
using tw::policy::ParsePolicyText;

struct OwnedEp {
  std::vector<std::string> labels;
  std::string ns;
  std::string ip;
  uint16_t reserved = 0;
  uint32_t identity = 0;
};

struct OwnedConn {
  OwnedEp src, dst;
  std::vector<std::string> names;
  tw::flow::Protocol proto;
  uint16_t port;
};

const char* kNamespaces[] = {
    "kube-system", "flux-system", "observability", "cert-manager", "external-secrets",
    "business",    "shop",        "data",          "ci",           "media"};

OwnedEp MakePod(const std::string& ns, const std::string& app, int i) {
  OwnedEp e;
  e.ns = ns;
  e.identity = 1000 + i;
  e.ip = absl::StrCat("10.0.", i % 250, ".", i % 200 + 2);
  e.labels = {absl::StrCat("k8s:app.kubernetes.io/name=", app),
              absl::StrCat("k8s:app=", app),
              absl::StrCat("k8s:io.kubernetes.pod.namespace=", ns),
              absl::StrCat("k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=", ns),
              "k8s:io.cilium.k8s.policy.cluster=default",
              absl::StrCat("k8s:io.cilium.k8s.policy.serviceaccount=", app)};
  if (ns == "kube-system" && i % 7 == 0) e.labels.push_back("k8s:k8s-app=kube-dns");
  return e;
}

std::vector<OwnedConn> MakeConnections(int n, int namespaces) {
  std::mt19937 rng(42);
  std::vector<OwnedEp> pods;
  for (int i = 0; i < 300; ++i) {
    std::string ns = i < 50 ? kNamespaces[i % 10] : absl::StrCat("ns-", i % namespaces);
    pods.push_back(MakePod(ns, absl::StrCat("app-", i % 40), i));
  }
  OwnedEp dns = MakePod("kube-system", "coredns", 7);
  dns.labels.push_back("k8s:k8s-app=kube-dns");
  OwnedEp world;
  world.labels = {"reserved:world"};
  world.reserved = tw::flow::kReservedWorld;
  world.identity = 2;
  world.ip = "93.184.216.34";
  OwnedEp host;
  host.labels = {"reserved:host"};
  host.reserved = tw::flow::kReservedHost;
  host.identity = 1;
  std::vector<OwnedConn> out;
  std::uniform_int_distribution<int> pick(0, static_cast<int>(pods.size()) - 1);
  std::uniform_int_distribution<int> kind(0, 9);
  const uint16_t ports[] = {80, 443, 8080, 9090, 5432, 6379, 9153};
  for (int i = 0; i < n; ++i) {
    OwnedConn c;
    int k = kind(rng);
    c.src = pods[pick(rng)];
    c.proto = tw::flow::Protocol::kTCP;
    c.port = ports[i % 7];
    if (k < 5) {
      c.dst = pods[pick(rng)];
    } else if (k < 7) {
      c.dst = dns;
      c.proto = tw::flow::Protocol::kUDP;
      c.port = 53;
    } else if (k < 9) {
      c.dst = world;
      c.port = 443;
      c.names = {i % 2 ? "acme-v02.api.letsencrypt.org" : "www.example.com"};
    } else {
      c.src = host;
      c.dst = pods[pick(rng)];
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<Connection> Views(const std::vector<OwnedConn>& conns) {
  std::vector<Connection> out;
  for (const auto& oc : conns) {
    Connection c;
    auto view = [](const OwnedEp& e) {
      EndpointView v;
      for (const auto& l : e.labels) v.labels.push_back(l);
      v.namespace_ = e.ns;
      v.ip = e.ip;
      v.reserved = e.reserved;
      v.identity = e.identity;
      return v;
    };
    c.source = view(oc.src);
    c.destination = view(oc.dst);
    for (const auto& n : oc.names) c.destination_names.push_back(n);
    c.protocol = oc.proto;
    c.destination_port = oc.port;
    out.push_back(std::move(c));
  }
  return out;
}

// 300 policies: per namespace a default-deny CNP, app-to-app allows, a DNS allow, an FQDN
// egress, a deny; plus CCNPs like the story's.

void RunVerdicts(benchmark::State& state, const tw::policy::PolicySet& set,
                 const std::vector<Connection>& conns, size_t cache) {
  EvaluatorOptions opts;
  opts.selection_cache_size = cache;
  Evaluator eval(set, opts);
  size_t i = 0, denied = 0;
  for (auto _ : state) {
    tw::policy::Evaluation v = eval.Evaluate(conns[i]);
    denied += v.decision == tw::policy::Decision::kDenied;
    benchmark::DoNotOptimize(v);
    if (++i == conns.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["connections/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["denied_share"] =
      static_cast<double>(denied) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
}

const std::vector<OwnedConn>& Conns() {
  static const std::vector<OwnedConn>* c = new std::vector<OwnedConn>(MakeConnections(20000, 30));
  return *c;
}

void BM_StorySet(benchmark::State& state) {
  auto r = LoadPolicies({std::string(TIERWATCH_SOURCE_DIR) + "/tests/policy/testdata/story"});
  if (!r.ok() || r->policies.empty()) {
    state.SkipWithError("story fixtures not found");
    return;
  }
  auto views = Views(Conns());
  RunVerdicts(state, r->policies, views, static_cast<size_t>(state.range(0)));
  state.SetLabel(absl::StrCat(r->policies.size(), " policies"));
}
BENCHMARK(BM_StorySet)->Arg(65536)->Arg(0);

void BM_CorrectedSet(benchmark::State& state) {
  auto r = LoadPolicies({std::string(TIERWATCH_SOURCE_DIR) + "/deploy/network-policies"});
  if (!r.ok() || r->policies.empty()) {
    state.SkipWithError("deploy/network-policies not found");
    return;
  }
  auto views = Views(Conns());
  RunVerdicts(state, r->policies, views, static_cast<size_t>(state.range(0)));
  state.SetLabel(absl::StrCat(r->policies.size(), " policies"));
}
BENCHMARK(BM_CorrectedSet)->Arg(65536)->Arg(0);

void BM_Generated300(benchmark::State& state) {
  LoadedPolicies r = ParsePolicyText(tw::bench::GeneratedPolicies(300, 30), "generated.yaml");
  if (r.HasErrors() || r.policies.size() != 300) {
    state.SkipWithError("generated policies did not parse");
    return;
  }
  auto views = Views(Conns());
  RunVerdicts(state, r.policies, views, static_cast<size_t>(state.range(0)));
  state.SetLabel(absl::StrCat(r.policies.size(), " policies"));
}
BENCHMARK(BM_Generated300)->Arg(65536)->Arg(0);

void BM_ParseGenerated300(benchmark::State& state) {
  std::string text = tw::bench::GeneratedPolicies(300, 30);
  for (auto _ : state) {
    LoadedPolicies r = ParsePolicyText(text, "generated.yaml");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseGenerated300)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
