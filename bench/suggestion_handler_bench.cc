// What the daemon's live suggestions cost (app/suggestion_handler.h). Figures go in
// docs/suggest.md ("Live"), docs/performance.md and issue notes; tests never assert them.
//
//   BM_Example            the example's after phase with the story's policies: the drops the
//                         classifier counted, kept; one computation (suggest, render, proofs).
//   BM_Cluster/N          N kept connections (workloads of 50 per namespace, each reaching
//                         20 peers: workloads of its own and other namespaces, DNS names, the
//                         API server, an address), under the assumed target default-deny.
//
// Counters: ondrop_ns (worker, per kept drop), onevent_ns (worker, per flow, identities
// already known), tick_ms (worker: the copy handed to the computation — the only pause
// the pipeline sees), compute_s (the handler's own thread), kept_MB (the kept connections),
// served_MB (the result held for the API).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "app/suggestion_handler.h"
#include "baseline/baseline.h"
#include "bench_input.h"
#include "bench_scale.h"
#include "classify/analyzer.h"
#include "classify/inputs.h"
#include "flow/json.h"
#include "metrics/scope.h"
#include "tier/tier_model.h"

namespace {

using tw::classify::Classification;
using tw::flow::Event;

using tw::bench::ReadEvents;
using tw::bench::Src;

size_t HeapInUse() {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Fed {
  std::vector<Event> events;
  std::vector<std::shared_ptr<const Classification>> drops;
};

// One computation: the tick on the worker (timed), then the thread's work.
void Measure(benchmark::State& state, tw::app::SuggestionHandler& h, const Fed& in,
             size_t heap_before) {
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& d : in.drops) h.OnDrop(d);
  auto t1 = std::chrono::steady_clock::now();
  for (const Event& e : in.events) h.OnEvent(e);  // identities learned
  auto t2 = std::chrono::steady_clock::now();
  for (const Event& e : in.events) h.OnEvent(e);  // steady state: all known
  auto t3 = std::chrono::steady_clock::now();
  const size_t kept = HeapInUse() - heap_before;
  h.OnTick(absl::FromUnixSeconds(1'800'000'000));
  auto t4 = std::chrono::steady_clock::now();
  h.WaitIdle(absl::Hours(1));
  const size_t served = HeapInUse() - heap_before - kept;
  tw::api::SuggestionsView v = h.View();
  if (!v.result || !v.result->error.empty()) {
    state.SkipWithError("no suggestion set");
    return;
  }
  if (!v.result->proven()) state.SkipWithError("the proofs failed");
  state.counters["connections"] = static_cast<double>(v.connections);
  state.counters["drops"] = static_cast<double>(in.drops.size());
  state.counters["files"] = static_cast<double>(v.result->files.size());
  state.counters["negatives"] = static_cast<double>(v.result->proof.negatives_checked);
  state.counters["lint_skipped"] = v.result->proof.lint_skipped ? 1 : 0;
  state.counters["ondrop_ns"] = Seconds(t0, t1) * 1e9 / static_cast<double>(in.drops.size());
  state.counters["onevent_ns"] = Seconds(t2, t3) * 1e9 / static_cast<double>(in.events.size());
  state.counters["tick_ms"] = Seconds(t3, t4) * 1e3;
  state.counters["compute_s"] = absl::ToDoubleSeconds(v.result->took);
  state.counters["kept_MB"] = static_cast<double>(kept) / 1e6;
  state.counters["served_MB"] = static_cast<double>(served) / 1e6;
}

void BM_Example(benchmark::State& state) {
  tw::flow::SymbolTable symbols;
  tw::classify::InputPaths paths;
  paths.policies = {Src("examples/zero-trust-rollout/story-policies")};
  auto inputs = tw::classify::LoadInputs(paths, symbols);
  if (!inputs.ok()) {
    state.SkipWithError("cannot load the story's policies");
    return;
  }
  tw::baseline::Baseline learned(symbols);
  {
    tw::flow::DnsNameCache dns(symbols);
    tw::baseline::Learner learner(learned, &dns);
    for (const Event& e : ReadEvents(Src("examples/zero-trust-rollout/before.jsonl"), symbols)) {
      learner.Observe(e);
    }
  }
  Fed in;
  in.events = ReadEvents(Src("examples/zero-trust-rollout/after.jsonl"), symbols);
  tw::classify::DropAnalyzer analyzer(
      {inputs->tiers.get(), &learned, inputs->evaluator.get(), &symbols});
  analyzer.set_on_drop([&](const Classification& c) {
    in.drops.push_back(std::make_shared<const Classification>(c));
  });
  for (const Event& e : in.events) analyzer.OnEvent(e);
  analyzer.Flush();
  for (auto _ : state) {
    tw::metrics::Scope scope;
    const size_t before = HeapInUse();
    tw::app::SuggestionHandler h(std::make_unique<tw::tier::TierModel>(),
                                 inputs->policies->policies, symbols, &learned, scope, {});
    Measure(state, h, in, before);
  }
}
BENCHMARK(BM_Example)->Unit(benchmark::kMillisecond)->Iterations(1);

// `n` kept connections, each from one drop, with the endpoints' labels on the flows.
Fed Cluster(tw::flow::SymbolTable& s, size_t n) {
  using tw::flow::Peer;
  const size_t per_ns = 50;
  const size_t workloads = std::max<size_t>(n / 20, per_ns);
  std::vector<tw::flow::Endpoint> eps;
  std::vector<Peer> peers;
  for (size_t w = 0; w < workloads; ++w) {
    std::string ns = absl::StrCat("team-", w / per_ns), app = absl::StrCat("app-", w % per_ns);
    tw::flow::Endpoint e;
    e.namespace_ = s.Intern(ns);
    e.identity = static_cast<uint32_t>(10000 + w);
    e.labels = {s.Intern("k8s:app.kubernetes.io/name=" + app),
                s.Intern("k8s:app.kubernetes.io/instance=" + app + "-prod"),
                s.Intern("k8s:io.cilium.k8s.policy.serviceaccount=" + app),
                s.Intern("k8s:io.kubernetes.pod.namespace=" + ns),
                s.Intern("k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=" + ns),
                s.Intern("k8s:io.cilium.k8s.policy.cluster=prod")};
    e.workloads = {{s.Intern(app), s.Intern("Deployment")}};
    e.reserved = tw::flow::ComputeReserved(e);
    eps.push_back(e);
    peers.push_back(Peer::Workload(s.Intern(ns), s.Intern(app)));
  }
  tw::flow::Endpoint world;
  world.identity = 2;
  world.labels = {s.Intern("reserved:world")};
  world.reserved = tw::flow::ComputeReserved(world);
  tw::flow::Endpoint apiserver;
  apiserver.identity = 7;
  apiserver.labels = {s.Intern("reserved:kube-apiserver")};
  apiserver.reserved = tw::flow::ComputeReserved(apiserver);

  Fed out;
  const tw::flow::Symbol node = s.Intern("worker-1");
  const absl::Time t0 = absl::FromUnixSeconds(1'780'000'000);
  auto add = [&](const tw::flow::Endpoint& src, const Peer& sp, const tw::flow::Endpoint& dst,
                 const Peer& dp, uint16_t port) {
    auto c = std::make_shared<Classification>();
    c->drop_class = tw::classify::DropClass::kBaselineRegression;
    c->flow.time = t0 + absl::Seconds(static_cast<int64_t>(out.drops.size()));
    c->flow.verdict = tw::flow::Verdict::kDropped;
    c->flow.drop_reason_desc = tw::flow::kDropPolicyDenied;
    c->flow.event_type = tw::flow::kEventDrop;
    c->flow.node_name = node;
    c->flow.source = src;
    c->flow.destination = dst;
    c->flow.l4.protocol = tw::flow::Protocol::kTCP;
    c->flow.l4.destination_port = port;
    c->connection = tw::flow::ConnectionKey{sp, dp, tw::flow::Protocol::kTCP, port};
    Event ev;
    ev.flow = c->flow;
    out.events.push_back(std::move(ev));
    out.drops.push_back(std::move(c));
  };
  for (size_t w = 0; w < workloads && out.drops.size() < n; ++w) {
    size_t ns0 = (w / per_ns) * per_ns;
    for (size_t k = 1; k <= 10; ++k) {
      size_t d = ns0 + (w % per_ns + k * 7) % per_ns;
      if (d != w && d < workloads)
        add(eps[w], peers[w], eps[d], peers[d], static_cast<uint16_t>(8000 + d % per_ns));
    }
    for (size_t k = 1; k <= 4; ++k) {
      size_t d = (w + k * 977) % workloads;
      if (d != w) add(eps[w], peers[w], eps[d], peers[d], static_cast<uint16_t>(8000 + d % per_ns));
    }
    for (size_t k = 0; k < 3; ++k) {
      add(eps[w], peers[w], world,
          Peer::Fqdn(s.Intern(absl::StrCat("api", (w + k) % 300, ".example.com"))), 443);
    }
    add(eps[w], peers[w], apiserver, Peer::Entity(s.Intern("kube-apiserver")), 6443);
    add(eps[w], peers[w], world,
        Peer::Ip(s.Intern(absl::StrCat("203.0.", w % 250, ".", 1 + w % 200))), 5000);
  }
  return out;
}

void BM_Cluster(benchmark::State& state) {
  const size_t n = tw::bench::Scaled(static_cast<size_t>(state.range(0)), 100);
  tw::flow::SymbolTable symbols;
  Fed in = Cluster(symbols, n);
  for (auto _ : state) {
    tw::metrics::Scope scope;
    const size_t before = HeapInUse();
    tw::app::SuggestionHandler h(std::make_unique<tw::tier::TierModel>(), tw::policy::PolicySet{},
                                 symbols, nullptr, scope, {.max_connections = 2 * n});
    Measure(state, h, in, before);
  }
}
BENCHMARK(BM_Cluster)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
