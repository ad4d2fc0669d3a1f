// Daemon: the composition root of `tierwatch run`. It builds the flow source (Hubble Relay,
// or capture files), the pipeline and the sinks from the config, runs the threads, switches
// from learning to watching, reloads its config, and shuts down in order.
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
// Sinks, in order on the worker: the run summary (counts by verdict, namespace, drop
// reason, ...), the recent drops ring, then the mode's analysis — the baseline learner in
// learn mode, the drop classifier (tier model, baseline, policies) in watch mode. Both are
// built at Start in either mode, so a bad snapshot, tier file or policy set fails the start.
//
// Threads: the source thread (reads the relay stream or captures and pushes into the
// pipeline), the pipeline worker (runs every sink, the mode switch and baseline saves, in
// event order), and a ticker that every `tick_interval` posts a tick to the worker. Tests
// set tick_interval to zero and call Tick() themselves after moving a ManualTimeSource.
//
// Learn -> watch: after `learn_for` on the injected TimeSource (the wall clock in
// production), counted from when learning started as recorded in the baseline snapshot, so
// a restart does not restart the learning period. Wall clock rather than flow time: flow
// time from a live relay is the wall clock anyway, and a replayed old capture must neither
// end learning at once nor never.
//
// Shutdown order: stop the ticker; stop the source and join its thread; close the pipeline
// and let the worker drain every queued event; save the baseline (learn mode); report.
//
// Reload (SIGHUP): the file is re-read and validated; an invalid file is logged and the
// running config kept. Applied live: mode and learn_for (only when the file's value
// changed, so a daemon that switched to watch by itself stays there), baseline
// save_interval, log.level, and the relay section (reconnect, resuming where the stream
// left off). Other changes are logged as needing a restart.
#pragma once

#include <atomic>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "app/analysis.h"
#include "app/daemon_config.h"
#include "app/pipeline.h"
#include "app/recent_drops.h"
#include "app/summary.h"
#include "common/time_source.h"
#include "config/config.h"
#include "flow/symbol.h"
#include "sources/source.h"

namespace tw::app {

// Builds the flow source: by default a RelayClient from config.relay and the filters.
using SourceFactory = std::function<absl::StatusOr<std::unique_ptr<sources::FlowSource>>(
    const LoadedConfig& config, flow::SymbolTable& symbols)>;

struct DaemonOptions {
  // The file to re-read on Reload() ("" = reload impossible).
  std::string config_path;
  // Read these captures instead of the relay; the daemon ends when they are read.
  std::vector<std::string> captures;
  absl::Duration tick_interval = absl::Seconds(1);  // zero: no ticker thread
  // `--log-level` was given on the command line: config log.level must not override it.
  bool log_level_from_command_line = false;
  uint64_t seed = 0;  // relay reconnect jitter
  // Seams (nullptr = the production implementation).
  SourceFactory source_factory;
  LearnerFactory learner_factory;
  WatcherFactory watcher_factory;
};

struct BaselineReport {
  std::string path;
  size_t connections = 0;
  uint64_t saves = 0;
  uint64_t save_errors = 0;
  std::optional<absl::Time> learning_started;
};

struct RunReport {
  Summary summary;
  PipelineStats pipeline;
  sources::SourceStats source;               // summed over reconnections/restarts of the source
  std::string source_description;            // "relay 127.0.0.1:4245" or "capture a.jsonl b.jsonl"
  config::Mode mode = config::Mode::kLearn;  // at exit
  std::optional<absl::Time> switched_to_watch_at;
  std::optional<BaselineReport> baseline;  // when a learner existed
  uint64_t recent_drops_total = 0;
  // What watch mode classified (when the daemon watched at some point).
  std::optional<WatchReport> watch;
  uint64_t reloads = 0;          // configs applied
  uint64_t reload_errors = 0;    // configs rejected
  uint64_t source_restarts = 0;  // reconnects caused by reloads
  absl::Duration uptime;
  std::string stop_reason;  // "duration", "SIGTERM", "source ended", ...
  // The first runtime error (source failure, failed final save); OK on a clean run.
  absl::Status status;
};

class Daemon {
 public:
  Daemon(LoadedConfig config, DaemonOptions options, const TimeSource& clock);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Loads the baseline, builds source and sinks, starts the threads. An error here is bad
  // input (corrupt baseline, unreadable tier file, ...): nothing was started.
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

  // Posts a periodic check to the worker: learn -> watch switch, periodic baseline save.
  void Tick();
  // Waits until everything posted to the worker so far has run (tests).
  void Sync();

  // Ordered shutdown (idempotent: later calls return the same report).
  RunReport Shutdown();

  config::Mode mode() const { return mode_.load(); }
  Summary summary() const { return summary_.Snapshot(); }
  const RecentDrops& recent_drops() const { return recent_; }

 private:
  class Router;  // the FlowSink that routes events to the learner or the watcher
  // `resume`: where a reconnect caused by a reload continues (nullopt: config.relay.backlog).
  absl::StatusOr<std::unique_ptr<sources::FlowSource>> MakeSource(const LoadedConfig& cfg,
                                                                  std::optional<absl::Time> resume);
  void SourceLoop();
  void TickerLoop();
  // Worker-thread operations.
  void OnTick(absl::Time now);
  void SwitchToWatch(absl::Time now, const std::string& why);
  void SwitchToLearn(absl::Time now);
  bool SaveBaseline(absl::Time now);  // false when the save failed (logged, counted)
  void ApplyLogLevel(const std::string& level);

  const DaemonOptions options_;
  const TimeSource& clock_;
  flow::SymbolTable symbols_;

  // Written by Apply (from the signal thread) under mu_; worker-side copies below.
  mutable absl::Mutex mu_;
  LoadedConfig config_ ABSL_GUARDED_BY(mu_);
  bool started_ = false;
  bool stop_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool source_done_ ABSL_GUARDED_BY(mu_) = false;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::string stop_reason_ ABSL_GUARDED_BY(mu_);
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<sources::FlowSource> source_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<sources::FlowSource> next_source_ ABSL_GUARDED_BY(mu_);
  sources::SourceStats retired_stats_ ABSL_GUARDED_BY(mu_);
  uint64_t reloads_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t reload_errors_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t source_restarts_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<RunReport> report_ ABSL_GUARDED_BY(mu_);

  // Worker-owned state (touched only on the pipeline worker, or after it stopped).
  std::unique_ptr<Learner> learner_;
  std::unique_ptr<Watcher> watcher_;
  config::Mode worker_mode_ = config::Mode::kLearn;
  absl::Duration learn_for_;
  absl::Duration save_interval_;
  absl::Time learning_started_;
  absl::Time last_save_;
  uint64_t saves_ = 0;
  uint64_t save_errors_ = 0;
  std::optional<absl::Time> switched_to_watch_at_;

  std::atomic<config::Mode> mode_{config::Mode::kLearn};
  // Newest flow time the source delivered (unix ns), for reconnects after a reload.
  std::atomic<int64_t> last_flow_ns_{std::numeric_limits<int64_t>::min()};
  absl::Time started_at_;
  SummarySink summary_;
  RecentDrops recent_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<Pipeline> pipeline_;
  std::thread source_thread_;
  std::thread ticker_thread_;
};

}  // namespace tw::app
