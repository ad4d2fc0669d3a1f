// Suggest benchmarks: time and memory to suggest, render and prove allow rules for a
// 100,000-connection baseline under the assumed target default-deny — 100 namespaces of 50
// labelled workloads each, every workload talking to 20 peers (workloads of its own and other
// namespaces on their service ports, DNS names, the API server, an address).
//
//   build/release/bench/suggest_bench
//   build/release/bench/suggest_bench --benchmark_filter=Suggest/10000
//
// Figures go to docs/suggest.md and docs/performance.md; tests never assert speed.
#include <malloc.h>
#include <sys/resource.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "baseline/baseline.h"
#include "bench_scale.h"
#include "benchmark/benchmark.h"
#include "suggest/prove.h"
#include "suggest/render.h"
#include "suggest/suggest.h"
#include "tier/tier_model.h"

namespace tw::suggest {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'780'000'000);

size_t HeapInUse() {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

size_t MaxRssBytes() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<size_t>(u.ru_maxrss) * 1024;
}

// `n` connections: workload w (of `n / 20` workloads in 100 namespaces) reaches 20 peers.
std::unique_ptr<baseline::Baseline> Cluster(flow::SymbolTable& s, size_t n) {
  auto b = std::make_unique<baseline::Baseline>(s);
  b->set_source("bench");
  const size_t workloads = std::max<size_t>(n / 20, 50);
  const size_t per_ns = 50;
  std::vector<flow::Peer> peers;
  for (size_t w = 0; w < workloads; ++w) {
    std::string ns = absl::StrCat("team-", w / per_ns), app = absl::StrCat("app-", w % per_ns);
    flow::Peer p = flow::Peer::Workload(s.Intern(ns), s.Intern(app));
    b->SetLabels(p,
                 {s.Intern("k8s:app.kubernetes.io/name=" + app),
                  s.Intern("k8s:app.kubernetes.io/instance=" + app + "-prod"),
                  s.Intern("k8s:io.cilium.k8s.policy.serviceaccount=" + app),
                  s.Intern("k8s:io.kubernetes.pod.namespace=" + ns),
                  s.Intern("k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=" + ns),
                  s.Intern("k8s:io.cilium.k8s.policy.cluster=prod")});
    peers.push_back(p);
  }
  flow::Peer apiserver = flow::Peer::Entity(s.Intern("kube-apiserver"));
  flow::Symbol node = s.Intern("worker-1");
  auto add = [&](const flow::Peer& src, const flow::Peer& dst, uint16_t port) {
    baseline::ConnectionStats st{
        kT0, kT0 + absl::Minutes(10), 12, {node}, baseline::VerdictBit(flow::Verdict::kForwarded)};
    b->Insert(flow::ConnectionKey{src, dst, flow::Protocol::kTCP, port}, st);
  };
  for (size_t w = 0; w < workloads && b->size() < n; ++w) {
    size_t ns0 = (w / per_ns) * per_ns;
    for (size_t k = 1; k <= 10; ++k) {  // own namespace
      size_t d = ns0 + (w % per_ns + k * 7) % per_ns;
      if (d != w && d < workloads)
        add(peers[w], peers[d], static_cast<uint16_t>(8000 + d % per_ns));
    }
    for (size_t k = 1; k <= 4; ++k) {  // other namespaces
      size_t d = (w + k * 977) % workloads;
      if (d != w) add(peers[w], peers[d], static_cast<uint16_t>(8000 + d % per_ns));
    }
    for (size_t k = 0; k < 3; ++k) {
      add(peers[w], flow::Peer::Fqdn(s.Intern(absl::StrCat("api", (w + k) % 300, ".example.com"))),
          443);
    }
    add(peers[w], apiserver, 6443);
    add(peers[w], flow::Peer::Ip(s.Intern(absl::StrCat("203.0.", w % 250, ".", 1 + w % 200))),
        5000);
    add(flow::Peer::Entity(s.Intern("remote-node")), peers[w], 8080);
  }
  return b;
}

void BM_Suggest(benchmark::State& state) {
  const size_t n = tw::bench::Scaled(static_cast<size_t>(state.range(0)), 100);
  flow::SymbolTable symbols;
  std::unique_ptr<baseline::Baseline> b = Cluster(symbols, n);
  tier::TierModel tiers;
  double suggest_s = 0, render_s = 0, prove_s = 0;
  size_t held = 0, files = 0, rules = 0, negatives = 0, text = 0;
  bool ok = true;
  for (auto _ : state) {
    size_t before = HeapInUse();
    absl::Time t0 = absl::Now();
    auto set = Suggest(*b, {}, tiers, {});
    absl::Time t1 = absl::Now();
    std::vector<OutputFile> out = Render(*set);
    absl::Time t2 = absl::Now();
    held = HeapInUse() - before;
    ProofReport proof = Prove(*b, *set, out, tiers, {});
    absl::Time t3 = absl::Now();
    suggest_s = absl::ToDoubleSeconds(t1 - t0);
    render_s = absl::ToDoubleSeconds(t2 - t1);
    prove_s = absl::ToDoubleSeconds(t3 - t2);
    files = out.size();
    text = 0;
    for (const OutputFile& f : out) text += f.content.size();
    rules = set->rule_count();
    negatives = proof.negatives_checked;
    ok = proof.ok();
  }
  if (!ok) state.SkipWithError("the proofs failed");
  state.counters["connections"] = static_cast<double>(b->size());
  state.counters["suggest_s"] = suggest_s;
  state.counters["render_s"] = render_s;
  state.counters["prove_s"] = prove_s;
  state.counters["files"] = static_cast<double>(files);
  state.counters["rules"] = static_cast<double>(rules);
  state.counters["negatives"] = static_cast<double>(negatives);
  state.counters["suggestions_MB"] = static_cast<double>(held) / 1e6;  // set + files
  state.counters["files_MB"] = static_cast<double>(text) / 1e6;
  state.counters["max_rss_MB"] = static_cast<double>(MaxRssBytes()) / 1e6;
}
BENCHMARK(BM_Suggest)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace
}  // namespace tw::suggest

BENCHMARK_MAIN();
