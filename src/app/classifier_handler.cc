#include "app/classifier_handler.h"

#include <algorithm>

#include "app/report.h"
#include "classify/aggregate.h"
#include "classify/drop_stream.h"
#include "classify/inputs.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace tw::app {
namespace {

// The limits `tierwatch analyze` uses (classify::AnalyzerOptions), so both count alike.
constexpr size_t kMaxConnectionsPerClass = 10000;
constexpr size_t kMaxBypassedEndpoints = 10000;

class ClassifierHandler final : public FlowHandler {
 public:
  ClassifierHandler(classify::Inputs inputs, const baseline::Baseline* baseline,
                    metrics::Scope& scope, std::vector<DropHandler*> drop_handlers)
      : inputs_(std::move(inputs)),
        classifier_(Context(inputs_, baseline)),
        counts_(kMaxConnectionsPerClass),
        bypass_(inputs_.tiers->options().debug_bypass_label, kMaxBypassedEndpoints),
        drop_handlers_(std::move(drop_handlers)),
        bypassed_(scope.Gauge("tierwatch_bypassed_endpoints",
                              "Endpoints seen carrying the debug-bypass label (policy "
                              "enforcement off for them).")),
        bypass_oldest_(scope.Gauge("tierwatch_bypass_oldest_seconds",
                                   "How long the longest-bypassed endpoint has carried the "
                                   "debug-bypass label, relative to the newest flow; 0 when "
                                   "none.")) {
    classify::DropStreamOptions so;
    so.explain = true;  // the reasoning `analyze --explain` prints, for the API
    stream_ = std::make_unique<classify::DropStream>(
        classifier_, so, [this](classify::Classification&& c) { Counted(std::move(c)); });
    hook_ = scope.AddCollectHook([this] {
      std::vector<classify::BypassedEndpoint> b = bypass_.Snapshot();
      bypassed_.Set(static_cast<double>(b.size()));
      absl::Duration oldest = absl::ZeroDuration();
      const absl::Time latest = bypass_.latest_flow_time();
      for (const auto& e : b) oldest = std::max(oldest, latest - e.first_seen);
      bypass_oldest_.Set(absl::ToDoubleSeconds(oldest));
    });
  }
  ~ClassifierHandler() override { hook_.Reset(); }

  void OnEvent(const flow::Event& event) override {
    if (!event.flow) return;
    const flow::Flow& f = *event.flow;
    ++flows_since_tick_;
    // As DropAnalyzer: observe first, so a DNS answer or a working connection in this very
    // flow informs it.
    classifier_.Observe(f);
    bypass_.Observe(f);
    stream_->OnFlow(f);
  }

  void OnTick(absl::Time /*now*/) override {
    // A drop waits (in flow time) for its policy-verdict twin. When no flow at all came
    // for a whole tick, flow time stands still: release what is held rather than keep it
    // until the next flow. Flow time, not the daemon clock, because a replayed capture's
    // times are far from the wall clock.
    if (flows_since_tick_ == 0) stream_->Flush();
    flows_since_tick_ = 0;
  }

  void Flush() override { stream_->Flush(); }

  void Report(RunReport* r) const override {
    WatchReport w;
    w.counts = counts_.Snapshot();
    w.bypassed = bypass_.Snapshot();
    w.latest_flow_time = bypass_.latest_flow_time();
    w.bypass_label = bypass_.label().ToString();
    r->watch = std::move(w);
  }

 private:
  static classify::ClassifierContext Context(const classify::Inputs& in,
                                             const baseline::Baseline* baseline) {
    classify::ClassifierContext ctx = in.context();
    ctx.baseline = baseline;
    return ctx;
  }

  void Counted(classify::Classification&& c) {
    counts_.Add(c);
    bypass_.CountDrop(c);
    auto shared = std::make_shared<const classify::Classification>(std::move(c));
    for (DropHandler* h : drop_handlers_) h->OnDrop(shared);
  }

  classify::Inputs inputs_;
  classify::DropClassifier classifier_;
  classify::DropAggregator counts_;
  classify::BypassTracker bypass_;
  std::vector<DropHandler*> drop_handlers_;
  std::unique_ptr<classify::DropStream> stream_;
  uint64_t flows_since_tick_ = 0;
  prometheus::Gauge& bypassed_;
  prometheus::Gauge& bypass_oldest_;
  metrics::Scope::Hook hook_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<FlowHandler>> MakeClassifierHandler(
    const config::DaemonConfig& config, flow::SymbolTable& symbols,
    const baseline::Baseline* baseline, metrics::Scope& scope,
    std::vector<DropHandler*> drop_handlers) {
  classify::InputPaths paths;
  paths.tiers = config.tiers;
  paths.policies = config.policies;
  TW_ASSIGN_OR_RETURN(classify::Inputs inputs, classify::LoadInputs(paths, symbols));
  for (const auto& note : inputs.policy_notes) spdlog::warn("policies: {}", note.ToString());
  spdlog::info("classifier ready tiers={} policies={} baseline_connections={}",
               config.tiers.empty() ? "built-in" : config.tiers,
               inputs.policies ? inputs.policies->policies.size() : 0,
               baseline ? baseline->size() : 0);
  return std::unique_ptr<FlowHandler>(std::make_unique<ClassifierHandler>(
      std::move(inputs), baseline, scope, std::move(drop_handlers)));
}

}  // namespace tw::app
