// Classification and simulation speed (one core). Figures go in docs/performance.md and
// issue notes; tests never assert them.
//
//   BM_AnalyzeExampleLoop   the example's after phase (1192 flows, 613 DROPPED) looped
//                           through DropAnalyzer (twins, counts, ring, bypass list), with
//                           the baseline learned from the before phase; /1 with the story's
//                           policies for attribution. items = flows.
//   BM_ClassifyDrop         DropClassifier::Classify alone, per DROPPED/AUDIT flow.
//   BM_Simulate1M/0         one million baseline connections between 1000 workloads in 100
//                           namespaces against the corrected set (deploy/network-policies/app);
//   BM_Simulate1M/1         the same against 300 generated policies (generated_policies.h)
//                           that select those workloads.
#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "baseline/baseline.h"
#include "bench_input.h"
#include "bench_scale.h"
#include "classify/analyzer.h"
#include "flow/json.h"
#include "generated_policies.h"
#include "policy/parser.h"
#include "simulate/simulate.h"
#include "tier/tier_model.h"

namespace {

using tw::flow::Flow;

using tw::bench::Src;

std::vector<Flow> ReadFlows(const std::string& path, tw::flow::SymbolTable& symbols) {
  std::vector<Flow> out;
  for (tw::flow::Event& ev : tw::bench::ReadEvents(path, symbols)) {
    if (ev.flow) out.push_back(*ev.flow);
  }
  return out;
}

struct Example {
  tw::flow::SymbolTable symbols;
  tw::tier::TierModel tiers;
  tw::baseline::Baseline baseline{symbols};
  std::vector<Flow> after;
  tw::policy::PolicySet story;
  std::unique_ptr<tw::policy::Evaluator> eval;

  Example() {
    tw::flow::DnsNameCache dns(symbols);
    tw::baseline::Learner learner(baseline, &dns);
    for (const Flow& f : ReadFlows(Src("examples/zero-trust-rollout/before.jsonl"), symbols)) {
      learner.Observe(f);
    }
    after = ReadFlows(Src("examples/zero-trust-rollout/after.jsonl"), symbols);
    auto r = tw::policy::LoadPolicies({Src("tests/policy/testdata/story")});
    story = r->policies;
    eval = std::make_unique<tw::policy::Evaluator>(story);
  }
};

Example& Ex() {
  static Example* e = new Example();
  return *e;
}

void BM_AnalyzeExampleLoop(benchmark::State& state) {
  Example& ex = Ex();
  const bool with_policies = state.range(0) == 1;
  std::vector<Flow> flows = ex.after;
  tw::classify::DropAnalyzer analyzer(
      {&ex.tiers, &ex.baseline, with_policies ? ex.eval.get() : nullptr, &ex.symbols});
  int64_t n = 0;
  for (auto _ : state) {
    // Each loop is an hour later, so twins never pair across loops.
    for (Flow& f : flows) f.time += absl::Hours(1);
    for (const Flow& f : flows) analyzer.OnFlow(f);
    n += static_cast<int64_t>(flows.size());
  }
  analyzer.Flush();
  state.SetItemsProcessed(n);
  state.counters["drops_counted"] = static_cast<double>(analyzer.stream_stats().counted);
  state.counters["drops/s"] = benchmark::Counter(
      static_cast<double>(analyzer.stream_stats().counted), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AnalyzeExampleLoop)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_ClassifyDrop(benchmark::State& state) {
  Example& ex = Ex();
  const bool with_policies = state.range(0) == 1;
  std::vector<Flow> drops;
  for (const Flow& f : ex.after) {
    if (tw::classify::IsClassifiable(f)) drops.push_back(f);
  }
  tw::classify::DropClassifier c(
      {&ex.tiers, &ex.baseline, with_policies ? ex.eval.get() : nullptr, &ex.symbols});
  size_t i = 0;
  for (auto _ : state) {
    auto r = c.Classify(drops[i++ % drops.size()]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClassifyDrop)->Arg(0)->Arg(1);

// 100 namespaces (the tier model's Tier 0 and Tier 1 ones, then app-NN) x 10 workloads;
// every ordered pair of workloads is one connection on a port derived from the destination.
void BM_Simulate1M(benchmark::State& state) {
  const bool generated = state.range(0) == 1;
  const int kNamespaces = tw::bench::Smoke() ? 10 : 100, kPerNamespace = 10;
  tw::flow::SymbolTable symbols;
  tw::tier::TierModel tiers;
  const tw::policy::LoadedPolicies loaded =
      generated
          ? tw::policy::ParsePolicyText(tw::bench::GeneratedPolicies(300, 30), "generated.yaml")
          : *tw::policy::LoadPolicies({Src("deploy/network-policies/app")});
  tw::policy::Evaluator eval(loaded.policies);
  std::vector<std::string> namespaces = {"kube-system",     "flux-system",   "cilium",
                                         "cilium-secrets",  "observability", "cert-manager",
                                         "external-secrets"};
  while (static_cast<int>(namespaces.size()) < kNamespaces) {
    // The generated set's namespaces are ns-0..29.
    namespaces.push_back(generated ? absl::StrCat("ns-", namespaces.size() - 7)
                                   : absl::StrCat("app-", namespaces.size()));
  }
  struct W {
    tw::flow::Endpoint ep;
    tw::flow::Peer peer;
  };
  std::vector<W> workloads;
  for (const std::string& ns : namespaces) {
    for (int i = 0; i < kPerNamespace; ++i) {
      std::string app = ns == "observability" && i == 0 ? "vmagent" : absl::StrCat("svc-", i);
      W w;
      w.ep.namespace_ = symbols.Intern(ns);
      w.ep.pod_name = symbols.Intern(app + "-0");
      w.ep.identity = static_cast<uint32_t>(10000 + workloads.size());
      w.ep.labels = {
          symbols.Intern("k8s:app.kubernetes.io/name=" + app),
          symbols.Intern("k8s:io.kubernetes.pod.namespace=" + ns),
          symbols.Intern("k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=" + ns),
          symbols.Intern("k8s:io.cilium.k8s.policy.cluster=bench")};
      // The generated set selects `app: app-M`, M < 40.
      w.ep.labels.push_back(symbols.Intern(absl::StrCat("k8s:app=app-", workloads.size() % 40)));
      w.ep.reserved = tw::flow::ComputeReserved(w.ep);
      w.peer = tw::flow::Peer::Workload(w.ep.namespace_, symbols.Intern(app));
      workloads.push_back(std::move(w));
    }
  }
  tw::simulate::ConnectionSet set(symbols);
  // One flow per workload registers its labels (and one connection each).
  for (size_t i = 0; i < workloads.size(); ++i) {
    Flow f;
    f.verdict = tw::flow::Verdict::kForwarded;
    f.source = workloads[i].ep;
    f.destination = workloads[(i + 1) % workloads.size()].ep;
    f.source_ip = absl::StrCat("10.1.", i / 250, ".", i % 250);
    f.destination_ip = absl::StrCat("10.1.", ((i + 1) % workloads.size()) / 250, ".",
                                    ((i + 1) % workloads.size()) % 250);
    f.l4.protocol = tw::flow::Protocol::kTCP;
    f.l4.source_port = 40000;
    f.l4.destination_port = 8000;
    f.l4.tcp_flags = tw::flow::kSYN;
    set.Observe(f);
  }
  tw::flow::Symbol node = symbols.Intern("bench/node-1");
  for (const W& a : workloads) {
    for (size_t j = 0; j < workloads.size(); ++j) {
      tw::flow::ConnectionKey k;
      k.source = a.peer;
      k.destination = workloads[j].peer;
      k.protocol = tw::flow::Protocol::kTCP;
      k.port = static_cast<uint16_t>(9000 + j % 100);
      set.mutable_connections().Record(k, absl::UnixEpoch(), node, tw::flow::Verdict::kForwarded);
    }
  }
  tw::simulate::SimulationResult r;
  for (auto _ : state) {
    r = tw::simulate::Simulate(set, eval, tiers);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(set.size()));
  state.counters["connections"] = static_cast<double>(set.size());
  state.counters["broken"] = static_cast<double>(r.broken);
  state.counters["allowed"] = static_cast<double>(r.allowed);
}
BENCHMARK(BM_Simulate1M)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
