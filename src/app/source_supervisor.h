// SourceSupervisor: owns the flow source (Hubble Relay or captures) and the thread that
// runs it, and replaces it when a config reload changes the relay section — without
// delivering a flow twice or losing one: the old stream is stopped and has returned before
// the new one delivers anything, and the new RelayClient continues the old one's stream
// (RelayResumeState: newest flow time minus relay.resume_window, de-duplicated by uuid),
// exactly as a reconnect of one client does.
//
//   tw::app::SourceSupervisor sources({.captures = {}, .seed = 1}, symbols, clock, scope);
//   TW_RETURN_IF_ERROR(sources.Prepare(config));   // bad TLS files etc.: nothing started
//   sources.Start([&](tw::flow::Event&& ev) { return observer.Push(std::move(ev)); },
//                 [&](absl::Status st) { /* the source ended by itself */ });
//   sources.Replace(reloaded_config);               // SIGHUP with a changed relay section
//   sources.Stop();                                 // stops and joins
//
// Lower modules keep their own SourceStats; this is where they are bridged into the stats
// scope (tierwatch_relay_connected, tierwatch_relay_reconnects_total,
// tierwatch_source_duplicates_total, tierwatch_source_malformed_total,
// tierwatch_source_restarts_total), summed over every source the daemon ran.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "app/daemon_config.h"
#include "common/time_source.h"
#include "flow/symbol.h"
#include "metrics/scope.h"
#include "sources/relay/relay_client.h"
#include "sources/source.h"

namespace tw::app {

// Builds a flow source for a config (a test seam; nullptr = relay or captures).
using SourceFactory = std::function<absl::StatusOr<std::unique_ptr<sources::FlowSource>>(
    const LoadedConfig& config, flow::SymbolTable& symbols)>;

struct SupervisorOptions {
  // Read these captures instead of the relay.
  std::vector<std::string> captures;
  uint64_t seed = 0;  // relay reconnect jitter
  SourceFactory factory;
};

class SourceSupervisor {
 public:
  SourceSupervisor(SupervisorOptions options, flow::SymbolTable& symbols, const TimeSource& clock,
                   metrics::Scope& scope);
  ~SourceSupervisor();
  SourceSupervisor(const SourceSupervisor&) = delete;
  SourceSupervisor& operator=(const SourceSupervisor&) = delete;

  // Builds the first source. Errors are bad input (unreadable certificate files).
  absl::Status Prepare(const LoadedConfig& config);
  // Runs the source on its own thread. `deliver` returns false to stop; `on_end` is called
  // once when the source ends by itself (captures read, relay gave up), not when stopped
  // or replaced.
  void Start(std::function<bool(flow::Event&&)> deliver,
             std::function<void(const absl::Status&)> on_end);
  // A reload: builds the new source now (an error keeps the old one running), stops the old
  // one; the thread runs the new one as soon as the old has returned.
  absl::Status Replace(const LoadedConfig& config);
  // Stops whatever runs or waits, and joins the thread. Idempotent.
  void Stop();

  std::string description() const;
  sources::SourceStats stats() const;  // every source so far, summed
  uint64_t restarts() const;           // replacements that took effect
  bool connected() const;              // a relay stream is open now (captures: reading)
  // Ready: a relay answered once (or any event arrived), or the captures are open. Latched.
  bool ready() const;

 private:
  struct Running {
    std::shared_ptr<sources::FlowSource> source;
    sources::RelayClient* relay = nullptr;  // the same object when it is a relay
  };
  absl::StatusOr<Running> Make(const LoadedConfig& config);
  void Loop();
  void Bridge();

  const SupervisorOptions options_;
  flow::SymbolTable& symbols_;
  const TimeSource& clock_;
  // Carried from one RelayClient to the next.
  std::shared_ptr<sources::RelayResumeState> resume_;

  mutable absl::Mutex mu_;
  Running current_ ABSL_GUARDED_BY(mu_);
  Running next_ ABSL_GUARDED_BY(mu_);
  std::string description_ ABSL_GUARDED_BY(mu_);
  std::string next_description_ ABSL_GUARDED_BY(mu_);
  sources::SourceStats retired_ ABSL_GUARDED_BY(mu_);
  uint64_t restarts_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;

  std::function<bool(flow::Event&&)> deliver_;
  std::function<void(const absl::Status&)> on_end_;
  mutable std::atomic<bool> ready_{false};
  std::thread thread_;

  prometheus::Gauge& connected_;
  prometheus::Counter& reconnects_;
  prometheus::Counter& duplicates_;
  prometheus::Counter& malformed_;
  prometheus::Counter& restarts_counter_;
  metrics::Scope::Hook hook_;
};

// "relay 127.0.0.1:4245 (TLS)" or "capture a.jsonl b.jsonl".
std::string DescribeSource(const LoadedConfig& config, const std::vector<std::string>& captures);

}  // namespace tw::app
