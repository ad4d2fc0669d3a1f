// The watch-mode analysis: the drop classifier (tw::classify::DropAnalyzer) behind the
// daemon's Watcher seam. Every DROPPED/AUDIT flow gets a class, a severity and an
// explanation, against the tier model, the learned baseline and (optionally) the policies.
//
//   auto w = tw::app::MakeClassifierWatcher(config, symbols, &learner->baseline());
//   if (!w.ok()) ...;                    // unreadable tier file or policies: bad input
//   (*w)->OnEvent(event);                // on the pipeline worker
//   std::optional<tw::app::WatchReport> r = (*w)->Report();   // any thread
//
// The baseline is the learner's live object: the classifier reads it on the same worker
// thread that (in learn mode) writes it, so no copy and no lock.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "app/analysis.h"
#include "baseline/baseline.h"
#include "classify/analyzer.h"
#include "config/config.h"
#include "flow/symbol.h"

namespace tw::app {

class ClassifierWatcher : public Watcher {
 public:
  virtual const classify::DropAnalyzer& analyzer() const = 0;
};

// Loads the tier model (config.tiers, "" = built-in) and the policies (config.policies) and
// builds the analyzer; `baseline` may be null (no baseline: nothing is a regression).
absl::StatusOr<std::unique_ptr<ClassifierWatcher>> MakeClassifierWatcher(
    const config::DaemonConfig& config, flow::SymbolTable& symbols,
    const baseline::Baseline* baseline);

}  // namespace tw::app
