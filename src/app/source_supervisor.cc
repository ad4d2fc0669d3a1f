#include "app/source_supervisor.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sources/capture/capture_reader.h"
#include "spdlog/spdlog.h"

namespace tw::app {

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

}  // namespace

std::string DescribeSource(const LoadedConfig& cfg, const std::vector<std::string>& captures) {
  if (!captures.empty()) return absl::StrCat("capture ", absl::StrJoin(captures, " "));
  return absl::StrCat("relay ", cfg.config.relay.address,
                      cfg.config.relay.tls.enabled ? " (TLS)" : "");
}

SourceSupervisor::SourceSupervisor(SupervisorOptions options, flow::SymbolTable& symbols,
                                   const TimeSource& clock, metrics::Scope& scope)
    : options_(std::move(options)),
      symbols_(symbols),
      clock_(clock),
      connected_(scope.Gauge("tierwatch_relay_connected",
                             "1 while the GetFlows stream to Hubble Relay is open; 0 while "
                             "tierwatch reconnects (it retries forever, with backoff).")),
      reconnects_(scope.Counter("tierwatch_relay_reconnects_total",
                                "Times the relay stream broke or a connection attempt failed "
                                "(each is followed by a reconnect after a backoff).")),
      duplicates_(scope.Counter("tierwatch_source_duplicates_total",
                                "Flows dropped as already delivered when a stream resumed "
                                "(de-duplicated by uuid).")),
      malformed_(scope.Counter("tierwatch_source_malformed_total",
                               "Capture lines that could not be read as flows (skipped).")),
      restarts_counter_(scope.Counter("tierwatch_source_restarts_total",
                                      "Flow sources replaced because a config reload changed "
                                      "the relay section.")) {
  hook_ = scope.AddCollectHook([this] { Bridge(); });
}

SourceSupervisor::~SourceSupervisor() {
  hook_.Reset();
  Stop();
}

absl::StatusOr<SourceSupervisor::Running> SourceSupervisor::Make(const LoadedConfig& cfg) {
  Running r;
  if (options_.factory) {
    auto src = options_.factory(cfg, symbols_);
    if (!src.ok()) return src.status();
    r.source = *std::move(src);
    return r;
  }
  if (!options_.captures.empty()) {
    r.source = std::make_shared<sources::CaptureReader>(options_.captures, symbols_);
    return r;
  }
  sources::RelayClientOptions relay =
      RelayClientOptionsFor(cfg, clock_.Now(), std::nullopt, options_.seed);
  // Unreadable certificate files are bad input, found now rather than by the stream thread.
  if (auto creds = sources::MakeRelayCredentials(relay.tls); !creds.ok()) {
    return absl::Status(creds.status().code(),
                        absl::StrCat("relay.tls: ", creds.status().message()));
  }
  if (!resume_) {
    resume_ =
        std::make_shared<sources::RelayResumeState>(relay.resume_window, relay.dedupe_capacity);
  }
  relay.resume = resume_;
  auto client = std::make_shared<sources::RelayClient>(std::move(relay), symbols_);
  r.relay = client.get();
  r.source = std::move(client);
  return r;
}

absl::Status SourceSupervisor::Prepare(const LoadedConfig& cfg) {
  auto r = Make(cfg);
  if (!r.ok()) return r.status();
  absl::MutexLock lock(&mu_);
  current_ = *std::move(r);
  description_ = DescribeSource(cfg, options_.captures);
  return absl::OkStatus();
}

void SourceSupervisor::Start(std::function<bool(flow::Event&&)> deliver,
                             std::function<void(const absl::Status&)> on_end) {
  deliver_ = std::move(deliver);
  on_end_ = std::move(on_end);
  // Captures are open as soon as they are read; a relay is ready when it answered.
  if (!options_.captures.empty() && !options_.factory) ready_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void SourceSupervisor::Loop() {
  for (;;) {
    Running run;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      run = current_;
    }
    absl::Status st = run.source->Run([this](flow::Event&& ev) {
      if (!ready_.load(std::memory_order_relaxed)) ready_ = true;
      return deliver_(std::move(ev));
    });
    {
      absl::MutexLock lock(&mu_);
      if (next_.source && !stopping_) {
        // A reload replaced the source: the old one was stopped on purpose and has returned;
        // only now may the new one deliver.
        AddStats(current_.source->stats(), &retired_);
        current_ = std::move(next_);
        next_ = Running{};
        description_ = next_description_;
        ++restarts_;
        continue;
      }
      if (stopping_) return;
      ended_ = true;
    }
    if (on_end_) on_end_(st);
    return;
  }
}

absl::Status SourceSupervisor::Replace(const LoadedConfig& cfg) {
  auto r = Make(cfg);
  if (!r.ok()) return r.status();
  std::shared_ptr<sources::FlowSource> old;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || ended_) {
      return absl::FailedPreconditionError("the flow source has already stopped");
    }
    next_ = *std::move(r);
    next_description_ = DescribeSource(cfg, options_.captures);
    old = current_.source;
  }
  old->Stop();
  return absl::OkStatus();
}

void SourceSupervisor::Stop() {
  std::vector<std::shared_ptr<sources::FlowSource>> stop;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (current_.source) stop.push_back(current_.source);
    if (next_.source) stop.push_back(next_.source);
  }
  for (auto& s : stop) s->Stop();
  if (thread_.joinable()) thread_.join();
}

std::string SourceSupervisor::description() const {
  absl::MutexLock lock(&mu_);
  return description_;
}

sources::SourceStats SourceSupervisor::stats() const {
  absl::MutexLock lock(&mu_);
  sources::SourceStats total = retired_;
  if (current_.source) AddStats(current_.source->stats(), &total);
  return total;
}

uint64_t SourceSupervisor::restarts() const {
  absl::MutexLock lock(&mu_);
  return restarts_;
}

bool SourceSupervisor::connected() const {
  absl::MutexLock lock(&mu_);
  return current_.relay != nullptr && current_.relay->connected();
}

bool SourceSupervisor::ready() const {
  if (ready_.load()) return true;
  // Latched: once the relay answered, a later outage shows in tierwatch_relay_connected, not
  // in readiness (an unready pod would not even be scraped).
  if (connected()) ready_ = true;
  return ready_.load();
}

void SourceSupervisor::Bridge() {
  const sources::SourceStats s = stats();
  connected_.Set(connected() ? 1 : 0);
  metrics::AdvanceTo(reconnects_, static_cast<double>(s.reconnects));
  metrics::AdvanceTo(duplicates_, static_cast<double>(s.duplicates));
  metrics::AdvanceTo(malformed_, static_cast<double>(s.malformed));
  metrics::AdvanceTo(restarts_counter_, static_cast<double>(restarts()));
}

}  // namespace tw::app
