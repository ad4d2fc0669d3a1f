#include "app/mode_controller.h"

#include "absl/strings/str_cat.h"
#include "app/report.h"
#include "common/time_format.h"
#include "spdlog/spdlog.h"

namespace tw::app {

namespace {
constexpr char kModeHelp[] =
    "The daemon's mode: 1 for the current one (learn: building the baseline; watch: "
    "classifying drops against it).";
constexpr char kSavesHelp[] =
    "Baseline snapshot saves, by result (ok, error); a failed save leaves the previous "
    "snapshot intact and is retried after save_interval.";
}  // namespace

ModeController::ModeController(Observer& observer, BaselineHandler* learner, metrics::Scope& scope,
                               ModeOptions options, absl::Time now)
    : observer_(observer),
      learner_(learner),
      initial_mode_(options.mode),
      learn_for_(options.learn_for),
      save_interval_(options.save_interval),
      last_save_(now),
      mode_learn_(scope.Gauge("tierwatch_mode", kModeHelp, {{"mode", "learn"}})),
      mode_watch_(scope.Gauge("tierwatch_mode", kModeHelp, {{"mode", "watch"}})),
      saves_ok_(scope.Counter("tierwatch_baseline_saves_total", kSavesHelp, {{"result", "ok"}})),
      saves_failed_(
          scope.Counter("tierwatch_baseline_saves_total", kSavesHelp, {{"result", "error"}})),
      connections_(scope.Gauge("tierwatch_baseline_connections",
                               "Connections in the baseline (learned so far in learn mode; "
                               "the fixed reference in watch mode).")) {
  // Learning needs somewhere to learn into; config validation requires baseline.path in
  // learn mode, so this only guards test seams.
  if (learner_ == nullptr) initial_mode_ = config::Mode::kWatch;
  scope
      .Gauge("tierwatch_baseline_loaded",
             "1 when there is a baseline to compare drops against (baseline.path is set); 0 "
             "when watch mode runs without one and no drop can be a baseline_regression.")
      .Set(learner_ != nullptr ? 1 : 0);
  absl::MutexLock lock(&mu_);
  learning_started_ = now;
  if (learner_ != nullptr) {
    if (auto since = learner_->learning_started()) {
      learning_started_ = *since;
    } else if (initial_mode_ == config::Mode::kLearn) {
      learner_->StartLearning(now);
    }
    hook_ = scope.AddCollectHook(
        [this] { connections_.Set(static_cast<double>(learner_->connections())); });
  }
  SetModeGauges(initial_mode_);
}

ModeController::~ModeController() { hook_.Reset(); }

void ModeController::SetModeGauges(config::Mode mode) {
  mode_learn_.Set(mode == config::Mode::kLearn ? 1 : 0);
  mode_watch_.Set(mode == config::Mode::kWatch ? 1 : 0);
}

void ModeController::OnTick(absl::Time now) {
  if (observer_.mode() != config::Mode::kLearn || learner_ == nullptr) return;
  absl::Time started;
  {
    absl::MutexLock lock(&mu_);
    started = learning_started_;
  }
  if (now - started >= learn_for_) {
    SwitchToWatch(now, absl::StrCat("learned for ", tw::FormatDuration(learn_for_)));
  } else if (now - last_save_ >= save_interval_) {
    Save(now);
  }
}

bool ModeController::Save(absl::Time now) {
  if (learner_ == nullptr) return true;
  // Counted from the attempt: a failing disk is retried after a whole interval.
  last_save_ = now;
  absl::Status st = learner_->Save(now);
  connections_.Set(static_cast<double>(learner_->connections()));
  if (st.ok()) {
    saves_ok_.Increment();
    spdlog::info("baseline saved path={} connections={}", learner_->path(),
                 learner_->connections());
    return true;
  }
  saves_failed_.Increment();
  // Survived: the previous snapshot is intact and the next interval tries again.
  spdlog::error("baseline save failed path={} error=\"{}\"", learner_->path(),
                std::string(st.message()));
  return false;
}

void ModeController::SwitchToWatch(absl::Time now, const std::string& why) {
  if (observer_.mode() == config::Mode::kWatch) return;
  // The baseline as learned is what watch mode compares against: persist it first.
  Save(now);
  observer_.SetMode(config::Mode::kWatch);
  SetModeGauges(config::Mode::kWatch);
  {
    absl::MutexLock lock(&mu_);
    switched_to_watch_at_ = now;
  }
  spdlog::info("mode switched from=learn to=watch reason=\"{}\" connections={}", why,
               learner_ ? learner_->connections() : 0);
}

void ModeController::SwitchToLearn(absl::Time now) {
  if (observer_.mode() == config::Mode::kLearn || learner_ == nullptr) return;
  observer_.SetMode(config::Mode::kLearn);
  SetModeGauges(config::Mode::kLearn);
  {
    absl::MutexLock lock(&mu_);
    learning_started_ = now;
  }
  last_save_ = now;
  learner_->StartLearning(now);
  spdlog::info("mode switched from=watch to=learn reason=reload learn_for={}",
               tw::FormatDuration(learn_for_));
}

void ModeController::Apply(bool mode_changed, config::Mode mode, absl::Duration learn_for,
                           absl::Duration save_interval, absl::Time now) {
  learn_for_ = learn_for;
  save_interval_ = save_interval;
  if (mode_changed) {
    if (mode == config::Mode::kWatch) {
      SwitchToWatch(now, "config reload");
    } else if (learner_ != nullptr && !learner_->read_only()) {
      SwitchToLearn(now);
    } else {
      // Learning needs a snapshot to learn into; the path cannot change live.
      spdlog::error(
          "config reload: mode learn needs a baseline snapshot path at start (not a documented "
          "baseline); keeping mode");
    }
  }
  OnTick(now);  // a shorter learn_for may already be over
}

bool ModeController::FinalSave(absl::Time now) {
  if (learner_ == nullptr || observer_.mode() != config::Mode::kLearn) return true;
  return Save(now);
}

void ModeController::Report(RunReport* r) const {
  r->mode = observer_.mode();
  absl::MutexLock lock(&mu_);
  r->switched_to_watch_at = switched_to_watch_at_;
  if (learner_ == nullptr) return;
  BaselineReport b;
  b.path = learner_->path();
  b.connections = learner_->connections();
  b.saves = static_cast<uint64_t>(saves_ok_.Value());
  b.save_errors = static_cast<uint64_t>(saves_failed_.Value());
  b.learning_started = learning_started_;
  r->baseline = b;
}

}  // namespace tw::app
