// The learn-mode handler: the baseline module (tw::baseline) learning every event into a
// Baseline, saved with baseline::Saver (atomic snapshot; a file it cannot read is never
// overwritten). It also hands the learned baseline to the classifier (watch mode compares
// against it) and to the API (/api/v1/baseline). When to save is the ModeController's
// business (app/mode_controller.h); this handler only knows how.
//
//   auto learner = tw::app::MakeBaselineHandler({.path = "/var/lib/tierwatch/baseline.twb"},
//                                               symbols, clock);
//   if (!learner.ok()) ...;          // corrupt/foreign snapshot: the daemon must not start
//   observer.AddHandler(learner->get(), tw::app::Activity::kLearn);
//   (*learner)->Save(clock.Now());   // on the worker
//
// Learning start: the snapshot format (baseline/persist.h) records connections, not the
// learning period, so the start is kept beside it in PATH.learning (one RFC 3339 line,
// written atomically after each snapshot). It counts only while the snapshot itself exists:
// a deleted baseline starts a new learning period whatever the side file says. A missing
// or unreadable side file next to an existing snapshot restarts the period at "now" —
// learning longer is the safe error.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "app/handler.h"
#include "baseline/baseline.h"
#include "common/time_source.h"
#include "config/config.h"
#include "flow/symbol.h"

namespace tw::app {

class BaselineHandler : public FlowHandler {
 public:
  // Writes the snapshot (atomically: a crash leaves the previous one). `now` is the
  // daemon's clock, recorded as the save time.
  virtual absl::Status Save(absl::Time now) = 0;
  // When learning began, as recorded beside the snapshot that was loaded (so a restart does
  // not restart the learning period); nullopt for a fresh baseline.
  virtual std::optional<absl::Time> learning_started() const = 0;
  // Records the start of a learning period (a fresh baseline, or watch -> learn on reload).
  virtual void StartLearning(absl::Time now) = 0;
  // Connections learned so far. Any thread.
  virtual size_t connections() const = 0;
  virtual std::string path() const = 0;
  // The baseline itself, for the classifier and the API: read on the worker thread only.
  // nullptr when the implementation keeps none (test fakes).
  virtual const baseline::Baseline* baseline() const { return nullptr; }
  // A documented baseline (YAML/JSON, e.g. a ConfigMap shared by shards) is read, never
  // written: watch mode only.
  virtual bool read_only() const { return false; }
};

// Builds the handler for the baseline options: loads the snapshot at `path` when it exists.
// A corrupt or foreign file is an error (never silently overwritten). A documented baseline
// (the exported YAML/JSON) at `path` is loaded read-only: it can be compared against, not
// learned into or saved.
using BaselineFactory = std::function<absl::StatusOr<std::unique_ptr<BaselineHandler>>(
    const config::BaselineConfig& options, flow::SymbolTable& symbols, const TimeSource& clock)>;

absl::StatusOr<std::unique_ptr<BaselineHandler>> MakeBaselineHandler(
    const config::BaselineConfig& options, flow::SymbolTable& symbols, const TimeSource& clock);

// The side file holding the learning start for the snapshot at `snapshot_path`.
std::string LearningStartPath(const std::string& snapshot_path);

}  // namespace tw::app
