// The learn-mode analysis: the baseline module (tw::baseline) behind the daemon's Learner
// seam. Learns every event into a Baseline, saves it with baseline::Saver (atomic snapshot;
// a file it cannot read is never overwritten), and remembers when learning started.
//
//   auto learner = tw::app::MakeBaselineLearner({.path = "/var/lib/tierwatch/baseline.twb"},
//                                               symbols, clock);
//   if (!learner.ok()) ...;          // corrupt/foreign snapshot: the daemon must not start
//   (*learner)->OnEvent(event);      // on the pipeline worker
//   (*learner)->Save(clock.Now());
//
// Learning start: the snapshot format (baseline/persist.h) records connections, not the
// learning period, so the start is kept beside it in PATH.learning (one RFC 3339 line,
// written atomically after each snapshot). It counts only while the snapshot itself exists:
// a deleted baseline starts a new learning period whatever the side file says. A missing
// or unreadable side file next to an existing snapshot restarts the period at "now" —
// learning longer is the safe error.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "app/analysis.h"
#include "baseline/baseline.h"
#include "common/time_source.h"
#include "config/config.h"
#include "flow/symbol.h"

namespace tw::app {

class BaselineLearner : public Learner {
 public:
  // The learned baseline (for the watch-mode classifier). Worker thread only.
  virtual const baseline::Baseline& baseline() const = 0;
  virtual const baseline::LearnStats& learn_stats() const = 0;
};

absl::StatusOr<std::unique_ptr<BaselineLearner>> MakeBaselineLearner(
    const config::BaselineConfig& options, flow::SymbolTable& symbols, const TimeSource& clock);

// The side file holding the learning start for the snapshot at `snapshot_path`.
std::string LearningStartPath(const std::string& snapshot_path);

}  // namespace tw::app
