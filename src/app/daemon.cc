#include "app/daemon.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "app/baseline_learner.h"
#include "app/classifier_watcher.h"
#include "common/status_macros.h"
#include "common/time_format.h"
#include "sources/capture/capture_reader.h"
#include "sources/relay/relay_client.h"
#include "spdlog/spdlog.h"

namespace tw::app {

// Routes each event to the analysis of the current mode. Lives on the worker, like the
// learner and watcher it points to.
class Daemon::Router final : public FlowSink {
 public:
  explicit Router(Daemon& d) : d_(d) {}
  void OnEvent(const flow::Event& ev) override {
    if (d_.worker_mode_ == config::Mode::kLearn) {
      if (d_.learner_) d_.learner_->OnEvent(ev);
    } else if (d_.watcher_) {
      d_.watcher_->OnEvent(ev);
    }
  }

 private:
  Daemon& d_;
};

namespace {

void AddStats(const sources::SourceStats& s, sources::SourceStats* total) {
  total->events += s.events;
  total->flows += s.flows;
  total->node_status_events += s.node_status_events;
  total->malformed += s.malformed;
  total->duplicates += s.duplicates;
  total->reconnects += s.reconnects;
  for (const auto& [k, v] : s.lost_by_source) total->lost_by_source[k] += v;
}

std::string DescribeSource(const LoadedConfig& cfg, const std::vector<std::string>& captures) {
  if (!captures.empty()) return absl::StrCat("capture ", absl::StrJoin(captures, " "));
  return absl::StrCat("relay ", cfg.config.relay.address,
                      cfg.config.relay.tls.enabled ? " (TLS)" : "");
}

}  // namespace

Daemon::Daemon(LoadedConfig config, DaemonOptions options, const TimeSource& clock)
    : options_(std::move(options)),
      clock_(clock),
      config_(std::move(config)),
      summary_(symbols_),
      recent_(static_cast<size_t>(config_.config.recent_drops)) {}

Daemon::~Daemon() {
  if (started_) Shutdown();
}

absl::StatusOr<std::unique_ptr<sources::FlowSource>> Daemon::MakeSource(
    const LoadedConfig& cfg, std::optional<absl::Time> resume) {
  if (options_.source_factory) return options_.source_factory(cfg, symbols_);
  if (!options_.captures.empty()) {
    return std::unique_ptr<sources::FlowSource>(
        std::make_unique<sources::CaptureReader>(options_.captures, symbols_));
  }
  sources::RelayClientOptions relay =
      RelayClientOptionsFor(cfg, clock_.Now(), resume, options_.seed);
  // Unreadable certificate files are bad input, found now rather than by the stream thread.
  if (auto creds = sources::MakeRelayCredentials(relay.tls); !creds.ok()) {
    return absl::Status(creds.status().code(),
                        absl::StrCat("relay.tls: ", creds.status().message()));
  }
  return std::unique_ptr<sources::FlowSource>(
      std::make_unique<sources::RelayClient>(std::move(relay), symbols_));
}

absl::Status Daemon::Start() {
  LoadedConfig cfg;
  {
    absl::MutexLock lock(&mu_);
    cfg = config_;
  }
  const config::DaemonConfig& c = cfg.config;
  started_at_ = clock_.Now();
  worker_mode_ = c.mode;
  mode_ = c.mode;
  learn_for_ = c.learn_for;
  save_interval_ = c.baseline.save_interval;

  // The learner exists whenever a baseline path is configured: in learn mode it learns, in
  // watch mode it is the baseline the classifier consults (and learning can resume on a
  // reload to mode: learn).
  if (!c.baseline.path.empty()) {
    LearnerFactory make = options_.learner_factory;
    if (!make) {
      make = [](const config::BaselineConfig& o, flow::SymbolTable& s,
                const TimeSource& clk) -> absl::StatusOr<std::unique_ptr<Learner>> {
        TW_ASSIGN_OR_RETURN(auto l, MakeBaselineLearner(o, s, clk));
        return std::unique_ptr<Learner>(std::move(l));
      };
    }
    auto learner = make(c.baseline, symbols_, clock_);
    if (!learner.ok()) return learner.status();
    learner_ = *std::move(learner);
    const absl::Time now = clock_.Now();
    if (auto since = learner_->learning_started()) {
      learning_started_ = *since;
    } else {
      learning_started_ = now;
      if (worker_mode_ == config::Mode::kLearn) learner_->StartLearning(now);
    }
    last_save_ = now;
    spdlog::info("baseline loaded path={} connections={} learning_started={}", learner_->path(),
                 learner_->connections(), FormatRfc3339(learning_started_));
  }
  // Built in both modes so that a bad tier file or policy set fails the start, not the
  // switch to watch a week later.
  WatcherFactory make_watcher = options_.watcher_factory;
  if (!make_watcher) {
    make_watcher = [](const config::DaemonConfig& cfg, flow::SymbolTable& s,
                      const Learner* learner) -> absl::StatusOr<std::unique_ptr<Watcher>> {
      const auto* bl = dynamic_cast<const BaselineLearner*>(learner);
      TW_ASSIGN_OR_RETURN(auto w, MakeClassifierWatcher(cfg, s, bl ? &bl->baseline() : nullptr));
      return std::unique_ptr<Watcher>(std::move(w));
    };
  }
  auto watcher = make_watcher(c, symbols_, learner_.get());
  if (!watcher.ok()) return watcher.status();
  watcher_ = *std::move(watcher);

  auto source = MakeSource(cfg, std::nullopt);
  if (!source.ok()) return source.status();

  router_ = std::make_unique<Router>(*this);
  pipeline_ = std::make_unique<Pipeline>(PipelineOptions{
      static_cast<size_t>(c.pipeline.queue_capacity),
      c.pipeline.overflow == config::Overflow::kDrop ? Overflow::kDrop : Overflow::kBlock});
  pipeline_->AddSink(&summary_);
  pipeline_->AddSink(&recent_);
  pipeline_->AddSink(router_.get());
  pipeline_->Start();
  {
    absl::MutexLock lock(&mu_);
    source_ = *std::move(source);
  }
  started_ = true;
  spdlog::info("daemon started mode={} source=\"{}\" learn_for={} queue_capacity={} overflow={}",
               std::string(config::ModeName(c.mode)), DescribeSource(cfg, options_.captures),
               tw::FormatDuration(c.learn_for), c.pipeline.queue_capacity,
               std::string(config::OverflowName(c.pipeline.overflow)));
  source_thread_ = std::thread([this] { SourceLoop(); });
  if (options_.tick_interval > absl::ZeroDuration()) {
    ticker_thread_ = std::thread([this] { TickerLoop(); });
  }
  // A learning period that already ran out while the daemon was down ends now.
  Tick();
  return absl::OkStatus();
}

void Daemon::SourceLoop() {
  for (;;) {
    std::shared_ptr<sources::FlowSource> src;
    {
      absl::MutexLock lock(&mu_);
      if (shutting_down_) break;
      src = source_;
    }
    absl::Status st = src->Run([this](flow::Event&& ev) {
      if (ev.flow) {
        const int64_t t = absl::ToUnixNanos(ev.flow->time);
        if (t > last_flow_ns_.load(std::memory_order_relaxed)) {
          last_flow_ns_.store(t, std::memory_order_relaxed);
        }
      }
      return pipeline_->Push(std::move(ev));
    });
    absl::MutexLock lock(&mu_);
    if (next_source_ && !shutting_down_) {
      // A reload replaced the source: it was stopped on purpose; carry on with the new one.
      AddStats(src->stats(), &retired_stats_);
      source_ = std::move(next_source_);
      ++source_restarts_;
      continue;
    }
    if (!shutting_down_) {
      source_done_ = true;
      if (stop_reason_.empty()) stop_reason_ = st.ok() ? "source ended" : "source failed";
      if (!st.ok()) {
        spdlog::error("flow source failed: {}", st.ToString());
        if (first_error_.ok()) first_error_ = st;
      } else {
        spdlog::info("flow source ended");
      }
    }
    break;
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
  if (!pipeline_) return;
  const absl::Time now = clock_.Now();
  pipeline_->Post([this, now] { OnTick(now); });
}

void Daemon::Sync() {
  if (!pipeline_) return;
  absl::Notification done;
  if (pipeline_->Post([&done] { done.Notify(); })) done.WaitForNotification();
}

void Daemon::OnTick(absl::Time now) {
  if (worker_mode_ == config::Mode::kWatch && watcher_) watcher_->OnTick(now);
  if (worker_mode_ != config::Mode::kLearn || !learner_) return;
  if (now - learning_started_ >= learn_for_) {
    SwitchToWatch(now, absl::StrCat("learned for ", tw::FormatDuration(learn_for_)));
  } else if (now - last_save_ >= save_interval_) {
    SaveBaseline(now);
  }
}

bool Daemon::SaveBaseline(absl::Time now) {
  if (!learner_) return true;
  last_save_ = now;
  absl::Status st = learner_->Save(now);
  if (st.ok()) {
    ++saves_;
    spdlog::info("baseline saved path={} connections={}", learner_->path(),
                 learner_->connections());
    return true;
  } else {
    ++save_errors_;
    // Survived: the previous snapshot is intact and the next interval tries again.
    spdlog::error("baseline save failed path={} error=\"{}\"", learner_->path(),
                  std::string(st.message()));
  }
  return false;
}

void Daemon::SwitchToWatch(absl::Time now, const std::string& why) {
  if (worker_mode_ == config::Mode::kWatch) return;
  // The baseline as learned is what watch mode compares against: persist it first.
  SaveBaseline(now);
  worker_mode_ = config::Mode::kWatch;
  mode_ = config::Mode::kWatch;
  switched_to_watch_at_ = now;
  spdlog::info("mode switched from=learn to=watch reason=\"{}\" connections={}", why,
               learner_ ? learner_->connections() : 0);
}

void Daemon::SwitchToLearn(absl::Time now) {
  if (worker_mode_ == config::Mode::kLearn) return;
  worker_mode_ = config::Mode::kLearn;
  mode_ = config::Mode::kLearn;
  learning_started_ = now;
  last_save_ = now;
  if (learner_) learner_->StartLearning(now);
  spdlog::info("mode switched from=watch to=learn reason=reload learn_for={}",
               tw::FormatDuration(learn_for_));
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
  config::LoadOptions lo;
  lo.require_relay_address = options_.captures.empty();
  auto next = LoadDaemonConfig(options_.config_path, lo);
  if (!next.ok()) {
    {
      absl::MutexLock lock(&mu_);
      ++reload_errors_;
    }
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
  if (p.log.json != n.log.json) restart_needed.push_back("log.json");
  if (!restart_needed.empty()) {
    spdlog::warn("config reload: changed keys take effect at the next restart keys={}",
                 absl::StrJoin(restart_needed, ","));
  }
  if (n.mode == config::Mode::kLearn && !learner_) {
    // Learning needs a baseline to learn into; the path cannot change live.
    spdlog::error("config reload: mode learn needs baseline.path set at start; keeping mode");
  }
  if (p.log.level != n.log.level) ApplyLogLevel(n.log.level);

  // Relay: a new source, swapped in by the source thread when the old one returns.
  bool reconnect = options_.captures.empty() && p.relay != n.relay;
  std::shared_ptr<sources::FlowSource> old;
  if (reconnect) {
    // The new connection continues at the newest flow already read (flows sharing that
    // timestamp may repeat once) rather than at the configured backlog.
    std::optional<absl::Time> resume;
    const int64_t last = last_flow_ns_.load();
    if (last > std::numeric_limits<int64_t>::min()) resume = absl::FromUnixNanos(last);
    auto src = MakeSource(next, resume);
    if (!src.ok()) {
      spdlog::error("config reload: cannot build the new relay source, keeping the old one: {}",
                    src.status().ToString());
      reconnect = false;
    } else {
      absl::MutexLock lock(&mu_);
      if (!shutting_down_ && !source_done_) {
        next_source_ = *std::move(src);
        old = source_;
      }
    }
  }

  // Mode and timings change on the worker, in order with the events.
  const bool mode_changed = p.mode != n.mode;
  const config::Mode new_mode = n.mode;
  const absl::Duration learn_for = n.learn_for;
  const absl::Duration save_interval = n.baseline.save_interval;
  const absl::Time now = clock_.Now();
  if (pipeline_) {
    pipeline_->Post([this, mode_changed, new_mode, learn_for, save_interval, now] {
      learn_for_ = learn_for;
      save_interval_ = save_interval;
      if (mode_changed) {
        if (new_mode == config::Mode::kWatch) {
          SwitchToWatch(now, "config reload");
        } else if (learner_) {
          SwitchToLearn(now);
        }
      }
      OnTick(now);  // a shorter learn_for may already be over
    });
  }
  {
    absl::MutexLock lock(&mu_);
    config_ = std::move(next);
    ++reloads_;
  }
  if (old) {
    spdlog::info("config reload: relay settings changed, reconnecting address={}", n.relay.address);
    old->Stop();
  }
  spdlog::info("config reloaded file={} mode={} learn_for={} log_level={}", n.file,
               std::string(config::ModeName(n.mode)), tw::FormatDuration(n.learn_for), n.log.level);
  return absl::OkStatus();
}

RunReport Daemon::Shutdown() {
  std::shared_ptr<sources::FlowSource> src;
  {
    absl::MutexLock lock(&mu_);
    if (report_) return *report_;
    shutting_down_ = true;
    if (stop_reason_.empty()) stop_reason_ = "shutdown";
    src = source_;
  }
  if (!started_) {
    RunReport r;
    r.stop_reason = "not started";
    absl::MutexLock lock(&mu_);
    report_ = r;
    return r;
  }
  spdlog::info("shutting down: stopping the flow source");
  if (ticker_thread_.joinable()) ticker_thread_.join();
  if (src) src->Stop();
  {
    // A reload may have swapped sources concurrently; stop whatever is current too.
    absl::MutexLock lock(&mu_);
    if (source_ && source_ != src) source_->Stop();
    if (next_source_) next_source_->Stop();
  }
  if (source_thread_.joinable()) source_thread_.join();
  spdlog::info("shutting down: draining the pipeline depth={}", pipeline_->stats().depth);
  pipeline_->Close();
  pipeline_->Join();

  // The worker has stopped: its state is ours now.
  const absl::Time now = clock_.Now();
  const bool final_save_ok =
      !(learner_ && worker_mode_ == config::Mode::kLearn) || SaveBaseline(now);
  if (watcher_) watcher_->Flush();

  RunReport r;
  r.summary = summary_.Snapshot();
  r.pipeline = pipeline_->stats();
  r.mode = worker_mode_;
  r.switched_to_watch_at = switched_to_watch_at_;
  r.recent_drops_total = recent_.total();
  if (watcher_ && (worker_mode_ == config::Mode::kWatch || switched_to_watch_at_)) {
    r.watch = watcher_->Report();
  }
  r.uptime = now - started_at_;
  if (learner_) {
    BaselineReport b;
    b.path = learner_->path();
    b.connections = learner_->connections();
    b.saves = saves_;
    b.save_errors = save_errors_;
    b.learning_started = learning_started_;
    r.baseline = b;
  }
  {
    absl::MutexLock lock(&mu_);
    r.source = retired_stats_;
    if (source_) AddStats(source_->stats(), &r.source);
    r.source_description = DescribeSource(config_, options_.captures);
    r.reloads = reloads_;
    r.reload_errors = reload_errors_;
    r.source_restarts = source_restarts_;
    r.stop_reason = stop_reason_;
    r.status = first_error_;
    if (r.status.ok() && !final_save_ok) {
      r.status = absl::InternalError(
          absl::StrCat("the final baseline save to ", learner_->path(),
                       " failed (see the log); the previous snapshot is intact"));
    }
    report_ = r;
  }
  spdlog::info(
      "daemon stopped reason=\"{}\" mode={} events={} flows={} lost_events={} dropped_overflow={} "
      "baseline_connections={}",
      r.stop_reason, std::string(config::ModeName(r.mode)), r.summary.events, r.summary.flows,
      r.summary.lost_events, r.pipeline.dropped, r.baseline ? r.baseline->connections : 0);
  return r;
}

}  // namespace tw::app
