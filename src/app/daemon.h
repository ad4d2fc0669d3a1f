// Daemon: the composition root of `tierwatch run`. It builds the pieces from the config and
// runs them: a SourceSupervisor (Hubble Relay or captures; replaced on reload), an Observer
// (the pipeline and its handlers), a ModeController (learn -> watch, baseline saves), the
// recent-drops ring and the metrics, all counting into one stats scope — and it answers
// for its state (Status, Liveness, Readiness) to the HTTP API.
//
//   auto cfg = tw::app::LoadDaemonConfig("tierwatch.yaml");        // all errors, file:line
//   tw::RealTimeSource clock;
//   tw::app::Daemon daemon(*cfg, {.config_path = "tierwatch.yaml"}, clock);
//   tw::app::SignalThread signals({.on_stop = [&](int, int) { daemon.RequestStop("signal"); },
//                                  .on_reload = [&] { daemon.Reload(); }});
//   if (absl::Status st = daemon.Start(); !st.ok()) return 2;     // bad baseline/tiers/...
//   daemon.WaitForStop(absl::InfiniteDuration());                 // or --duration
//   tw::app::RunReport report = daemon.Shutdown();
//
// Handlers, in order on the worker: the run summary and the flow metrics (always), the
// baseline learner (learn mode), the drop classifier feeding the ring, the drop metrics and
// the live suggestions (watch mode), the suggestion handler's labels and ticks (always; it
// computes on a thread of its own), the mode controller (always). Learner and classifier are
// both built at Start, so a bad snapshot, tier file or policy set fails the start, not the
// switch to watch a week later. Watch mode with a baseline.path that names no file is a start error
// (a typo must not silently classify against nothing); watch mode without baseline.path
// runs, loudly, with tierwatch_baseline_loaded 0.
//
// Threads: the source thread (SourceSupervisor), the pipeline worker (every handler, the
// mode switch and baseline saves, in event order), and a ticker that every
// `tick_interval` posts a tick. Tests set tick_interval to zero and call Tick() after
// moving a ManualTimeSource.
//
// Shutdown order: stop the ticker; stop the source and join its thread; close the pipeline
// and let the worker drain every queued event; flush; save the baseline (learn mode);
// report.
//
// Reload (SIGHUP): the file is re-read and validated; an invalid file is logged and the
// running config kept. Applied live: mode and learn_for (only when the file's value
// changed, so a daemon that switched to watch by itself stays there), baseline
// save_interval, log.level, and the relay section (the source is replaced, resuming where
// the stream left off). Other changes are logged as needing a restart. A reload that
// arrives before Start has finished is applied when it finishes (never concurrently).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/state.h"
#include "app/baseline_handler.h"
#include "app/classifier_handler.h"
#include "app/daemon_config.h"
#include "app/drop_metrics.h"
#include "app/drop_ring.h"
#include "app/flow_metrics.h"
#include "app/mode_controller.h"
#include "app/observer.h"
#include "app/report.h"
#include "app/shard.h"
#include "app/source_supervisor.h"
#include "app/suggestion_handler.h"
#include "app/summary.h"
#include "baseline/document.h"
#include "common/time_source.h"
#include "config/config.h"
#include "flow/symbol.h"
#include "metrics/scope.h"

namespace tw::app {

// The version in tierwatch_build_info and /api/v1/status.
const char* Version();

struct DaemonOptions {
  // The file to re-read on Reload() ("" = reload impossible).
  std::string config_path;
  // Read these captures instead of the relay; the daemon ends when they are read.
  std::vector<std::string> captures;
  absl::Duration tick_interval = absl::Seconds(1);  // zero: no ticker thread
  // How the config is read on Reload() (the command line's --relay/TLS overrides);
  // require_relay_address follows `captures`.
  config::LoadOptions load_options;
  // `--log-level` was given on the command line: config log.level must not override it.
  bool log_level_from_command_line = false;
  uint64_t seed = 0;  // relay reconnect jitter
  // The worker counts as stalled (unhealthy) when no tick ran for this long.
  absl::Duration stall_timeout = absl::Minutes(5);
  // Sharded by node (`tierwatch run --shard`): read and count only the nodes that hash to
  // this shard (app/shard.h); every series carries a `shard` label. Relay sources only.
  std::optional<ShardSpec> shard;
  absl::Duration shard_refresh = absl::Seconds(30);  // node list refresh
  // `tierwatch run --reset-baseline`: a baseline snapshot that cannot be loaded (corrupt,
  // truncated, foreign, newer version) is renamed to PATH.unreadable-<unix seconds> (never
  // deleted, never onto an existing file) and learning starts empty. A loadable baseline is
  // kept: the flag only ever acts on a file tierwatch could not use anyway.
  bool reset_baseline = false;
  // Seams (nullptr = the production implementation).
  SourceFactory source_factory;
  BaselineFactory learner_factory;
  ClassifierFactory watcher_factory;
};

class Daemon {
 public:
  Daemon(LoadedConfig config, DaemonOptions options, const TimeSource& clock);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Loads the baseline, builds source and handlers, starts the threads. An error here is
  // bad input (corrupt or missing baseline, unreadable tier file, ...): nothing was started.
  absl::Status Start();

  // Blocks until a stop is requested, the source ends (captures read, relay gave up), or
  // `timeout` passes. Returns true unless it timed out.
  bool WaitForStop(absl::Duration timeout);
  // Thread-safe; the first reason is kept.
  void RequestStop(const std::string& reason);

  // Re-reads options.config_path and applies it (see the header comment). Returns the
  // validation error when the file was rejected (the running config stays).
  absl::Status Reload();
  absl::Status Apply(LoadedConfig next);

  // Posts a periodic check to the worker (learn -> watch switch, saves, drop release).
  void Tick();
  // Waits until everything posted to the worker so far has run (tests).
  void Sync();

  // Ordered shutdown (idempotent: later calls return the same report).
  RunReport Shutdown();

  // The live report (any thread); the same numbers the shutdown summary prints.
  RunReport Status() const;
  api::Health Liveness() const;
  api::Health Readiness() const;

  config::Mode mode() const;
  Summary summary() const { return Status().summary; }
  metrics::Scope& metrics() { return scope_; }
  const DropRing& recent_drops() const { return ring_; }
  // The live suggestion set (nullptr until Start succeeded).
  const SuggestionHandler* suggestions() const { return built_ ? suggestions_.get() : nullptr; }
  // The baseline as the exported document, made on the worker (it owns the baseline);
  // NotFound without a baseline, Unavailable when the worker does not answer in `timeout`.
  absl::StatusOr<std::string> BaselineDocument(baseline::DocumentFormat format,
                                               absl::Duration timeout) const;
  const TimeSource& clock() const { return clock_; }

 private:
  void TickerLoop();
  void OnSourceEnd(const absl::Status& st);
  void ApplyLogLevel(const std::string& level);
  RunReport BuildReport() const;
  // The config the flow source gets: sharded, the whitelist restricted to this shard's nodes.
  LoadedConfig ForSource(const LoadedConfig& config);
  // Start's steps, in the order it runs them. An error stops Start before any thread runs.
  absl::Status LoadBaseline(const config::DaemonConfig& c);
  absl::Status BuildHandlers(const config::DaemonConfig& c);
  void BuildSources();
  void StartPipeline(const config::DaemonConfig& c);
  void StartSources();
  // Ends starting and applies the reloads that arrived meanwhile.
  void FinishStarting();

  const DaemonOptions options_;
  const TimeSource& clock_;
  flow::SymbolTable symbols_;
  // First: every component below registers its series (and collect hooks) here.
  metrics::Scope scope_;
  prometheus::Counter& reloads_applied_;
  prometheus::Counter& reloads_rejected_;

  mutable absl::Mutex mu_;
  LoadedConfig config_ ABSL_GUARDED_BY(mu_);
  bool starting_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool source_done_ ABSL_GUARDED_BY(mu_) = false;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  bool pending_reload_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<LoadedConfig> pending_apply_ ABSL_GUARDED_BY(mu_);
  std::string stop_reason_ ABSL_GUARDED_BY(mu_);
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
  std::optional<RunReport> report_ ABSL_GUARDED_BY(mu_);

  absl::Time started_at_;
  // Built at Start; the Observer holds the handlers by pointer.
  SummaryHandler summary_;
  FlowMetricsHandler flow_metrics_;
  DropRing ring_;
  std::unique_ptr<DropMetricsHandler> drop_metrics_;
  std::unique_ptr<SuggestionHandler> suggestions_;
  std::unique_ptr<BaselineHandler> learner_;
  std::unique_ptr<FlowHandler> classifier_;
  std::unique_ptr<Observer> observer_;
  std::unique_ptr<ModeController> controller_;
  std::unique_ptr<SourceSupervisor> sources_;
  std::unique_ptr<ShardController> shards_;  // sharded only
  std::atomic<bool> built_{false};           // Start succeeded: the pointers above are set for good
  std::atomic<bool> running_{false};         // Start succeeded and Shutdown has not begun
  std::thread ticker_thread_;
};

// The Daemon as the HTTP API sees it (api/state.h).
class DaemonApiState final : public api::StateView {
 public:
  explicit DaemonApiState(Daemon& daemon, absl::Duration baseline_timeout = absl::Seconds(10))
      : daemon_(daemon), baseline_timeout_(baseline_timeout) {}
  api::Health Liveness() const override { return daemon_.Liveness(); }
  api::Health Readiness() const override { return daemon_.Readiness(); }
  std::string MetricsText() const override { return daemon_.metrics().Render(); }
  nlohmann::json Status() const override;
  std::vector<std::shared_ptr<const classify::Classification>> RecentDrops() const override {
    return daemon_.recent_drops().Snapshot();
  }
  std::shared_ptr<const classify::Classification> FindDrop(absl::string_view id) const override {
    return daemon_.recent_drops().Find(id);
  }
  size_t RecentDropsCapacity() const override { return daemon_.recent_drops().capacity(); }
  std::optional<classify::AggregateSnapshot> Connections() const override;
  absl::StatusOr<std::string> BaselineDocument(baseline::DocumentFormat format) const override {
    return daemon_.BaselineDocument(format, baseline_timeout_);
  }
  api::SuggestionsView Suggestions() const override;
  absl::Time Now() const override { return daemon_.clock().Now(); }

 private:
  Daemon& daemon_;
  absl::Duration baseline_timeout_;
};

}  // namespace tw::app
