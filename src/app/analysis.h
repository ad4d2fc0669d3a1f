// The daemon's per-mode analysis seams: what runs on the pipeline worker in learn mode (a
// Learner: the baseline of connections, saved periodically and on shutdown) and in watch
// mode (a Watcher: classification of DROPPED/AUDIT flows). The Daemon talks only to these
// interfaces; app/baseline_learner.h adapts the baseline module, app/classifier_watcher.h
// the classifier; tests plug in fakes through DaemonOptions.
//
//   class CountingWatcher : public tw::app::Watcher {
//     void OnEvent(const tw::flow::Event& ev) override { ++events; }
//     int events = 0;
//   };
//   options.watcher_factory = [](const auto&, auto&, const tw::app::Learner*) {
//     return absl::StatusOr<std::unique_ptr<tw::app::Watcher>>(
//         std::make_unique<CountingWatcher>());
//   };
//
// Threading: OnEvent, Save, OnTick and the mode hooks are called on the pipeline worker only
// (or, after the worker has stopped, on the thread shutting down), never concurrently.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "app/sink.h"
#include "classify/aggregate.h"
#include "common/time_source.h"
#include "config/config.h"
#include "flow/symbol.h"

namespace tw::app {

class Learner : public FlowSink {
 public:
  // Writes the snapshot (atomically: a crash leaves the previous one). `now` is the
  // daemon's clock, recorded as the save time.
  virtual absl::Status Save(absl::Time now) = 0;
  // When learning began, as recorded in the snapshot that was loaded (so a restart does not
  // restart the learning period); nullopt for a fresh baseline.
  virtual std::optional<absl::Time> learning_started() const = 0;
  // Records the start of a learning period (a fresh baseline, or watch -> learn on reload).
  virtual void StartLearning(absl::Time now) = 0;
  virtual size_t connections() const = 0;
  virtual std::string path() const = 0;
};

// Builds the learner for the baseline options: loads the snapshot at `path` when it exists.
// A corrupt or foreign file is an error (never silently overwritten).
using LearnerFactory = std::function<absl::StatusOr<std::unique_ptr<Learner>>(
    const config::BaselineConfig& options, flow::SymbolTable& symbols, const TimeSource& clock)>;

// What watch mode found, for the run report: classified drops by class and connection,
// and the endpoints carrying the debug-bypass label.
struct WatchReport {
  classify::AggregateSnapshot counts;
  std::vector<classify::BypassedEndpoint> bypassed;
  absl::Time latest_flow_time = absl::InfinitePast();  // "bypassed for how long" is relative to it
  std::string bypass_label;                            // "policy.cilium.io/enforce=false"
  uint64_t recent_total = 0;                           // classified drops kept in the ring so far
};

// Watch mode's analysis (app/classifier_watcher.h: the drop classifier). Sees every event
// while the daemon watches. Without one, watch mode still counts and keeps recent drops.
class Watcher : public FlowSink {
 public:
  // Every tick, with the daemon's clock: lets a quiet stream release what it holds.
  virtual void OnTick(absl::Time /*now*/) {}
  // End of input: release everything held.
  virtual void Flush() {}
  virtual std::optional<WatchReport> Report() const { return std::nullopt; }
};

using WatcherFactory = std::function<absl::StatusOr<std::unique_ptr<Watcher>>(
    const config::DaemonConfig& config, flow::SymbolTable& symbols, const Learner* baseline)>;

}  // namespace tw::app
