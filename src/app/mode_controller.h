// ModeController: learn -> watch, and when to save the baseline. A handler on the pipeline
// worker that acts on ticks: after `learn_for` (on the injected clock, counted from when
// learning started as recorded beside the snapshot, so a restart does not restart the
// period) it saves the baseline and switches the Observer's handlers from learning to
// watching; while learning it saves every `save_interval`. A reload changes the timings
// and may switch either way (Apply, posted to the worker).
//
//   tw::app::ModeController mode(observer, learner.get(), scope,
//                                {.mode = Mode::kLearn, .learn_for = absl::Hours(168),
//                                 .save_interval = absl::Minutes(5)},
//                                clock.Now());
//   observer.AddHandler(&mode, tw::app::Activity::kAlways);
//   observer.Start(mode.initial_mode());
//   ...
//   mode.FinalSave(clock.Now());   // after observer.Stop(), in learn mode
//
// Why wall clock rather than flow time: flow time from a live relay is the wall clock
// anyway, and a replayed old capture must neither end learning at once nor never.
// Saves (baseline::Saver's atomic snapshot, through BaselineHandler::Save) are scheduled
// here rather than with Saver::MaybeSave because the interval changes on reload and a
// failed save must wait a whole interval before the next try, not retry every tick.
//
// Metrics: tierwatch_mode{mode}, tierwatch_baseline_saves_total{result},
// tierwatch_baseline_connections, tierwatch_baseline_loaded.
#pragma once

#include <optional>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "app/baseline_handler.h"
#include "app/handler.h"
#include "app/observer.h"
#include "config/config.h"
#include "metrics/scope.h"

namespace tw::app {

struct ModeOptions {
  config::Mode mode = config::Mode::kLearn;
  absl::Duration learn_for = absl::Hours(168);
  absl::Duration save_interval = absl::Minutes(5);
};

class ModeController final : public FlowHandler {
 public:
  // `learner` may be null (no baseline.path: watch mode without a baseline). `now` is the
  // start time: a fresh baseline starts its learning period now.
  ModeController(Observer& observer, BaselineHandler* learner, metrics::Scope& scope,
                 ModeOptions options, absl::Time now);
  ~ModeController() override;

  // The mode to start the Observer in: learn, unless configured to watch or unless
  // learning needs a baseline that is not configured.
  config::Mode initial_mode() const { return initial_mode_; }

  void OnEvent(const flow::Event&) override {}
  void OnTick(absl::Time now) override;
  void Report(RunReport* report) const override;

  // Worker thread: a reloaded config. The mode switches only when the file's value
  // changed, so a daemon that switched to watch by itself stays there.
  void Apply(bool mode_changed, config::Mode mode, absl::Duration learn_for,
             absl::Duration save_interval, absl::Time now);
  // After the Observer stopped: the final save in learn mode. False when it failed
  // (logged, counted; the previous snapshot is intact).
  bool FinalSave(absl::Time now);

 private:
  bool Save(absl::Time now);
  void SwitchToWatch(absl::Time now, const std::string& why);
  void SwitchToLearn(absl::Time now);
  void SetModeGauges(config::Mode mode);

  Observer& observer_;
  BaselineHandler* const learner_;
  config::Mode initial_mode_;
  absl::Duration learn_for_;
  absl::Duration save_interval_;
  absl::Time last_save_;

  // Read by Report from any thread.
  mutable absl::Mutex mu_;
  absl::Time learning_started_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> switched_to_watch_at_ ABSL_GUARDED_BY(mu_);

  prometheus::Gauge& mode_learn_;
  prometheus::Gauge& mode_watch_;
  prometheus::Counter& saves_ok_;
  prometheus::Counter& saves_failed_;
  prometheus::Gauge& connections_;
  metrics::Scope::Hook hook_;
};

}  // namespace tw::app
