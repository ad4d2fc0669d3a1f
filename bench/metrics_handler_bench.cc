// What the daemon's metrics cost (one core). Figures go in docs/performance.md and issue
// notes; tests never assert them.
//
//   BM_FlowMetricsPerEvent   FlowMetricsHandler::OnEvent over the example's after phase
//                            (flows by verdict, lost events, lag histogram with a real
//                            clock read per flow). items = events: the per-flow cost of
//                            /metrics on the hot path.
//   BM_DropMetricsPerDrop    DropMetricsHandler::OnDrop over the after phase's 307 counted
//                            drops (series lookup, namespace cap, distinct connections);
//                            /1 spreads them over 100k namespaces (the "_other" path).
//   BM_WatchPathPerFlow      the whole watch path as the daemon runs it: ClassifierHandler
//                            (twins, classification with reasoning, aggregation, bypass)
//                            feeding the drop ring and the drop metrics. items = flows.
//   BM_RenderScrape          one /metrics scrape of a scope holding the example's series.
#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "app/classifier_handler.h"
#include "app/drop_metrics.h"
#include "app/drop_ring.h"
#include "app/flow_metrics.h"
#include "baseline/baseline.h"
#include "bench_input.h"
#include "bench_scale.h"
#include "classify/analyzer.h"
#include "common/time_source.h"
#include "flow/json.h"
#include "metrics/scope.h"
#include "tier/tier_model.h"

namespace {

using tw::flow::Event;

using tw::bench::ReadEvents;
using tw::bench::Src;

struct Example {
  tw::flow::SymbolTable symbols;
  tw::tier::TierModel tiers;
  tw::baseline::Baseline baseline{symbols};
  std::vector<Event> after;
  std::vector<std::shared_ptr<const tw::classify::Classification>> drops;

  Example() {
    tw::flow::DnsNameCache dns(symbols);
    tw::baseline::Learner learner(baseline, &dns);
    for (const Event& e : ReadEvents(Src("examples/zero-trust-rollout/before.jsonl"), symbols)) {
      learner.Observe(e);
    }
    after = ReadEvents(Src("examples/zero-trust-rollout/after.jsonl"), symbols);
    tw::classify::DropAnalyzer analyzer({&tiers, &baseline, nullptr, &symbols});
    analyzer.set_on_drop([this](const tw::classify::Classification& c) {
      drops.push_back(std::make_shared<const tw::classify::Classification>(c));
    });
    for (const Event& e : after) analyzer.OnEvent(e);
    analyzer.Flush();
  }
};

Example& Ex() {
  static Example* e = new Example();
  return *e;
}

void BM_FlowMetricsPerEvent(benchmark::State& state) {
  Example& ex = Ex();
  tw::metrics::Scope scope;
  tw::RealTimeSource clock;
  tw::app::FlowMetricsHandler h(scope, clock);
  int64_t n = 0;
  for (auto _ : state) {
    for (const Event& e : ex.after) h.OnEvent(e);
    n += static_cast<int64_t>(ex.after.size());
  }
  state.SetItemsProcessed(n);
}
BENCHMARK(BM_FlowMetricsPerEvent)->Unit(benchmark::kMicrosecond);

void BM_DropMetricsPerDrop(benchmark::State& state) {
  Example& ex = Ex();
  const bool spread = state.range(0) == 1;
  std::vector<std::shared_ptr<const tw::classify::Classification>> drops = ex.drops;
  if (spread) {
    // The same drops, each enforced in a namespace of its own (100k of them).
    std::vector<std::shared_ptr<const tw::classify::Classification>> many;
    for (int i = 0, n = static_cast<int>(tw::bench::Scaled(100000)); i < n; ++i) {
      auto c = std::make_shared<tw::classify::Classification>(*ex.drops[i % ex.drops.size()]);
      tw::flow::Endpoint& ep =
          c->enforcing_side == tw::classify::Side::kSource ? c->flow.source : c->flow.destination;
      ep.namespace_ = ex.symbols.Intern(absl::StrCat("ns-", i));
      many.push_back(std::move(c));
    }
    drops = std::move(many);
  }
  tw::metrics::Scope scope;
  tw::app::DropMetricsHandler h(scope);
  int64_t n = 0;
  for (auto _ : state) {
    for (const auto& d : drops) h.OnDrop(d);
    n += static_cast<int64_t>(drops.size());
  }
  state.SetItemsProcessed(n);
  state.counters["series"] = static_cast<double>(h.series());
}
BENCHMARK(BM_DropMetricsPerDrop)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_WatchPathPerFlow(benchmark::State& state) {
  Example& ex = Ex();
  tw::metrics::Scope scope;
  tw::app::DropRing ring(1000);
  tw::app::DropMetricsHandler drop_metrics(scope);
  tw::config::DaemonConfig cfg;
  auto handler =
      tw::app::MakeClassifierHandler(cfg, ex.symbols, &ex.baseline, scope, {&ring, &drop_metrics});
  if (!handler.ok()) {
    state.SkipWithError(std::string(handler.status().message()).c_str());
    return;
  }
  std::vector<Event> events = ex.after;
  int64_t n = 0;
  for (auto _ : state) {
    // Each loop is an hour later, so twins never pair across loops.
    for (Event& e : events) {
      if (e.flow) e.flow->time += absl::Hours(1);
    }
    for (const Event& e : events) (*handler)->OnEvent(e);
    n += static_cast<int64_t>(events.size());
  }
  (*handler)->Flush();
  state.SetItemsProcessed(n);
  state.counters["drops/s"] =
      benchmark::Counter(static_cast<double>(ring.total()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_WatchPathPerFlow)->Unit(benchmark::kMicrosecond);

void BM_RenderScrape(benchmark::State& state) {
  Example& ex = Ex();
  tw::metrics::Scope scope;
  tw::RealTimeSource clock;
  tw::app::FlowMetricsHandler flows(scope, clock);
  tw::app::DropMetricsHandler drops(scope);
  for (const Event& e : ex.after) flows.OnEvent(e);
  for (const auto& d : ex.drops) drops.OnDrop(d);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = scope.Render();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderScrape)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
