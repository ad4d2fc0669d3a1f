#include "sources/relay/relay_client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <tuple>

#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/time_format.h"
#include "flow/proto_convert.h"
#include "grpcpp/grpcpp.h"
#include "observer/observer.grpc.pb.h"
#include "sources/relay/grpc_logging.h"
#include "spdlog/spdlog.h"

namespace tw::sources {

namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", what, " ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string pem = ss.str();
  if (pem.find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", path, " is not a PEM file"));
  }
  return pem;
}

std::chrono::system_clock::time_point Deadline(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoNanoseconds(d);
}

absl::StatusCode ToAbsl(grpc::StatusCode c) { return static_cast<absl::StatusCode>(c); }

// Errors that another attempt cannot fix: the relay understood the request and refused it.
bool Permanent(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::UNIMPLEMENTED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return true;
    default:
      return false;
  }
}

}  // namespace

// --- connect diagnosis ---------------------------------------------------------------------

absl::string_view ConnectCauseName(ConnectCause c) {
  switch (c) {
    case ConnectCause::kNone:
      return "none";
    case ConnectCause::kRefused:
      return "refused";
    case ConnectCause::kUnresolvable:
      return "unresolvable";
    case ConnectCause::kTimeout:
      return "timeout";
    case ConnectCause::kSilentPeer:
      return "silent_peer";
    case ConnectCause::kNotGrpc:
      return "not_grpc";
    case ConnectCause::kClosed:
      return "closed";
    case ConnectCause::kPlaintextToTls:
      return "plaintext_to_tls";
    case ConnectCause::kTlsToPlaintext:
      return "tls_to_plaintext";
    case ConnectCause::kTlsUnknownCa:
      return "tls_unknown_ca";
    case ConnectCause::kTlsNameMismatch:
      return "tls_name_mismatch";
    case ConnectCause::kTlsClientCertRequired:
      return "tls_client_cert_required";
    case ConnectCause::kOther:
      return "other";
  }
  return "other";
}

std::string ConnectDiagnosis::ToString(absl::string_view address) const {
  std::string s = absl::StrCat("cannot connect to relay ", address, ": ", what);
  if (!fix.empty()) absl::StrAppend(&s, "\n  fix: ", fix);
  return s;
}

namespace {

std::string HostOf(absl::string_view address) {
  if (absl::StartsWith(address, "[")) {
    size_t close = address.find(']');
    if (close != absl::string_view::npos) return std::string(address.substr(1, close - 1));
  }
  size_t colon = address.rfind(':');
  return std::string(colon == absl::string_view::npos ? address : address.substr(0, colon));
}

// "... Peer name wrong.example.com is not in peer certificate" -> "wrong.example.com"
std::string PeerNameFrom(absl::string_view message) {
  size_t at = message.find("Peer name ");
  if (at == absl::string_view::npos) return "";
  absl::string_view rest = message.substr(at + 10);
  size_t end = rest.find(" is not in peer certificate");
  return std::string(end == absl::string_view::npos ? rest : rest.substr(0, end));
}

}  // namespace

bool TcpConnects(const std::string& address, absl::Duration timeout) {
  std::string host = HostOf(address);
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  std::string port = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) return false;
  bool ok = false;
  for (addrinfo* ai = res; ai != nullptr && !ok; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) == 1) {
        int err = 0;
        socklen_t len = sizeof(err);
        ok = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
      }
    }
    close(fd);
  }
  freeaddrinfo(res);
  return ok;
}

namespace {

// A failed connection attempt, as the diagnosis rows look at it.
struct ConnectFailure {
  int code;
  absl::string_view message;
  bool tcp_connects;
  const RelayClientOptions& o;

  bool DeadlineExceeded() const {
    return code == static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  bool Has(absl::string_view needle) const { return absl::StrContains(message, needle); }
  bool HasAny(std::initializer_list<absl::string_view> needles) const {
    for (absl::string_view n : needles) {
      if (Has(n)) return true;
    }
    return false;
  }
  // gRPC's words for a certificate no trusted CA signed.
  bool UnknownCa() const {
    return HasAny({"certificate verify failed", "CERTIFICATE_VERIFY_FAILED",
                   "unable to get local issuer", "self-signed certificate",
                   "self signed certificate"});
  }
  // gRPC's words for a peer that hung up.
  bool Closed() const {
    return HasAny({"Socket closed", "Connection reset", "End of TCP stream", "connection closed"});
  }
};

// One row of the diagnosis table: when `probe` holds, the failure is `cause`. `what` and
// `fix` may name {timeout}, {host}, {peer_name}, {ca_files} and {message}.
struct DiagnosisRow {
  bool (*probe)(const ConnectFailure& f);
  ConnectCause cause;
  bool permanent;  // another attempt soon fails the same way
  absl::string_view what;
  absl::string_view fix;
};

constexpr absl::string_view kClientCertFix =
    "pass a client certificate the relay's client CA signed with "
    "--tls-client-cert-file and --tls-client-key-file";

// In order: the first row whose probe holds decides. gRPC's messages differ between its
// versions and TLS libraries, so most probes accept several wordings.
const DiagnosisRow kDiagnosisRows[] = {
    {[](const ConnectFailure& f) { return f.DeadlineExceeded() && f.tcp_connects; },
     ConnectCause::kSilentPeer, false,
     "the peer accepted the connection but did not answer gRPC within {timeout}",
     "check that the address is a Hubble Relay (gRPC) port; raise --connect-timeout if "
     "the relay is only slow"},
    {[](const ConnectFailure& f) { return f.DeadlineExceeded(); }, ConnectCause::kTimeout, false,
     "no connection within {timeout}",
     "check the address and that the relay (or the port-forward to it) is up; a "
     "firewall may drop the packets"},
    {[](const ConnectFailure& f) {
       return f.HasAny(
           {"DNS resolution failed", "Domain name not found", "Could not resolve", "not resolve"});
     },
     ConnectCause::kUnresolvable, true, "cannot resolve host \"{host}\"",
     "check the name; cluster service names (hubble-relay.kube-system.svc) resolve only "
     "inside the cluster: from outside, run `cilium hubble port-forward` and use "
     "127.0.0.1:4245"},
    {[](const ConnectFailure& f) { return f.Has("Connection refused"); }, ConnectCause::kRefused,
     false, "connection refused (nothing listens on that port)",
     "start the relay, or a port-forward to it (`cilium hubble port-forward`, or "
     "`kubectl -n kube-system port-forward svc/hubble-relay 4245:80`)"},
    {[](const ConnectFailure& f) {
       return f.HasAny({"http1.x server", "http1"});
     },
     ConnectCause::kNotGrpc, true, "the peer speaks HTTP/1.x, not gRPC",
     "point at the Hubble Relay gRPC port (4245 on the relay pod, 80 or 443 on the "
     "hubble-relay service)"},
    {[](const ConnectFailure& f) { return f.Has("Peer name") && f.Has("not in peer certificate"); },
     ConnectCause::kTlsNameMismatch, true,
     "the relay's TLS certificate is not issued for \"{peer_name}\"",
     "give the name the certificate is issued for with --tls-server-name (Cilium issues "
     "relay certificates for *.hubble-relay.cilium.io, so e.g. --tls-server-name "
     "ui.hubble-relay.cilium.io)"},
    {[](const ConnectFailure& f) { return f.UnknownCa() && f.o.tls.ca_files.empty(); },
     ConnectCause::kTlsUnknownCa, true,
     "the relay's TLS certificate is not signed by a CA you trust",
     "pass the relay's CA with --tls-ca-cert-files (Cilium keeps it in secret "
     "hubble-relay-server-certs, key ca.crt)"},
    {[](const ConnectFailure& f) { return f.UnknownCa(); }, ConnectCause::kTlsUnknownCa, true,
     "the relay's TLS certificate is not signed by a CA you trust",
     "the CA in --tls-ca-cert-files ({ca_files}) did not sign it: use the CA of the relay's "
     "certificate (secret hubble-relay-server-certs, key ca.crt)"},
    {[](const ConnectFailure& f) {
       return f.HasAny({"certificate required", "alert handshake failure",
                        "sslv3 alert bad certificate", "alert bad certificate"});
     },
     ConnectCause::kTlsClientCertRequired, true,
     "the relay requires a client certificate (mTLS) and refused the handshake", kClientCertFix},
    {[](const ConnectFailure& f) {
       return f.o.tls.enabled && f.HasAny({"wrong version number", "WRONG_VERSION_NUMBER",
                                           "packet length too long", "record layer failure"});
     },
     ConnectCause::kTlsToPlaintext, true,
     "the peer does not speak TLS (the TLS handshake got a non-TLS answer)",
     "drop --tls (and the tls:// prefix) for a plaintext relay, or use the relay's TLS "
     "port"},
    // With TLS 1.3 a server that wants a client certificate rejects the connection after
    // the client's side of the handshake is done: the client only sees it close.
    {[](const ConnectFailure& f) {
       return f.o.tls.enabled && f.o.tls.cert_file.empty() &&
              f.HasAny({"Socket closed", "Connection reset", "End of TCP stream"});
     },
     ConnectCause::kTlsClientCertRequired, true,
     "the relay closed the TLS connection during the handshake: it most likely "
     "requires a client certificate (mTLS)",
     kClientCertFix},
    {[](const ConnectFailure& f) { return f.Closed() && f.o.tls.enabled; }, ConnectCause::kClosed,
     false, "the peer closed the connection during the handshake",
     "check that the address is a Hubble Relay (gRPC) port and that "
     "the relay's client CA signed --tls-client-cert-file"},
    {[](const ConnectFailure& f) { return f.Closed(); }, ConnectCause::kClosed, false,
     "the peer closed the connection during the handshake",
     "if the relay uses TLS add --tls; otherwise check that the address "
     "is a Hubble Relay (gRPC) port"},
    {[](const ConnectFailure& f) {
       return f.HasAny({"Ssl handshake failed", "SSL_ERROR"});
     },
     ConnectCause::kOther, true, "TLS handshake failed ({message})",
     "check --tls-ca-cert-files, --tls-server-name and the client certificate"},
};

// A row's text with the failure's particulars in place of its {placeholders}.
std::string Fill(absl::string_view text, const ConnectFailure& f) {
  if (!absl::StrContains(text, "{")) return std::string(text);
  std::string peer_name = PeerNameFrom(f.message);
  if (peer_name.empty()) {
    peer_name = f.o.tls.server_name.empty() ? HostOf(f.o.address) : f.o.tls.server_name;
  }
  return absl::StrReplaceAll(text, {{"{timeout}", tw::FormatDuration(f.o.connect_timeout)},
                                    {"{host}", HostOf(f.o.address)},
                                    {"{peer_name}", peer_name},
                                    {"{ca_files}", absl::StrJoin(f.o.tls.ca_files, ", ")},
                                    {"{message}", f.message}});
}

}  // namespace

ConnectDiagnosis DiagnoseConnectFailure(int code, absl::string_view message, bool tcp_connects,
                                        const RelayClientOptions& o) {
  ConnectDiagnosis d;
  d.grpc_message = std::string(message);
  const ConnectFailure f{code, message, tcp_connects, o};
  for (const DiagnosisRow& row : kDiagnosisRows) {
    if (!row.probe(f)) continue;
    d.cause = row.cause;
    d.permanent = row.permanent;
    d.what = Fill(row.what, f);
    d.fix = Fill(row.fix, f);
    return d;
  }
  d.cause = ConnectCause::kOther;
  d.what = message.empty() ? absl::StrCat("gRPC status ", code) : std::string(message);
  return d;
}

// --- FlowDeduper ------------------------------------------------------------------------

namespace {
// A uuid in Hubble's canonical form (8-4-4-4-12 hex digits) as its 128 bits.
std::optional<FlowDeduper::Key> CanonicalUuid(absl::string_view u) {
  if (u.size() != 36) return std::nullopt;
  FlowDeduper::Key k;
  int digits = 0;
  for (size_t i = 0; i < u.size(); ++i) {
    const char c = u[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return std::nullopt;
      continue;
    }
    uint64_t v;
    if (c >= '0' && c <= '9') {
      v = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v = static_cast<uint64_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v = static_cast<uint64_t>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    uint64_t& half = digits < 16 ? k.hi : k.lo;
    half = (half << 4) | v;
    ++digits;
  }
  return k;
}
}  // namespace

FlowDeduper::Key FlowDeduper::KeyFor(const flow::Flow& f, flow::Symbol node, absl::Time t) {
  if (!f.uuid.empty()) {
    if (auto k = CanonicalUuid(f.uuid)) return *k;
    return {absl::Hash<absl::string_view>{}(f.uuid),
            absl::Hash<std::pair<absl::string_view, int>>{}({f.uuid, 1})};
  }
  // No uuid (Hubble before 1.14): the same event read twice has the same time, node and
  // content; two different events agreeing on all of them are indistinguishable anyway.
  const size_t h =
      absl::Hash<std::tuple<absl::string_view, absl::string_view, absl::string_view,
                            absl::string_view, int, int, int, int, int, int, int, uint32_t,
                            uint32_t, absl::string_view, absl::string_view, absl::string_view>>{}(
          std::make_tuple(
              node.view(), f.source_ip, f.destination_ip, f.source.pod_name.view(),
              static_cast<int>(f.verdict), static_cast<int>(f.l4.protocol), f.l4.source_port,
              f.l4.destination_port, f.l4.tcp_flags, f.event_type, f.event_sub_type,
              f.source.identity, f.destination.identity, f.destination.pod_name.view(), f.summary,
              f.l7 && f.l7->dns ? absl::string_view(f.l7->dns->query) : absl::string_view()));
  return {static_cast<uint64_t>(absl::ToUnixNanos(t)), h};
}

bool FlowDeduper::SeenBefore(const flow::Flow& f, flow::Symbol node, absl::Time t) {
  const Key key = KeyFor(f, node, t);
  if (!set_.insert(key).second) return true;
  if (t > newest_) newest_ = t;
  order_.emplace_back(t, key);
  // A resumed stream starts `window` before the newest flow; keep twice that for flows the
  // relay delivered out of order.
  absl::Time horizon = newest_ - 2 * window_;
  while (!order_.empty() && (order_.size() > capacity_ || order_.front().first < horizon)) {
    set_.erase(order_.front().second);
    order_.pop_front();
  }
  return false;
}

// --- request and credentials --------------------------------------------------------------

::observer::GetFlowsRequest BuildGetFlowsRequest(const RelayClientOptions& o,
                                                 std::optional<absl::Time> resume_from) {
  ::observer::GetFlowsRequest req;
  if (resume_from) {
    absl::Time since = *resume_from - o.resume_window;
    if (o.since && *o.since > since) since = *o.since;
    flow::TimeToProto(since, req.mutable_since());
    req.set_follow(o.follow);
  } else {
    req.set_number(o.number);
    req.set_first(o.first);
    req.set_follow(o.follow);
    if (o.since) flow::TimeToProto(*o.since, req.mutable_since());
  }
  if (o.until) flow::TimeToProto(*o.until, req.mutable_until());
  for (const auto& f : o.whitelist) *req.add_whitelist() = f;
  for (const auto& f : o.blacklist) *req.add_blacklist() = f;
  if (!o.field_mask.empty()) {
    std::vector<std::string> paths = o.field_mask;
    for (const char* needed : {"time", "uuid"}) {
      if (std::find(paths.begin(), paths.end(), needed) == paths.end()) paths.push_back(needed);
    }
    for (const auto& p : paths) {
      req.mutable_field_mask()->add_paths(p);
      // Hubble 1.14–1.15 read the mask here; newer relays prefer field 10.
      req.mutable_experimental()->mutable_field_mask()->add_paths(p);
    }
  }
  return req;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeRelayCredentials(
    const RelayTlsOptions& tls) {
  if (!tls.enabled) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  for (const auto& ca : tls.ca_files) {
    auto pem = ReadPem(ca, "TLS CA file");
    if (!pem.ok()) return pem.status();
    ssl.pem_root_certs += *pem;
    if (!ssl.pem_root_certs.empty() && ssl.pem_root_certs.back() != '\n') {
      ssl.pem_root_certs += '\n';
    }
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS client certificate and key go together: give both or neither");
  }
  if (!tls.cert_file.empty()) {
    auto cert = ReadPem(tls.cert_file, "TLS client certificate");
    if (!cert.ok()) return cert.status();
    auto key = ReadPem(tls.key_file, "TLS client key");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  return grpc::SslCredentials(ssl);
}

// --- RelayClient ----------------------------------------------------------------------------

RelayClient::RelayClient(RelayClientOptions options, flow::SymbolTable& symbols)
    : options_(std::move(options)),
      symbols_(symbols),
      clock_(options_.time_source != nullptr ? options_.time_source : &real_clock_) {
  if (absl::StartsWith(options_.address, "tls://")) {
    options_.address = options_.address.substr(6);
    options_.tls.enabled = true;
  }
}

RelayClient::~RelayClient() { Stop(); }

void RelayClient::Stop() {
  stop_ = true;
  absl::MutexLock lock(&mu_);
  if (call_ != nullptr) call_->TryCancel();
  wake_.SignalAll();
}

void RelayClient::SetCall(grpc::ClientContext* ctx) {
  absl::MutexLock lock(&mu_);
  call_ = ctx;
  if (ctx != nullptr && stop_) ctx->TryCancel();
}

void RelayClient::Sleep(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  // On the injected clock: a test's ManualTimeSource ends the sleep by advancing time. The
  // wait is re-checked at least every 50 ms because such a clock does not signal.
  const absl::Time until = clock_->Now() + d;
  sleeping_ = true;
  for (absl::Time now = clock_->Now(); !stop_ && now < until; now = clock_->Now()) {
    wake_.WaitWithTimeout(&mu_, std::min(until - now, absl::Milliseconds(50)));
  }
  sleeping_ = false;
}

std::optional<absl::Duration> RelayClient::sleeping_for() const {
  absl::MutexLock lock(&mu_);
  if (!sleeping_) return std::nullopt;
  return last_retry_delay_;
}

SourceStats RelayClient::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

std::optional<RelayStatus> RelayClient::last_status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

std::optional<ConnectDiagnosis> RelayClient::last_connect_error() const {
  absl::MutexLock lock(&mu_);
  return connect_error_;
}

bool RelayClient::PeerSpeaksTls() {
  // Default roots and no name override: a TLS server fails verification, which is the
  // answer wanted here; a plaintext one answers the ClientHello with non-TLS bytes.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(options_.address, grpc::SslCredentials({}), args);
  auto stub = ::observer::Observer::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(std::min(options_.connect_timeout, absl::Seconds(3))));
  SetCall(&ctx);
  ::observer::ServerStatusResponse resp;
  grpc::Status st = stub->ServerStatus(&ctx, ::observer::ServerStatusRequest(), &resp);
  SetCall(nullptr);
  if (st.ok()) return true;
  const std::string& m = st.error_message();
  bool not_tls = absl::StrContains(m, "wrong version number") ||
                 absl::StrContains(m, "WRONG_VERSION_NUMBER") ||
                 absl::StrContains(m, "packet length too long") ||
                 absl::StrContains(m, "Socket closed") || absl::StrContains(m, "Connection reset");
  bool tls = absl::StrContains(m, "certificate") || absl::StrContains(m, "Peer name") ||
             absl::StrContains(m, "alert");
  return tls && !not_tls;
}

absl::Status RelayClient::Run(const EventCallback& callback) {
  return RunWire([&](flow::Event&& ev, const ::observer::GetFlowsResponse&) {
    return callback(std::move(ev));
  });
}

// What one connection attempt did; RunWire decides from it whether and when to retry.
struct RelayClient::Attempt {
  grpc::Status status;
  bool stream_started = false;
  bool received = false;  // at least one event arrived on the stream
  std::optional<absl::Time> connected_at;
  std::optional<ConnectDiagnosis> connect_failure;
};

absl::Status RelayClient::RunWire(const WireEventCallback& callback) {
  RouteGrpcLogsToSpdlog();
  auto creds = MakeRelayCredentials(options_.tls);
  if (!creds.ok()) return creds.status();
  const grpc::ChannelArguments args = ChannelArgs();
  const std::string& addr = options_.address;
  spdlog::info("relay connecting addr={} tls={} mtls={} follow={} number={} first={}", addr,
               options_.tls.enabled, !options_.tls.cert_file.empty(), options_.follow,
               options_.number, options_.first);

  Backoff backoff(options_.backoff, options_.seed);
  std::shared_ptr<RelayResumeState> resume =
      options_.resume
          ? options_.resume
          : std::make_shared<RelayResumeState>(options_.resume_window, options_.dedupe_capacity);
  int failures = 0;
  bool connected_before = false;
  const absl::Time run_start = clock_->Now();

  bool first_attempt = true;
  while (!stop_) {
    Attempt a;
    // TLS files are read anew for every connection after the first, so certificates that
    // cert-manager rotates in place are picked up at the next reconnect, without a restart.
    // Files unreadable mid-rotation: the last good credentials serve this attempt.
    if (!first_attempt && options_.tls.enabled) {
      auto fresh = MakeRelayCredentials(options_.tls);
      if (fresh.ok()) {
        creds = *std::move(fresh);
      } else {
        spdlog::warn("relay TLS files unreadable, reconnecting with the ones read before: {}",
                     std::string(fresh.status().message()));
      }
    }
    first_attempt = false;
    auto channel = grpc::CreateCustomChannel(addr, *creds, args);
    absl::Duration limit = options_.connect_timeout;
    if (options_.fail_if_unreachable && !connected_before) {
      limit = std::max(absl::Milliseconds(1),
                       std::min(limit, run_start + options_.connect_timeout - clock_->Now()));
    }
    if (absl::Status refused = Probe(channel, limit, connected_before, &a); !refused.ok()) {
      return refused;
    }
    if (stop_) break;
    if (a.status.ok()) {
      // A relay that accepts us is up: the next interruption starts the backoff afresh,
      // whether or not flows arrived (a flapping relay must not push retries to the cap).
      backoff.Reset();
      connected_before = true;
      std::optional<absl::Status> ended = StreamFlows(channel, *resume, callback, &a);
      if (ended) return *ended;
      if (stop_) break;
      if (a.received) failures = 0;
    }

    if (!a.received) ++failures;
    const bool never_connected = !connected_before;
    if (a.connect_failure && options_.fail_if_unreachable && never_connected &&
        (a.connect_failure->permanent || clock_->Now() >= run_start + options_.connect_timeout)) {
      return absl::UnavailableError(a.connect_failure->ToString(addr));
    }
    if (options_.max_attempts > 0 && failures >= options_.max_attempts) {
      return absl::UnavailableError(
          a.connect_failure ? a.connect_failure->ToString(addr)
                            : absl::StrCat("relay ", addr, " unavailable after ", failures,
                                           " attempt(s): ", a.status.error_message()));
    }
    absl::Duration delay = backoff.Next();
    // The transport is still up (the relay answered, only the stream ended): come back soon
    // rather than after a delay grown by earlier outages.
    if (channel->GetState(false) == GRPC_CHANNEL_READY) {
      delay = std::min(delay, options_.ready_retry_max);
    }
    if (options_.fail_if_unreachable && never_connected) {
      // Spend what is left of the budget on attempts, not on the last sleep.
      delay = std::max(absl::ZeroDuration(),
                       std::min(delay, run_start + options_.connect_timeout - clock_->Now()));
    }
    {
      absl::MutexLock lock(&mu_);
      ++stats_.reconnects;
      last_retry_delay_ = delay;
    }
    LogRetry(a, delay, never_connected);
    Sleep(delay);
  }
  return absl::OkStatus();
}

grpc::ChannelArguments RelayClient::ChannelArgs() const {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.keepalive_time)));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.keepalive_timeout)));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Every attempt gets its own connection (and our backoff decides when), rather than a
  // subchannel shared process-wide that carries gRPC's own reconnect backoff along.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 64 << 20);
  if (options_.tls.enabled && !options_.tls.server_name.empty()) {
    args.SetSslTargetNameOverride(options_.tls.server_name);
  }
  return args;
}

absl::Status RelayClient::Probe(const std::shared_ptr<grpc::Channel>& channel, absl::Duration limit,
                                bool connected_before, Attempt* a) {
  const std::string& addr = options_.address;
  auto stub = ::observer::Observer::NewStub(channel);
  // ServerStatus is the connection attempt: without wait_for_ready it waits while the
  // channel connects and fails at once, with gRPC's reason, when it cannot. The deadline
  // also ends it when a peer accepts TCP but never speaks gRPC.
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(limit));
  SetCall(&ctx);
  ::observer::ServerStatusResponse resp;
  a->status = stub->ServerStatus(&ctx, ::observer::ServerStatusRequest(), &resp);
  SetCall(nullptr);
  if (stop_) return absl::OkStatus();
  if (a->status.ok()) {
    RecordServerStatus(resp, connected_before);
    absl::MutexLock lock(&mu_);
    connect_error_.reset();
    return absl::OkStatus();
  }
  if (a->status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    a->status = grpc::Status::OK;  // some servers do not implement it; flows still work
    absl::MutexLock lock(&mu_);
    connect_error_.reset();
    return absl::OkStatus();
  }
  if (Permanent(a->status.error_code())) {
    return absl::Status(
        ToAbsl(a->status.error_code()),
        absl::StrCat("relay ", addr, " refused the request: ", a->status.error_message()));
  }
  const grpc::Status& status = a->status;
  ConnectDiagnosis d = DiagnoseConnectFailure(
      static_cast<int>(status.error_code()), status.error_message(),
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
          TcpConnects(addr, std::min(options_.connect_timeout, absl::Seconds(2))),
      options_);
  if (d.cause == ConnectCause::kClosed && !options_.tls.enabled && PeerSpeaksTls()) {
    d.cause = ConnectCause::kPlaintextToTls;
    d.permanent = true;
    d.what = "the relay speaks TLS and closed the plaintext connection";
    d.fix =
        "add --tls (with --tls-ca-cert-files and --tls-server-name as the relay's "
        "certificate needs; Cilium: ui.hubble-relay.cilium.io)";
  }
  if (stop_) return absl::OkStatus();
  spdlog::debug("relay connect error addr={} cause={} grpc_code={} grpc_message=\"{}\"", addr,
                std::string(ConnectCauseName(d.cause)), static_cast<int>(status.error_code()),
                status.error_message());
  // A deadline cut short by the end of the budget says less than an earlier cause.
  bool truncated = limit < options_.connect_timeout &&
                   (d.cause == ConnectCause::kTimeout || d.cause == ConnectCause::kSilentPeer);
  absl::MutexLock lock(&mu_);
  if (!(truncated && connect_error_)) connect_error_ = std::move(d);
  a->connect_failure = connect_error_;
  return absl::OkStatus();
}

void RelayClient::RecordServerStatus(const ::observer::ServerStatusResponse& resp,
                                     bool connected_before) {
  RelayStatus rs;
  rs.version = resp.version();
  rs.num_flows = resp.num_flows();
  rs.max_flows = resp.max_flows();
  rs.seen_flows = resp.seen_flows();
  rs.uptime = absl::Nanoseconds(resp.uptime_ns());
  if (resp.has_num_connected_nodes()) rs.connected_nodes = resp.num_connected_nodes().value();
  if (resp.has_num_unavailable_nodes()) {
    rs.unavailable_nodes = resp.num_unavailable_nodes().value();
  }
  rs.unavailable_node_names.assign(resp.unavailable_nodes().begin(),
                                   resp.unavailable_nodes().end());
  rs.flows_rate = resp.flows_rate();
  spdlog::info(
      "relay {} addr={} version=\"{}\" connected_nodes={} unavailable_nodes={}{} "
      "flows_rate={:.1f} num_flows={} max_flows={} uptime={}",
      connected_before ? "reconnected" : "connected", options_.address, rs.version,
      rs.connected_nodes ? absl::StrCat(*rs.connected_nodes) : "n/a",
      rs.unavailable_nodes ? absl::StrCat(*rs.unavailable_nodes) : "n/a",
      rs.unavailable_node_names.empty()
          ? ""
          : absl::StrCat(" unavailable=", absl::StrJoin(rs.unavailable_node_names, ",")),
      rs.flows_rate, rs.num_flows, rs.max_flows, tw::FormatDuration(rs.uptime));
  absl::MutexLock lock(&mu_);
  status_ = std::move(rs);
}

std::optional<absl::Status> RelayClient::StreamFlows(const std::shared_ptr<grpc::Channel>& channel,
                                                     RelayResumeState& resume,
                                                     const WireEventCallback& callback,
                                                     Attempt* a) {
  const std::string& addr = options_.address;
  auto stub = ::observer::Observer::NewStub(channel);
  a->connected_at = clock_->Now();
  ::observer::GetFlowsRequest req = BuildGetFlowsRequest(options_, resume.newest);
  if (resume.newest) {
    spdlog::info("relay resuming addr={} since={} window={}", addr,
                 FormatRfc3339(*resume.newest - options_.resume_window),
                 tw::FormatDuration(options_.resume_window));
  }
  grpc::ClientContext ctx;
  SetCall(&ctx);
  a->stream_started = true;
  std::unique_ptr<grpc::ClientReader<::observer::GetFlowsResponse>> reader =
      stub->GetFlows(&ctx, req);
  connected_ = true;
  ::observer::GetFlowsResponse resp;
  bool keep_going = true;
  while (keep_going && reader->Read(&resp)) {
    a->received = true;
    if (absl::Status bad = flow::ValidateRanges(resp); !bad.ok()) {
      CountMalformed(bad);
      continue;
    }
    flow::Event ev = flow::EventFromProto(resp, symbol_cache_);
    if (!CountEvent(ev, resume)) continue;  // a re-read after a reconnect
    keep_going = callback(std::move(ev), resp);
  }
  connected_ = false;
  if (!keep_going) {
    ctx.TryCancel();
    reader->Finish();
    SetCall(nullptr);
    return absl::OkStatus();
  }
  a->status = reader->Finish();
  SetCall(nullptr);
  if (stop_) return std::nullopt;
  if (a->status.ok()) {
    // A non-follow request is done; so is a follow request whose `until` was reached.
    if (!options_.follow || options_.until) return absl::OkStatus();
    a->status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "relay ended the follow stream");
  }
  if (Permanent(a->status.error_code())) {
    return absl::Status(
        ToAbsl(a->status.error_code()),
        absl::StrCat("relay ", addr, " refused the request: ", a->status.error_message()));
  }
  return std::nullopt;
}

void RelayClient::CountMalformed(const absl::Status& why) {
  uint64_t n;
  {
    absl::MutexLock lock(&mu_);
    n = ++stats_.malformed;
  }
  // The first, then every 1000th: a relay sending nonsense must not flood the log.
  if (n == 1 || n % 1000 == 0) {
    spdlog::warn("relay sent a malformed flow addr={} error=\"{}\" skipped={}", options_.address,
                 std::string(why.message()), n);
  }
}

bool RelayClient::CountEvent(const flow::Event& ev, RelayResumeState& resume) {
  if (ev.flow) {
    absl::Time t = ev.flow->time != absl::UnixEpoch() ? ev.flow->time : ev.time;
    flow::Symbol node = !ev.node_name.empty() ? ev.node_name : ev.flow->node_name;
    if (resume.dedupe.SeenBefore(*ev.flow, node, t)) {
      absl::MutexLock lock(&mu_);
      ++stats_.events;
      ++stats_.duplicates;
      return false;
    }
    if (!resume.newest || t > *resume.newest) resume.newest = t;
    absl::MutexLock lock(&mu_);
    ++stats_.events;
    ++stats_.flows;
  } else if (ev.lost) {
    spdlog::debug("relay lost events source={} num={} node={}",
                  std::string(flow::LostEventSourceName(ev.lost->source)), ev.lost->num_events_lost,
                  ev.node_name.str());
    absl::MutexLock lock(&mu_);
    ++stats_.events;
    stats_.lost_by_source[std::string(flow::LostEventSourceName(ev.lost->source))] +=
        ev.lost->num_events_lost;
  } else if (ev.node_status) {
    spdlog::info("relay node status state={} nodes={}{}",
                 std::string(flow::NodeStateName(ev.node_status->state)),
                 absl::StrJoin(ev.node_status->node_names, ","),
                 ev.node_status->message.empty()
                     ? ""
                     : absl::StrCat(" message=\"", ev.node_status->message, "\""));
    absl::MutexLock lock(&mu_);
    ++stats_.events;
    ++stats_.node_status_events;
  }
  return true;
}

void RelayClient::LogRetry(const Attempt& a, absl::Duration delay, bool never_connected) {
  const std::string& addr = options_.address;
  if (a.stream_started) {
    spdlog::warn(
        "relay stream interrupted addr={} code={} error=\"{}\" streamed_for={} retry_in={}", addr,
        static_cast<int>(a.status.error_code()), a.status.error_message(),
        a.connected_at ? tw::FormatDuration(clock_->Now() - *a.connected_at) : "0s",
        tw::FormatDuration(delay));
  } else if (a.connect_failure) {
    // A command that gives up reports the cause itself when it does; its retries are
    // detail. A daemon's retries are news.
    spdlog::log(
        options_.fail_if_unreachable && never_connected ? spdlog::level::info : spdlog::level::warn,
        "relay {} addr={} cause={} error=\"{}\" fix=\"{}\" retry_in={}",
        never_connected ? "cannot connect" : "cannot reconnect", addr,
        std::string(ConnectCauseName(a.connect_failure->cause)), a.connect_failure->what,
        a.connect_failure->fix, tw::FormatDuration(delay));
  }
}

}  // namespace tw::sources
