#include "app/daemon.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "baseline/persist.h"
#include "common/status_macros.h"
#include "common/time_format.h"
#include "sources/relay/node_lister.h"
#include "spdlog/spdlog.h"

#ifndef TIERWATCH_VERSION
#define TIERWATCH_VERSION "unknown"
#endif

namespace tw::app {

const char* Version() { return TIERWATCH_VERSION; }

namespace {

// The codes persist.h gives a baseline file it cannot load (corrupt or truncated, newer
// version, foreign file); not a missing file, a lock held by another daemon, or permissions,
// which --reset-baseline must not "fix" by moving the file.
bool IsUnloadableBaseline(const absl::Status& st) {
  return st.code() == absl::StatusCode::kDataLoss ||
         st.code() == absl::StatusCode::kFailedPrecondition ||
         st.code() == absl::StatusCode::kInvalidArgument;
}

// Watch mode compares drops against the baseline: a path that names no file is a typo or
// a lost volume, and classifying against nothing would hide every baseline_regression. No
// path at all is allowed, with a warning.
absl::Status CheckWatchBaseline(const config::DaemonConfig& c) {
  if (c.mode != config::Mode::kWatch) return absl::OkStatus();
  if (c.baseline.path.empty()) {
    spdlog::warn(
        "watch mode WITHOUT a baseline: baseline.path is not set, so no drop can be a "
        "baseline_regression (tierwatch_baseline_loaded 0); set baseline.path to a learned "
        "snapshot");
    return absl::OkStatus();
  }
  std::error_code ec;
  if (!std::filesystem::exists(c.baseline.path, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        c.file.empty() ? "" : absl::StrCat(c.file, ": "), "baseline.path: no baseline at ",
        c.baseline.path,
        "; watch mode compares drops against a learned baseline. Learn one first (mode: "
        "learn, or `tierwatch baseline learn --out ",
        c.baseline.path, "`), fix the path, or remove baseline.path to watch without one"));
  }
  return absl::OkStatus();
}

}  // namespace

Daemon::Daemon(LoadedConfig config, DaemonOptions options, const TimeSource& clock)
    : options_(std::move(options)),
      clock_(clock),
      reloads_applied_(scope_.Counter("tierwatch_config_reloads_total",
                                      "Config reloads (SIGHUP), by result: applied, or rejected "
                                      "(invalid file; the running config stays).",
                                      {{"result", "applied"}})),
      reloads_rejected_(scope_.Counter("tierwatch_config_reloads_total",
                                       "Config reloads (SIGHUP), by result: applied, or "
                                       "rejected (invalid file; the running config stays).",
                                       {{"result", "rejected"}})),
      config_(std::move(config)),
      summary_(symbols_),
      flow_metrics_(scope_, clock_),
      ring_(static_cast<size_t>(std::max<int64_t>(0, config_.config.recent_drops))) {
  scope_
      .Gauge("tierwatch_build_info", "Always 1; the version of tierwatch as a label.",
             {{"version", Version()}})
      .Set(1);
}

Daemon::~Daemon() {
  bool started;
  {
    absl::MutexLock lock(&mu_);
    started = started_;
  }
  if (started) Shutdown();
}

absl::Status Daemon::Start() {
  LoadedConfig cfg;
  {
    absl::MutexLock lock(&mu_);
    if (started_ || starting_) return absl::FailedPreconditionError("already started");
    starting_ = true;
    cfg = config_;
  }
  // Whatever happens below, a reload arriving meanwhile waits for the outcome.
  auto fail = [this](absl::Status st) {
    absl::MutexLock lock(&mu_);
    starting_ = false;
    return st;
  };
  const config::DaemonConfig& c = cfg.config;
  started_at_ = clock_.Now();

  if (absl::Status st = CheckWatchBaseline(c); !st.ok()) return fail(st);
  // The learner exists whenever a baseline path is configured: in learn mode it learns, in
  // watch mode it is the baseline the classifier consults (and learning can resume on a
  // reload to mode: learn).
  if (!c.baseline.path.empty()) {
    if (absl::Status st = LoadBaseline(c); !st.ok()) return fail(st);
  }
  if (absl::Status st = BuildHandlers(c); !st.ok()) return fail(st);
  BuildSources();
  if (absl::Status st = sources_->Prepare(ForSource(cfg)); !st.ok()) return fail(st);

  StartPipeline(c);
  StartSources();
  built_ = true;
  running_ = true;
  spdlog::info("daemon started mode={} source=\"{}\" learn_for={} queue_capacity={} overflow={}",
               std::string(config::ModeName(observer_->mode())), sources_->description(),
               tw::FormatDuration(c.learn_for), c.pipeline.queue_capacity,
               std::string(config::OverflowName(c.pipeline.overflow)));
  if (options_.tick_interval > absl::ZeroDuration()) {
    ticker_thread_ = std::thread([this] { TickerLoop(); });
  }
  // A learning period that already ran out while the daemon was down ends now.
  Tick();
  FinishStarting();
  return absl::OkStatus();
}

absl::Status Daemon::LoadBaseline(const config::DaemonConfig& c) {
  BaselineFactory make = options_.learner_factory ? options_.learner_factory : MakeBaselineHandler;
  auto learner = make(c.baseline, symbols_, clock_);
  if (!learner.ok() && options_.reset_baseline && IsUnloadableBaseline(learner.status())) {
    auto aside = baseline::MoveUnreadableAside(c.baseline.path, clock_.Now());
    if (!aside.ok()) return aside.status();
    spdlog::warn(
        "baseline reset (--reset-baseline): the unreadable file was moved aside and learning "
        "starts empty path={} moved_to={} error=\"{}\"",
        c.baseline.path, *aside, std::string(learner.status().message()));
    learner = make(c.baseline, symbols_, clock_);
  }
  if (!learner.ok()) return learner.status();
  learner_ = *std::move(learner);
  if (learner_->read_only() && c.mode == config::Mode::kLearn) {
    return absl::FailedPreconditionError(absl::StrCat(
        c.file.empty() ? "" : absl::StrCat(c.file, ": "), "baseline.path: ", c.baseline.path,
        " is a documented baseline (YAML/JSON), which is read, never written: use mode: "
        "watch with it, or learn into a snapshot path (.twb)"));
  }
  spdlog::info("baseline loaded path={} connections={}{}", learner_->path(),
               learner_->connections(), learner_->read_only() ? " read_only=true" : "");
  if (c.mode == config::Mode::kWatch && learner_->connections() == 0) {
    spdlog::warn(
        "watch mode with an EMPTY baseline path={}: every drop of a connection that "
        "used to work will look like expected_deny",
        learner_->path());
  }
  return absl::OkStatus();
}

absl::Status Daemon::BuildHandlers(const config::DaemonConfig& c) {
  drop_metrics_ = std::make_unique<DropMetricsHandler>(
      scope_, DropMetricsOptions{static_cast<size_t>(c.metrics.max_namespaces)});
  auto suggestions =
      MakeSuggestionHandler(c, symbols_, learner_ ? learner_->baseline() : nullptr, scope_);
  if (!suggestions.ok()) return suggestions.status();
  suggestions_ = *std::move(suggestions);
  ClassifierFactory make_classifier =
      options_.watcher_factory ? options_.watcher_factory : MakeClassifierHandler;
  auto classifier = make_classifier(c, symbols_, learner_ ? learner_->baseline() : nullptr, scope_,
                                    {&ring_, drop_metrics_.get(), suggestions_.get()});
  if (!classifier.ok()) return classifier.status();
  classifier_ = *std::move(classifier);
  return absl::OkStatus();
}

void Daemon::BuildSources() {
  SupervisorOptions so;
  so.captures = options_.captures;
  so.seed = options_.seed;
  so.factory = options_.source_factory;
  sources_ = std::make_unique<SourceSupervisor>(so, symbols_, clock_, scope_);
  if (!options_.shard || !options_.captures.empty()) return;
  // Sharded: ask the relay for its nodes, read only this shard's (app/shard.h). Both
  // callbacks read the config in force when they run, which a reload may have changed.
  scope_.SetConstantLabels({{"shard", std::to_string(options_.shard->index)}});
  ShardOptions sh;
  sh.spec = *options_.shard;
  sh.refresh = options_.shard_refresh;
  sh.list_nodes = [this]() -> absl::StatusOr<std::vector<std::string>> {
    LoadedConfig current;
    {
      absl::MutexLock lock(&mu_);
      current = config_;
    }
    sources::RelayClientOptions ro = RelayClientOptionsFor(current, clock_.Now(), {}, 0);
    auto nodes = sources::ListRelayNodes(ro, ro.connect_timeout);
    if (!nodes.ok()) return nodes.status();
    std::vector<std::string> names;
    for (const auto& n : *nodes) names.push_back(n.name);
    return names;
  };
  sh.apply = [this](const std::vector<std::string>&) {
    LoadedConfig current;
    {
      absl::MutexLock lock(&mu_);
      current = config_;
    }
    if (absl::Status st = sources_->Replace(ForSource(current)); !st.ok()) {
      spdlog::error("shard: cannot resubscribe with the new node list: {}", st.ToString());
    }
  };
  shards_ = std::make_unique<ShardController>(std::move(sh), scope_);
  shards_->Init();
}

void Daemon::StartPipeline(const config::DaemonConfig& c) {
  observer_ = std::make_unique<Observer>(PipelineOptions{
      static_cast<size_t>(c.pipeline.queue_capacity),
      c.pipeline.overflow == config::Overflow::kDrop ? Overflow::kDrop : Overflow::kBlock,
      &scope_});
  controller_ = std::make_unique<ModeController>(
      *observer_, learner_.get(), scope_,
      ModeOptions{c.mode, c.learn_for, c.baseline.save_interval}, started_at_);
  observer_->AddHandler(&summary_, Activity::kAlways);
  observer_->AddHandler(&flow_metrics_, Activity::kAlways);
  if (learner_) observer_->AddHandler(learner_.get(), Activity::kLearn);
  observer_->AddHandler(classifier_.get(), Activity::kWatch);
  observer_->AddHandler(suggestions_.get(), Activity::kAlways);
  observer_->AddHandler(controller_.get(), Activity::kAlways);
  observer_->Start(controller_->initial_mode());
}

void Daemon::StartSources() {
  sources_->Start(
      [this](flow::Event&& ev) {
        // Sharded: events of other shards' nodes (lost events and node status bypass the
        // relay's node_name filter) are counted by their own shard.
        if (shards_ && !shards_->Keep(ev)) return true;
        return observer_->Push(std::move(ev));
      },
      [this](const absl::Status& st) { OnSourceEnd(st); });
  if (shards_) shards_->Start();
}

void Daemon::FinishStarting() {
  bool reload = false;
  std::optional<LoadedConfig> apply;
  {
    absl::MutexLock lock(&mu_);
    starting_ = false;
    started_ = true;
    reload = pending_reload_;
    apply = std::move(pending_apply_);
    pending_reload_ = false;
    pending_apply_.reset();
  }
  // Reloads that arrived while starting, in the order they can be told apart: a config
  // handed in directly, then the file (newer than any in-memory config).
  if (apply) Apply(*std::move(apply)).IgnoreError();
  if (reload) Reload().IgnoreError();
}

LoadedConfig Daemon::ForSource(const LoadedConfig& config) {
  if (!shards_) return config;
  LoadedConfig sharded = config;
  sharded.filters.whitelist = ShardWhitelist(config.filters.whitelist, shards_->nodes(), symbols_);
  return sharded;
}

void Daemon::OnSourceEnd(const absl::Status& st) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return;
  source_done_ = true;
  if (stop_reason_.empty()) stop_reason_ = st.ok() ? "source ended" : "source failed";
  if (!st.ok()) {
    spdlog::error("flow source failed: {}", st.ToString());
    if (first_error_.ok()) first_error_ = st;
  } else {
    spdlog::info("flow source ended");
  }
}

void Daemon::TickerLoop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return shutting_down_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.tick_interval)) return;
    }
    Tick();
  }
}

void Daemon::Tick() {
  if (!running_) return;
  observer_->Tick(clock_.Now());
}

void Daemon::Sync() {
  if (!running_) return;
  observer_->Sync();
}

config::Mode Daemon::mode() const {
  if (built_) return observer_->mode();
  absl::MutexLock lock(&mu_);
  return config_.config.mode;
}

bool Daemon::WaitForStop(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_requested_ || source_done_; };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

void Daemon::RequestStop(const std::string& reason) {
  absl::MutexLock lock(&mu_);
  if (stop_requested_) {
    spdlog::info("stop already requested reason=\"{}\"", stop_reason_);
    return;
  }
  stop_requested_ = true;
  if (stop_reason_.empty()) stop_reason_ = reason;
}

void Daemon::ApplyLogLevel(const std::string& level) {
  if (options_.log_level_from_command_line) return;
  spdlog::default_logger()->set_level(spdlog::level::from_str(level));
}

absl::Status Daemon::Reload() {
  if (options_.config_path.empty()) {
    return absl::FailedPreconditionError("no config file to reload");
  }
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return absl::CancelledError("shutting down");
    if (!started_) {
      // SIGHUP can arrive while Start is still building things (the signal thread exists
      // first): never race it; re-read the file once Start is done.
      pending_reload_ = true;
      spdlog::info("config reload requested before the daemon started; applying it once started");
      return absl::OkStatus();
    }
  }
  config::LoadOptions lo = options_.load_options;
  lo.require_relay_address = options_.captures.empty();
  auto next = LoadDaemonConfig(options_.config_path, lo);
  if (!next.ok()) {
    reloads_rejected_.Increment();
    spdlog::error("config reload rejected, keeping the running config file={} errors:\n{}",
                  options_.config_path, std::string(next.status().message()));
    return next.status();
  }
  return Apply(*std::move(next));
}

absl::Status Daemon::Apply(LoadedConfig next) {
  LoadedConfig prev;
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return absl::CancelledError("shutting down");
    if (!started_) {
      pending_apply_ = std::move(next);
      return absl::OkStatus();
    }
    prev = config_;
  }
  const config::DaemonConfig& p = prev.config;
  const config::DaemonConfig& n = next.config;

  std::vector<std::string> restart_needed;
  if (p.baseline.path != n.baseline.path) restart_needed.push_back("baseline.path");
  if (p.tiers != n.tiers) restart_needed.push_back("tiers");
  if (p.policies != n.policies) restart_needed.push_back("policies");
  if (p.pipeline.queue_capacity != n.pipeline.queue_capacity ||
      p.pipeline.overflow != n.pipeline.overflow) {
    restart_needed.push_back("pipeline");
  }
  if (p.recent_drops != n.recent_drops) restart_needed.push_back("recent_drops");
  if (p.http.listen != n.http.listen) restart_needed.push_back("http.listen");
  if (p.metrics.max_namespaces != n.metrics.max_namespaces) {
    restart_needed.push_back("metrics.max_namespaces");
  }
  if (p.suggestions != n.suggestions) restart_needed.push_back("suggestions");
  if (p.log.json != n.log.json) restart_needed.push_back("log.json");
  if (!restart_needed.empty()) {
    spdlog::warn("config reload: changed keys take effect at the next restart keys={}",
                 absl::StrJoin(restart_needed, ","));
  }
  if (p.log.level != n.log.level) ApplyLogLevel(n.log.level);

  // Relay: a new source, run once the old one has stopped, continuing its stream.
  if (options_.captures.empty() && p.relay != n.relay) {
    if (absl::Status st = sources_->Replace(ForSource(next)); !st.ok()) {
      spdlog::error("config reload: cannot replace the relay source, keeping the old one: {}",
                    st.ToString());
    } else {
      spdlog::info("config reload: relay settings changed, reconnecting address={}",
                   n.relay.address);
    }
  }

  // Mode and timings change on the worker, in order with the events.
  const bool mode_changed = p.mode != n.mode;
  const config::Mode new_mode = n.mode;
  const absl::Duration learn_for = n.learn_for;
  const absl::Duration save_interval = n.baseline.save_interval;
  const absl::Time now = clock_.Now();
  observer_->Post([this, mode_changed, new_mode, learn_for, save_interval, now] {
    controller_->Apply(mode_changed, new_mode, learn_for, save_interval, now);
  });
  {
    absl::MutexLock lock(&mu_);
    config_ = std::move(next);
  }
  reloads_applied_.Increment();
  spdlog::info("config reloaded file={} mode={} learn_for={} log_level={}", n.file,
               std::string(config::ModeName(n.mode)), tw::FormatDuration(n.learn_for), n.log.level);
  return absl::OkStatus();
}

RunReport Daemon::BuildReport() const {
  RunReport r;
  if (!built_) {
    absl::MutexLock lock(&mu_);
    r.mode = config_.config.mode;
    r.stop_reason = stop_reason_;
    return r;
  }
  r.pipeline = observer_->pipeline_stats();
  observer_->Report(&r);
  r.recent_drops_total = ring_.total();
  // The classes only mean something once the daemon has watched.
  if (r.watch && !(r.mode == config::Mode::kWatch || r.switched_to_watch_at)) r.watch.reset();
  if (r.watch) r.watch->recent_total = r.recent_drops_total;
  r.source = sources_->stats();
  r.source_restarts = sources_->restarts();
  r.source_description = sources_->description();
  r.reloads = static_cast<uint64_t>(reloads_applied_.Value());
  r.reload_errors = static_cast<uint64_t>(reloads_rejected_.Value());
  r.uptime = clock_.Now() - started_at_;
  absl::MutexLock lock(&mu_);
  r.stop_reason = stop_reason_;
  r.status = first_error_;
  return r;
}

RunReport Daemon::Status() const {
  {
    absl::MutexLock lock(&mu_);
    if (report_) return *report_;
  }
  return BuildReport();
}

api::Health Daemon::Liveness() const {
  if (!running_) {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return {true, "shutting down"};
    return {true, "starting"};
  }
  // The worker runs a tick about every second; when none ran for stall_timeout it is stuck
  // (a restart is the remedy the kubelet can offer).
  const absl::Time now = clock_.Now();
  const absl::Time last = std::max(observer_->last_tick(), started_at_);
  if (options_.tick_interval > absl::ZeroDuration() && now - last > options_.stall_timeout) {
    return {false, absl::StrCat("the analysis worker has not run a tick for ",
                                tw::FormatDuration(now - last), " (queue depth ",
                                observer_->pipeline_stats().depth, ")")};
  }
  return {true, ""};
}

api::Health Daemon::Readiness() const {
  if (!running_) {
    absl::MutexLock lock(&mu_);
    return {false, shutting_down_ ? "shutting down" : "starting (loading the baseline)"};
  }
  if (!sources_->ready()) {
    return {false,
            absl::StrCat("waiting for the first response from the ", sources_->description())};
  }
  return {true, ""};
}

absl::StatusOr<std::string> Daemon::BaselineDocument(baseline::DocumentFormat format,
                                                     absl::Duration timeout) const {
  if (!running_) return absl::UnavailableError("the daemon is not running");
  if (!learner_) {
    return absl::NotFoundError("no baseline: baseline.path is not set in the daemon's config");
  }
  // The baseline belongs to the worker (learn mode writes it): export it there. The state
  // is shared so that a late answer after a timeout writes into something still alive.
  struct Pending {
    absl::Notification done;
    absl::StatusOr<std::string> doc = absl::UnavailableError("not produced");
  };
  auto pending = std::make_shared<Pending>();
  BaselineHandler* learner = learner_.get();
  const bool posted = observer_->Post([pending, learner, format] {
    const baseline::Baseline* b = learner->baseline();
    pending->doc = b ? absl::StatusOr<std::string>(baseline::ExportBaselineDocument(*b, format))
                     : absl::StatusOr<std::string>(
                           absl::NotFoundError("this daemon keeps no exportable baseline"));
    pending->done.Notify();
  });
  if (!posted) return absl::UnavailableError("the daemon is shutting down");
  if (!pending->done.WaitForNotificationWithTimeout(timeout)) {
    return absl::UnavailableError(
        absl::StrCat("the analysis worker did not export the baseline within ",
                     tw::FormatDuration(timeout), " (it is busy; try again)"));
  }
  return pending->doc;
}

RunReport Daemon::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (report_) return *report_;
    shutting_down_ = true;
    if (stop_reason_.empty()) stop_reason_ = "shutdown";
    if (!started_) {
      RunReport r;
      r.stop_reason = "not started";
      report_ = r;
      return r;
    }
  }
  running_ = false;
  spdlog::info("shutting down: stopping the flow source");
  if (ticker_thread_.joinable()) ticker_thread_.join();
  if (shards_) shards_->Stop();  // no resubscription while the source stops
  sources_->Stop();
  spdlog::info("shutting down: draining the pipeline depth={}", observer_->pipeline_stats().depth);
  observer_->Stop();  // drains, then flushes the active handlers

  // The worker has stopped: its state is ours now.
  const absl::Time now = clock_.Now();
  const bool final_save_ok = controller_->FinalSave(now);

  RunReport r = BuildReport();
  if (r.status.ok() && !final_save_ok) {
    r.status =
        absl::InternalError(absl::StrCat("the final baseline save to ", learner_->path(),
                                         " failed (see the log); the previous snapshot is intact"));
  }
  {
    absl::MutexLock lock(&mu_);
    report_ = r;
  }
  spdlog::info(
      "daemon stopped reason=\"{}\" mode={} events={} flows={} lost_events={} dropped_overflow={} "
      "baseline_connections={}",
      r.stop_reason, std::string(config::ModeName(r.mode)), r.summary.events, r.summary.flows,
      r.summary.lost_events, r.pipeline.dropped, r.baseline ? r.baseline->connections : 0);
  return r;
}

// --- the API's view --------------------------------------------------------------------

nlohmann::json DaemonApiState::Status() const {
  RunReport r = daemon_.Status();
  nlohmann::json j = RenderRunJson(r);
  api::Health ready = daemon_.Readiness();
  j["version"] = Version();
  j["ready"] = ready.ok;
  if (!ready.ok) j["not_ready_reason"] = ready.reason;
  j["now"] = FormatRfc3339(daemon_.clock().Now());
  return j;
}

api::SuggestionsView DaemonApiState::Suggestions() const {
  const SuggestionHandler* s = daemon_.suggestions();
  if (s == nullptr) {
    api::SuggestionsView v;
    v.reason = "the daemon is starting";
    return v;
  }
  api::SuggestionsView v = s->View();
  if (daemon_.mode() == config::Mode::kLearn) {
    v.note =
        "learn mode: drops are classified, and their connections kept for suggestions, in "
        "watch mode only";
  }
  return v;
}

std::optional<classify::AggregateSnapshot> DaemonApiState::Connections() const {
  RunReport r = daemon_.Status();
  if (!r.watch) return std::nullopt;
  return std::move(r.watch->counts);
}

}  // namespace tw::app
