// SuggestionHandler: the daemon's live suggestion set (docs/suggest.md "Live"). It keeps the
// connections of the drops classified baseline_regression, platform_blocked,
// metrics_scrape_blocked and dns_blocked — with both endpoints' labels, fed to a
// baseline::Baseline as suggest/ documents (Record with the drop's verdict, ObserveLabels,
// policy drops only) — and recomputes the least-privilege allow rules that close them, with
// the proofs `tierwatch suggest` runs, against the daemon's policies (none: the tier model's
// target default-deny). GET /api/v1/suggestions serves the last result.
//
//   auto s = tw::app::MakeSuggestionHandler(config, symbols, learner->baseline(), scope);
//   if (!s.ok()) ...;                                  // unreadable tier file or policies
//   auto c = MakeClassifierHandler(..., {&ring, &drop_metrics, s->get()});  // drops in
//   observer.AddHandler(s->get(), tw::app::Activity::kAlways);              // labels, ticks
//   api::SuggestionsView v = (*s)->View();                                  // any thread
//
// Off the hot path: a drop costs a few hash lookups on the worker (kept or counted as left
// out); OnTick, when something changed and the rate limit allows, copies the kept
// connections (plus the labels of every workload seen, so a selector is chosen among all
// workloads of a namespace, not just the dropped ones) and hands the copy to a thread of
// its own, which suggests, renders and proves. The worker never waits for it. The rate
// limit: at least `interval` between two computations, and at least ten times as long as
// the last one took (so the proofs of a large set take at most a tenth of a core).
//
// Bounds: `max_connections` distinct connections (further drops are counted, not kept);
// workload labels from at most `max_label_identities` security identities; one computation
// at a time, one result held.
//
// Threads: OnEvent/OnDrop/OnTick/Flush on the pipeline worker; View() from any thread; the
// computation on the handler's own thread, joined by the destructor (which waits for a
// computation in progress to end).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/state.h"
#include "app/handler.h"
#include "baseline/baseline.h"
#include "classify/classifier.h"
#include "config/config.h"
#include "flow/symbol.h"
#include "metrics/scope.h"
#include "policy/types.h"
#include "suggest/suggest.h"
#include "tier/tier_model.h"

namespace tw::app {

// The classes whose connections get suggestions: connections that should work (they did, or
// the tier model says platform, scrape and DNS traffic must).
const std::vector<classify::DropClass>& SuggestedClasses();

struct SuggestionHandlerOptions {
  size_t max_connections = 10000;  // 0: off (drops are counted, nothing is kept)
  absl::Duration interval = absl::Seconds(10);
  size_t max_label_identities = 65536;
  // Where the policies came from, for the served header ("" = none loaded).
  std::string policies_from = {};
  suggest::SuggestOptions suggest = {};  // only_dropped is always set
};

class SuggestionHandler final : public FlowHandler, public DropHandler {
 public:
  // `policies` empty: the tier model's target state is assumed. `learned` (may be null) is
  // the daemon's baseline, read on the worker only: its workloads' labels inform selectors.
  SuggestionHandler(std::unique_ptr<tier::TierModel> tiers, policy::PolicySet policies,
                    flow::SymbolTable& symbols, const baseline::Baseline* learned,
                    metrics::Scope& scope, SuggestionHandlerOptions options);
  ~SuggestionHandler() override;
  SuggestionHandler(const SuggestionHandler&) = delete;
  SuggestionHandler& operator=(const SuggestionHandler&) = delete;

  // Worker: labels of every workload seen, one ObserveLabels per security identity.
  void OnEvent(const flow::Event& event) override;
  // Worker: keeps the drop's connection when its class is one of SuggestedClasses().
  void OnDrop(const std::shared_ptr<const classify::Classification>& drop) override;
  // Worker: starts a computation when something changed and the rate limit allows.
  void OnTick(absl::Time now) override;

  // Any thread.
  api::SuggestionsView View() const;
  // Waits until no computation is queued or running (tests, benchmarks); false on timeout.
  bool WaitIdle(absl::Duration timeout) const;
  uint64_t computations() const;

 private:
  struct Job {
    std::unique_ptr<baseline::Baseline> connections;
    absl::Time at;
    uint64_t drops = 0;
  };
  void Submit(absl::Time now);
  void ComputeLoop();
  std::shared_ptr<api::SuggestionResult> Compute(Job& job) const;
  void Publish(const std::shared_ptr<const api::SuggestionResult>& r);

  const SuggestionHandlerOptions options_;
  const std::unique_ptr<tier::TierModel> tiers_;  // the compute thread's only
  const policy::PolicySet policies_;              // the compute thread's only
  flow::SymbolTable& symbols_;
  const baseline::Baseline* const learned_;

  // Worker state.
  baseline::Baseline kept_;
  baseline::Baseline labels_;  // workload labels from the stream; no connections
  absl::flat_hash_set<uint32_t> identities_;
  bool changed_ = false;
  absl::Time last_submit_ = absl::InfinitePast();

  // Live counters (written by the worker, read by View).
  std::atomic<uint64_t> drops_{0};
  std::atomic<uint64_t> skipped_{0};
  std::atomic<uint64_t> left_out_{0};
  std::atomic<uint64_t> connections_{0};
  std::atomic<bool> changed_since_submit_{false};

  prometheus::Gauge& app_policies_;
  prometheus::Gauge& clusterwide_policies_;
  prometheus::Counter& computed_ok_;
  prometheus::Counter& computed_unproven_;
  prometheus::Counter& computed_error_;
  prometheus::Gauge& compute_seconds_;
  prometheus::Counter& left_out_total_;

  mutable absl::Mutex mu_;
  std::optional<Job> job_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t computations_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration last_took_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const api::SuggestionResult> result_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// Loads the tier model (config.tiers) and the policies (config.policies) as the classifier
// does; options from config.suggestions. `learned` may be null.
absl::StatusOr<std::unique_ptr<SuggestionHandler>> MakeSuggestionHandler(
    const config::DaemonConfig& config, flow::SymbolTable& symbols,
    const baseline::Baseline* learned, metrics::Scope& scope);

}  // namespace tw::app
