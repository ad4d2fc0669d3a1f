#include "app/classifier_watcher.h"

#include "classify/inputs.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace tw::app {
namespace {

class ClassifierWatcherImpl final : public ClassifierWatcher {
 public:
  ClassifierWatcherImpl(classify::Inputs inputs, const baseline::Baseline* baseline,
                        size_t recent_capacity)
      : inputs_(std::move(inputs)),
        analyzer_(Context(inputs_, baseline), Options(recent_capacity)) {}

  void OnEvent(const flow::Event& event) override {
    if (event.flow) ++flows_since_tick_;
    analyzer_.OnEvent(event);
  }

  void OnTick(absl::Time /*now*/) override {
    // A drop waits (in flow time) for its policy-verdict twin. When no flow at all came
    // for a whole tick, flow time stands still: release what is held rather than keep it
    // until the next flow. Flow time, not the daemon clock, because a replayed capture's
    // times are far from the wall clock.
    if (flows_since_tick_ == 0) analyzer_.Flush();
    flows_since_tick_ = 0;
  }

  void Flush() override { analyzer_.Flush(); }

  std::optional<WatchReport> Report() const override {
    WatchReport r;
    r.counts = analyzer_.counts().Snapshot();
    r.bypassed = analyzer_.bypass().Snapshot();
    r.latest_flow_time = analyzer_.bypass().latest_flow_time();
    r.bypass_label = analyzer_.bypass().label().ToString();
    r.recent_total = analyzer_.recent().total();
    return r;
  }

  const classify::DropAnalyzer& analyzer() const override { return analyzer_; }

 private:
  static classify::ClassifierContext Context(const classify::Inputs& in,
                                             const baseline::Baseline* baseline) {
    classify::ClassifierContext ctx = in.context();
    ctx.baseline = baseline;
    return ctx;
  }
  static classify::AnalyzerOptions Options(size_t recent_capacity) {
    classify::AnalyzerOptions o;
    o.recent_capacity = recent_capacity;
    return o;
  }

  classify::Inputs inputs_;
  classify::DropAnalyzer analyzer_;
  uint64_t flows_since_tick_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ClassifierWatcher>> MakeClassifierWatcher(
    const config::DaemonConfig& config, flow::SymbolTable& symbols,
    const baseline::Baseline* baseline) {
  classify::InputPaths paths;
  paths.tiers = config.tiers;
  paths.policies = config.policies;
  TW_ASSIGN_OR_RETURN(classify::Inputs inputs, classify::LoadInputs(paths, symbols));
  for (const auto& note : inputs.policy_notes) spdlog::warn("policies: {}", note.ToString());
  spdlog::info("classifier ready tiers={} policies={} baseline_connections={}",
               config.tiers.empty() ? "built-in" : config.tiers,
               inputs.policies ? inputs.policies->policies.size() : 0,
               baseline ? baseline->size() : 0);
  return std::unique_ptr<ClassifierWatcher>(std::make_unique<ClassifierWatcherImpl>(
      std::move(inputs), baseline, static_cast<size_t>(config.recent_drops)));
}

}  // namespace tw::app
