// RelayClient: a FlowSource reading Hubble Relay's (or an agent's) GetFlows stream that
// survives relay restarts without losing or duplicating flows the relay still holds.
//
//   tw::flow::SymbolTable symbols;
//   tw::sources::RelayClientOptions opts;
//   opts.address = "hubble-relay.kube-system.svc:443";
//   opts.tls.enabled = true;
//   opts.tls.ca_files = {"/etc/tierwatch/relay-ca.crt"};
//   opts.tls.server_name = "ui.hubble-relay.cilium.io";
//   opts.whitelist.emplace_back().add_verdict(::flow::DROPPED);
//   tw::sources::RelayClient relay(opts, symbols);
//   absl::Status st = relay.Run([&](tw::flow::Event&& ev) { ...; return true; });
//   // from a signal thread: relay.Stop();
//
// What it does, and why:
//   - ServerStatus first (with the connect deadline), logged at info: version, connected
//     and unavailable nodes, flows/s. It doubles as the connection attempt: it waits while
//     the channel connects and fails at once with gRPC's reason when it cannot, which
//     DiagnoseConnectFailure turns into a cause and a fix (refused, unresolvable, not gRPC,
//     TLS CA / name / plaintext mismatches). A peer that accepts TCP but never answers gRPC
//     fails the attempt at the deadline instead of hanging.
//   - A daemon retries forever; a command (fail_if_unreachable) gives up when nothing has
//     connected within connect_timeout, or at once when the cause is one a retry cannot
//     fix (TLS verification, a port that is not gRPC).
//   - GetFlows with the options' request. When the stream breaks (relay killed, network),
//     it reconnects with capped exponential backoff and jitter (common/backoff.h) and
//     resumes with follow=true and since = the newest flow time seen − resume_window.
//     Relay merges nodes through a sort buffer of about a second, so flows up to that much
//     older than the newest one may still arrive after it; the window re-reads them, and a
//     bounded de-duplicator drops what was already delivered: by Flow.uuid, or — for flows
//     without one (Hubble before 1.14) — by time + node + a hash of the flow's content.
//     The relay keeps no history: the re-read flows come from the agents' ring buffers,
//     which outlive a relay restart.
//   - LostEvents are counted by source and node_status events counted (and logged); both
//     are passed to the callback too.
//   - Stop() from any thread cancels the in-flight call and the backoff sleep; Run()
//     returns OK promptly.
// Limits: resuming a non-follow `number`/`first` request delivers the rest of the buffer
// after the resume point (the per-node counts cannot be continued exactly).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/backoff.h"
#include "common/time_source.h"
#include "flow/flow.h"
#include "flow/flow.pb.h"
#include "flow/symbol_cache.h"
#include "observer/observer.pb.h"
#include "sources/source.h"

namespace grpc {
class Channel;
class ChannelArguments;
class ChannelCredentials;
class ClientContext;
}  // namespace grpc

namespace tw::sources {

struct RelayTlsOptions {
  bool enabled = false;
  // PEM CA bundles that verify the relay's certificate (concatenated); empty = system roots.
  std::vector<std::string> ca_files;
  std::string cert_file;    // client certificate (PEM) for mTLS; needs key_file
  std::string key_file;     // client private key (PEM)
  std::string server_name;  // name to verify instead of the address host
                            // (Hubble: *.hubble-relay.cilium.io)
};

struct RelayResumeState;

struct RelayClientOptions {
  // HOST:PORT. A "tls://" prefix turns TLS on, as in the hubble CLI.
  std::string address = "127.0.0.1:4245";
  // The request (shared/reference/hubble-api.md §2.1, §7.3).
  bool follow = true;
  uint64_t number = 0;  // per node on a relay; 0 = no limit
  bool first = false;
  std::optional<absl::Time> since;
  std::optional<absl::Time> until;
  std::vector<::flow::FlowFilter> whitelist;
  std::vector<::flow::FlowFilter> blacklist;
  // Flow paths to keep (field_mask); "uuid" and "time" are added when missing because
  // resuming needs them. Empty = whole flows.
  std::vector<std::string> field_mask;

  RelayTlsOptions tls;
  absl::Duration keepalive_time = absl::Seconds(30);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // Reconnect delays. The backoff restarts at `initial` after every successful connect (not
  // only when flows arrive), so a flapping relay is retried promptly once it is back.
  BackoffOptions backoff = {absl::Milliseconds(200), absl::Seconds(30), 2.0, 0.5};
  // The most a retry waits while the channel still reports READY (the relay is up; only
  // the stream ended).
  absl::Duration ready_retry_max = absl::Seconds(1);
  // How far before the newest seen flow a resumed request starts (Relay's cross-node sort
  // buffer is about 1 s).
  absl::Duration resume_window = absl::Seconds(2);
  // Most flow keys the de-duplicator holds (it also forgets keys older than twice the
  // window).
  size_t dedupe_capacity = 200'000;
  // Deadline for the connection and for ServerStatus on each attempt.
  absl::Duration connect_timeout = absl::Seconds(10);
  // Give up after this many consecutive attempts that received nothing (0 = never).
  int max_attempts = 0;
  // For commands: Run() returns Unavailable, with the cause and a fix, when no attempt has
  // connected within connect_timeout of Run() starting, or at the first failure whose cause
  // a retry cannot fix. Once connected, interruptions are retried as usual.
  bool fail_if_unreachable = false;
  // Clock for the backoff sleeps and the connect budget (nullptr = real clock). gRPC's own
  // per-call deadlines stay on real time.
  const TimeSource* time_source = nullptr;
  uint64_t seed = 0;  // backoff jitter
  // Where the stream stands (newest flow delivered, recent flows for de-duplication).
  // nullptr: the client keeps its own. Shared: a client replacing another (a config reload)
  // continues its stream as a reconnect would — from the newest flow minus resume_window,
  // dropping what was already delivered. Only one client may Run with it at a time.
  std::shared_ptr<RelayResumeState> resume;
};

// What the relay said in ServerStatus at the last (re)connection.
struct RelayStatus {
  std::string version;
  uint64_t num_flows = 0;
  uint64_t max_flows = 0;
  uint64_t seen_flows = 0;
  absl::Duration uptime;
  std::optional<uint32_t> connected_nodes;
  std::optional<uint32_t> unavailable_nodes;
  std::vector<std::string> unavailable_node_names;
  double flows_rate = 0;
};

// Why a connection attempt failed, read from gRPC's status, with what would fix it.
enum class ConnectCause {
  kNone = 0,
  kRefused,                // nothing listens on the port
  kUnresolvable,           // DNS could not resolve the host
  kTimeout,                // no connection within the deadline (filtered, wrong address)
  kSilentPeer,             // TCP connected, no gRPC answer within the deadline
  kNotGrpc,                // an HTTP/1.x server (or other protocol) on the port
  kClosed,                 // the peer closed the connection during the handshake
  kPlaintextToTls,         // plaintext client, TLS server
  kTlsToPlaintext,         // TLS client, plaintext server (or not TLS at all)
  kTlsUnknownCa,           // the server certificate's CA is not trusted
  kTlsNameMismatch,        // the certificate does not name the expected server name
  kTlsClientCertRequired,  // mTLS: the server wants a client certificate
  kOther,
};
absl::string_view ConnectCauseName(ConnectCause c);  // "refused", "tls_unknown_ca", ...

struct ConnectDiagnosis {
  ConnectCause cause = ConnectCause::kNone;
  std::string what;          // one sentence: what happened
  std::string fix;           // one sentence: what to do ("" when nothing specific helps)
  bool permanent = false;    // another attempt soon will fail the same way
  std::string grpc_message;  // gRPC's own text, for debug logs
  // "cannot connect to relay ADDR: WHAT\n  fix: FIX"
  std::string ToString(absl::string_view address) const;
};

// What the connection attempt's failure means. `code` and `message` are the failed
// ServerStatus call's status; `tcp_connects` whether a plain TCP connection to the address
// succeeds (a deadline then means a silent peer, not an unreachable one).
ConnectDiagnosis DiagnoseConnectFailure(int code, absl::string_view message, bool tcp_connects,
                                        const RelayClientOptions& options);

// Whether a TCP connection to HOST:PORT opens within `timeout` (closed again at once).
bool TcpConnects(const std::string& address, absl::Duration timeout);

// Remembers recently delivered flows to drop the re-reads of a resumed stream. Memory is
// bounded by `capacity` keys and by forgetting keys older than 2 × window before the newest.
class FlowDeduper {
 public:
  FlowDeduper(absl::Duration window, size_t capacity) : window_(window), capacity_(capacity) {}
  // True if this flow was delivered before; otherwise records it and returns false.
  bool SeenBefore(const flow::Flow& f, flow::Symbol node, absl::Time t);
  size_t size() const { return set_.size(); }

  // The identity of a flow in 128 bits, no allocation: its uuid's (Hubble's canonical
  // 8-4-4-4-12 form read exactly; any other uuid hashed twice), else time + a hash of node
  // and content.
  struct Key {
    uint64_t hi = 0, lo = 0;
    friend bool operator==(const Key& a, const Key& b) { return a.hi == b.hi && a.lo == b.lo; }
    friend bool operator!=(const Key& a, const Key& b) { return !(a == b); }
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.hi, k.lo);
    }
  };
  static Key KeyFor(const flow::Flow& f, flow::Symbol node, absl::Time t);

 private:
  absl::Duration window_;
  size_t capacity_;
  absl::Time newest_ = absl::InfinitePast();
  std::deque<std::pair<absl::Time, Key>> order_;
  absl::flat_hash_set<Key> set_;
};

// A stream's position, carried across reconnects and, through RelayClientOptions::resume,
// from one RelayClient to the one replacing it.
struct RelayResumeState {
  RelayResumeState(absl::Duration window, size_t capacity) : dedupe(window, capacity) {}
  FlowDeduper dedupe;
  std::optional<absl::Time> newest;  // newest flow time delivered: the resume point
};

// The GetFlowsRequest for the first connection (resume_from unset) or a resumption.
::observer::GetFlowsRequest BuildGetFlowsRequest(const RelayClientOptions& options,
                                                 std::optional<absl::Time> resume_from);

// gRPC channel credentials for the options (reads the PEM files). Errors name the file.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeRelayCredentials(
    const RelayTlsOptions& tls);

class RelayClient final : public FlowSource {
 public:
  RelayClient(RelayClientOptions options, flow::SymbolTable& symbols);
  ~RelayClient() override;

  // Errors: bad TLS files (InvalidArgument/NotFound), a request the relay rejects
  // (InvalidArgument etc.), or Unavailable after max_attempts failed attempts.
  absl::Status Run(const EventCallback& callback) override;
  // Run() that also hands over each delivered event's wire form (to print what the relay
  // sent, fields tierwatch's flow model does not keep included).
  using WireEventCallback =
      std::function<bool(flow::Event&& event, const ::observer::GetFlowsResponse& wire)>;
  absl::Status RunWire(const WireEventCallback& callback);
  void Stop() override;
  SourceStats stats() const override;
  std::optional<RelayStatus> last_status() const;
  // True while a GetFlows stream is open (between a successful connect and its end).
  bool connected() const { return connected_.load(); }
  // Why the latest connection attempt failed (nullopt once one has succeeded).
  std::optional<ConnectDiagnosis> last_connect_error() const;
  // While Run() waits before a retry: how long that wait is (nullopt when not waiting).
  std::optional<absl::Duration> sleeping_for() const;

 private:
  struct Attempt;
  grpc::ChannelArguments ChannelArgs() const;
  // ServerStatus as the connection attempt; fills `a` (status, diagnosis). Not OK only
  // for a refusal no retry can fix.
  absl::Status Probe(const std::shared_ptr<grpc::Channel>& channel, absl::Duration limit,
                     bool connected_before, Attempt* a);
  void RecordServerStatus(const ::observer::ServerStatusResponse& resp, bool connected_before);
  // One GetFlows stream until it ends. A value: Run() returns it (done, callback stopped,
  // refused); nullopt: retry.
  std::optional<absl::Status> StreamFlows(const std::shared_ptr<grpc::Channel>& channel,
                                          RelayResumeState& resume,
                                          const WireEventCallback& callback, Attempt* a);
  // A message ValidateRanges refuses: counted in stats().malformed, skipped, logged.
  void CountMalformed(const absl::Status& why);
  // Counts the event in the stats; false for a duplicate (re-read after a reconnect).
  bool CountEvent(const flow::Event& ev, RelayResumeState& resume);
  void LogRetry(const Attempt& a, absl::Duration delay, bool never_connected);
  // A plaintext attempt the peer closed: does the peer speak TLS? (A short TLS probe.)
  bool PeerSpeaksTls();
  void SetCall(grpc::ClientContext* ctx);
  void Sleep(absl::Duration d);

  RelayClientOptions options_;
  flow::SymbolTable& symbols_;
  flow::SymbolCache symbol_cache_{symbols_};  // Run()'s thread only: no lock per string
  RealTimeSource real_clock_;
  const TimeSource* clock_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};

  mutable absl::Mutex mu_;
  absl::CondVar wake_;
  grpc::ClientContext* call_ ABSL_GUARDED_BY(mu_) = nullptr;  // the in-flight call, for Stop()
  SourceStats stats_ ABSL_GUARDED_BY(mu_);
  std::optional<RelayStatus> status_ ABSL_GUARDED_BY(mu_);
  std::optional<ConnectDiagnosis> connect_error_ ABSL_GUARDED_BY(mu_);
  bool sleeping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration last_retry_delay_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tw::sources
