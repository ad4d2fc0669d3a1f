// A Hubble-Relay-compatible gRPC server over captured events: the demo's relay, the
// integration tests' relay and the load generator for benchmarks.
//
//   tw::flow::SymbolTable symbols;
//   auto events = tw::sources::ReadCaptures({"before.jsonl"}, symbols);
//   tw::replay::ReplayOptions opts;
//   opts.listen = "127.0.0.1:0";
//   opts.rate = 500;                       // flows/s in follow mode; 0 = whole capture at once
//   tw::replay::ReplayServer server(*std::move(events), opts);
//   TW_RETURN_IF_ERROR(server.Start());
//   std::cout << "listening on " << server.address() << "\n";
//   ...
//   server.Shutdown();
//
// It serves observer.Observer (GetFlows, ServerStatus, GetNodes, GetNamespaces) the way
// Hubble Relay does (shared/reference/hubble-api.md §7): a NODE_CONNECTED node_status
// naming the capture's nodes first; `number` per node (newest N unless `first`); `first`
// with `follow` is InvalidArgument; `since` rewinds to the first event at or after it;
// `until` ends the stream at the first newer flow, also when following; `field_mask`
// (field 10, else experimental.field_mask) keeps only the listed Flow paths; whitelist and
// blacklist through flow/filter.h; LostEvents pass unfiltered.
//
// The timeline. The capture (sorted by time) is an infinite, deterministic sequence of
// events k = 0, 1, 2, ...: event k is capture[k % n] in pass k / n. Pass 0 is the capture
// as recorded; with `loop` every later pass gets fresh uuids (a pure function of seed, pass
// and position; flows recorded without one get one too, so clients de-duplicating by uuid
// keep them) and new times that keep increasing and stay in range however long it runs:
// with --rate, the time the event appears (looped traffic looks live); without, 1 µs after
// the event before it (about the wall-clock pace of a reader taking a million flows a
// second). Which prefix of the timeline the "agents" already hold (the backlog a request
// rewinds over) depends on the pacing:
//   - rate > 0: event k appears at start_at + k/rate, so a follower sees flows arrive in
//     real time. Because this is a function of the wall clock only, a replay restarted
//     with the same start_at holds exactly the flows the killed one had served — the way
//     agents' ring buffers outlive a Hubble Relay restart — and a client resuming with
//     `since` gets them again.
//   - rate == 0: the first pass is all there at start; with `loop` followers then pull
//     further passes as fast as they read (the benchmark load), and what one follower
//     pulled becomes backlog for everyone.
// Only the newest `history_capacity` events stay in the backlog (a ring buffer); a
// follower that falls that far behind gets a HUBBLE_RING_BUFFER LostEvent and skips ahead.
//
// Listening: "HOST:PORT"; a bare port ("4245" or ":4245") means every interface, as
// hubble-relay's listen address does. A port in use fails Start() naming the port and the
// cause.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time_source.h"
#include "flow/flow.h"
#include "observer/observer.pb.h"

namespace grpc {
class Server;
}

namespace tw::replay {

struct ReplayTlsOptions {
  std::string cert_file;       // PEM server certificate (enables TLS)
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // PEM CA: clients must present a certificate it signed (mTLS)
  bool enabled() const { return !cert_file.empty(); }
};

// "4245" and ":4245" -> "0.0.0.0:4245" (every interface); anything else unchanged.
std::string NormalizeListenAddress(const std::string& listen);

struct ReplayOptions {
  // HOST:PORT, or a bare port for every interface; port 0 picks a free port (see
  // ReplayServer::address()).
  std::string listen = "127.0.0.1:4245";
  double rate = 0;    // flows/s pacing; 0 = the whole first pass is there at start
  bool loop = false;  // repeat the capture forever as new traffic
  // Wall-clock time at which event 0 appears in rate mode (default: when Start() runs).
  // Restart a replay with the same value to serve the same flows at the same times.
  std::optional<absl::Time> start_at;
  // How many of the newest events the "ring buffer" keeps for requests to rewind over.
  uint64_t history_capacity = 1'000'000;
  uint64_t uuid_seed = 0;  // seeds the uuids of looped passes
  ReplayTlsOptions tls;
  std::string version = "tierwatch-replay 0.1.0";
  // Clock for pacing, backlog and uptime (nullptr = the real clock).
  const TimeSource* time_source = nullptr;
};

class ReplayServer {
 public:
  // `events` may come in any order (they are sorted by time; relay node_status events in a
  // capture are dropped, the server makes its own). Symbols must outlive the server.
  ReplayServer(std::vector<flow::Event> events, ReplayOptions options);
  ~ReplayServer();
  ReplayServer(const ReplayServer&) = delete;
  ReplayServer& operator=(const ReplayServer&) = delete;

  // Binds and starts serving on background threads. Errors: bad TLS files, address in use.
  absl::Status Start();
  // The bound port and "HOST:PORT" with it (valid after Start()).
  int port() const { return port_; }
  std::string address() const;
  // Ends every stream promptly and stops the server. Idempotent.
  void Shutdown();
  // Blocks until Shutdown() (from another thread or a signal handler thread).
  void Wait();
  // Wakes followers waiting for the next event (after moving an injected clock).
  void Wakeup();

  // The timeline, for tests and tools: event k as served (pass rewrites applied).
  flow::Event EventAt(uint64_t k) const;
  uint64_t capture_size() const { return events_.size(); }
  const std::vector<std::string>& node_names() const { return node_names_; }
  // Number of timeline events the backlog holds right now.
  uint64_t Available() const;

  class Service;  // the observer.Observer implementation (replay_server.cc)

 private:
  friend class Service;
  struct Stream;

  absl::Time Now() const { return clock_->Now(); }
  absl::Time TimeAt(uint64_t k) const;
  int NodeAt(uint64_t k) const { return node_index_[k % events_.size()]; }
  uint64_t LowerBound(uint64_t lo, uint64_t hi, absl::Time t) const;
  // Fills `out` with event k's wire form; returns a pointer to the message to send (the
  // cached one for an unmodified pass-0 event, else `out`).
  const ::observer::GetFlowsResponse* WireAt(uint64_t k, ::observer::GetFlowsResponse* out) const;
  std::string UuidFor(uint64_t pass, uint64_t index) const;
  // Waits up to `d` of real time, or until Wakeup()/Shutdown().
  void WaitFor(absl::Duration d);
  bool shutting_down() const { return shutting_down_.load(); }

  ReplayOptions options_;
  RealTimeSource real_clock_;
  const TimeSource* clock_;
  std::vector<flow::Event> events_;
  std::vector<absl::Time> times_;                   // per event (lost events inherit)
  std::vector<::observer::GetFlowsResponse> wire_;  // events_ converted once
  std::vector<int> node_index_;                     // per event, -1 = none
  std::vector<std::string> node_names_;
  std::vector<uint64_t> flows_per_node_;
  absl::Time start_time_;
  absl::Time base_;                      // rate mode: when event 0 appears
  std::atomic<uint64_t> high_water_{0};  // rate == 0 && loop: furthest event pulled
  std::atomic<bool> shutting_down_{false};

  absl::Mutex wake_mu_;
  absl::CondVar wake_cv_;

  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string host_;
};

}  // namespace tw::replay
