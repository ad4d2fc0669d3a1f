#include "replay/replay_server.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "flow/filter.h"
#include "flow/proto_convert.h"
#include "google/protobuf/util/field_mask_util.h"
#include "grpcpp/grpcpp.h"
#include "observer/observer.grpc.pb.h"
#include "sources/relay/grpc_logging.h"
#include "spdlog/spdlog.h"

namespace tw::replay {

namespace {

using ::google::protobuf::FieldMask;
using ::google::protobuf::util::FieldMaskUtil;
using ::observer::GetFlowsResponse;

absl::Time EventTime(const flow::Event& ev) {
  if (ev.flow && ev.flow->time != absl::UnixEpoch()) return ev.flow->time;
  return ev.time;
}

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", what, " ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes responses and owns the scratch messages rewritten events are built in. (gRPC's
// buffer hint is not used: in the sync API a hinted Write waits for a later flush, which
// stalls a stream whose last message was hinted.)
class Sender {
 public:
  explicit Sender(grpc::ServerWriter<GetFlowsResponse>* w) : w_(w) {}
  GetFlowsResponse* scratch() { return &scratch_[cur_]; }
  void Push(const GetFlowsResponse* m) {
    if (ok_) ok_ = w_->Write(*m);
    if (m == &scratch_[cur_]) cur_ ^= 1;
  }
  bool ok() const { return ok_; }

 private:
  grpc::ServerWriter<GetFlowsResponse>* w_;
  GetFlowsResponse scratch_[2];
  int cur_ = 0;
  bool ok_ = true;
};

}  // namespace

class ReplayServer::Service final : public ::observer::Observer::Service {
 public:
  explicit Service(ReplayServer* s) : s_(s) {}

  grpc::Status GetFlows(grpc::ServerContext* ctx, const ::observer::GetFlowsRequest* req,
                        grpc::ServerWriter<GetFlowsResponse>* writer) override;

  grpc::Status ServerStatus(grpc::ServerContext* ctx, const ::observer::ServerStatusRequest*,
                            ::observer::ServerStatusResponse* resp) override {
    ctx->AddInitialMetadata("hubble-relay-version", s_->options_.version);
    const uint64_t n = s_->events_.size();
    uint64_t k = n == 0 ? 0 : s_->Available();
    uint64_t cap = s_->options_.history_capacity;
    resp->set_num_flows(std::min(k, cap));
    resp->set_max_flows(cap);
    resp->set_seen_flows(k);
    resp->set_uptime_ns(
        static_cast<uint64_t>(absl::ToInt64Nanoseconds(s_->Now() - s_->start_time_)));
    resp->mutable_num_connected_nodes()->set_value(static_cast<uint32_t>(s_->node_names_.size()));
    resp->mutable_num_unavailable_nodes()->set_value(0);
    resp->set_version(s_->options_.version);
    bool producing = s_->options_.rate > 0 && (s_->options_.loop || k < n);
    resp->set_flows_rate(producing ? s_->options_.rate : 0.0);
    return grpc::Status::OK;
  }

  grpc::Status GetNodes(grpc::ServerContext*, const ::observer::GetNodesRequest*,
                        ::observer::GetNodesResponse* resp) override {
    uint64_t uptime = static_cast<uint64_t>(absl::ToInt64Nanoseconds(s_->Now() - s_->start_time_));
    for (size_t i = 0; i < s_->node_names_.size(); ++i) {
      auto* node = resp->add_nodes();
      node->set_name(s_->node_names_[i]);
      node->set_version(s_->options_.version);
      node->set_state(::relay::NODE_CONNECTED);
      node->set_uptime_ns(uptime);
      node->set_num_flows(s_->flows_per_node_[i]);
      node->set_max_flows(s_->options_.history_capacity);
      node->set_seen_flows(s_->flows_per_node_[i]);
      node->mutable_tls()->set_enabled(s_->options_.tls.enabled());
    }
    return grpc::Status::OK;
  }

  grpc::Status GetNamespaces(grpc::ServerContext*, const ::observer::GetNamespacesRequest*,
                             ::observer::GetNamespacesResponse* resp) override {
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& ev : s_->events_) {
      if (!ev.flow) continue;
      for (const flow::Endpoint* ep : {&ev.flow->source, &ev.flow->destination}) {
        if (!ep->namespace_.empty()) seen.emplace(ep->cluster_name.str(), ep->namespace_.str());
      }
    }
    for (const auto& [cluster, ns] : seen) {
      auto* out = resp->add_namespaces();
      out->set_cluster(cluster);
      out->set_namespace_(ns);
    }
    return grpc::Status::OK;
  }

 private:
  class FlowsCall;

  ReplayServer* s_;
};

// One GetFlows call: the request as read, the backlog it starts from, what was sent per node.
class ReplayServer::Service::FlowsCall {
 public:
  FlowsCall(ReplayServer* s, grpc::ServerContext* ctx, const ::observer::GetFlowsRequest* req,
            grpc::ServerWriter<GetFlowsResponse>* writer)
      : s_(s),
        ctx_(ctx),
        req_(req),
        out_(writer),
        n_(s->events_.size()),
        cap_(std::max<uint64_t>(1, s->options_.history_capacity)),
        number_(req->number()),
        buckets_(s->node_names_.size() + 1) {}

  // Every usage error, before anything is sent.
  grpc::Status ReadRequest() {
    if (req_->first() && req_->follow()) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "first cannot be combined with follow"};
    }
    auto filters = flow::FlowFilterSet::Compile(req_->whitelist(), req_->blacklist());
    if (!filters.ok()) {
      return {grpc::StatusCode::INVALID_ARGUMENT, std::string(filters.status().message())};
    }
    filters_ = *std::move(filters);
    // Field 10 since Hubble 1.16; 1.14–1.15 clients send experimental.field_mask.
    mask_ = req_->has_field_mask() && req_->field_mask().paths_size() > 0
                ? &req_->field_mask()
                : &req_->experimental().field_mask();
    for (const auto& path : mask_->paths()) {
      if (!FieldMaskUtil::GetFieldDescriptors(::flow::Flow::descriptor(), path, nullptr)) {
        return {grpc::StatusCode::INVALID_ARGUMENT,
                absl::StrCat("field_mask: unknown Flow path \"", path, "\"")};
      }
    }
    if (req_->has_since()) since_ = flow::TimeFromProto(req_->since());
    if (req_->has_until()) until_ = flow::TimeFromProto(req_->until());
    spdlog::debug("replay GetFlows peer={} number={} first={} follow={} since={} until={}",
                  ctx_->peer(), req_->number(), req_->first(), req_->follow(), req_->has_since(),
                  req_->has_until());
    return grpc::Status::OK;
  }

  grpc::Status Serve() {
    // The backlog is fixed before the node status goes out: whatever appears after a client
    // has seen the node status reaches it as new traffic.
    k0_ = s_->events_.empty() ? 0 : s_->Available();
    SendNodeStatus();
    lo_ = k0_ > cap_ ? k0_ - cap_ : 0;
    if (n_ > 0) ServeBacklog();
    if (!out_.ok()) return grpc::Status::OK;  // the client went away
    if (ended_ || !req_->follow()) return grpc::Status::OK;
    return Follow();
  }

 private:
  void SendNodeStatus() {
    GetFlowsResponse status;
    status.mutable_node_status()->set_state_change(::relay::NODE_CONNECTED);
    for (const auto& n : s_->node_names_) status.mutable_node_status()->add_node_names(n);
    flow::TimeToProto(s_->Now(), status.mutable_time());
    out_.Push(&status);
  }

  // Whether the filters let event k through (a looped flow with the uuid it is sent with).
  bool Passes(uint64_t k) const {
    const flow::Event& ev = s_->events_[k % n_];
    if (!ev.flow || filters_.empty()) return true;
    if (k >= n_ && filters_.uses_uuid()) {
      flow::Flow copy = *ev.flow;
      copy.uuid = s_->UuidFor(k / n_, k % n_);
      return filters_.Matches(copy);
    }
    return filters_.Matches(*ev.flow);
  }

  // Sends event k, trimmed to the field mask; a flow past `until` ends the stream instead.
  void Emit(uint64_t k) {
    bool is_flow = s_->events_[k % n_].flow.has_value();
    if (until_ && is_flow && s_->TimeAt(k) > *until_) {
      ended_ = true;
      return;
    }
    const GetFlowsResponse* m = s_->WireAt(k, out_.scratch());
    if (is_flow && mask_->paths_size() > 0) {
      GetFlowsResponse* own = out_.scratch();
      if (m != own) *own = *m;
      FieldMaskUtil::TrimMessage(*mask_, own->mutable_flow());
      m = own;
    }
    out_.Push(m);
  }

  // Every node has its `number` flows.
  bool Saturated() const {
    if (number_ == 0 || s_->node_names_.empty()) return false;
    for (size_t i = 0; i + 1 < buckets_; ++i) {
      if (count_[i] < number_) return false;
    }
    return true;
  }

  // Event k's node; the last bucket is for flows without a node.
  size_t Bucket(uint64_t k) const {
    int b = s_->NodeAt(k);
    return b < 0 ? buckets_ - 1 : static_cast<size_t>(b);
  }

  // What the ring holds when the call comes: where it starts and which way it is chosen.
  void ServeBacklog() {
    count_.assign(buckets_, 0);
    uint64_t start = k0_;
    if (since_) {
      start = s_->LowerBound(lo_, k0_, *since_);
    } else if (req_->first()) {
      start = lo_;
    } else if (req_->follow() && number_ == 0) {
      start = k0_;  // only new events
    } else if (number_ == 0) {
      start = lo_;  // the whole buffer
    } else {
      ServeNewestPerNode();
      return;
    }
    ServeForward(start);
  }

  // Oldest first from `start`, up to `number` flows per node.
  void ServeForward(uint64_t start) {
    for (uint64_t k = start; k < k0_ && out_.ok() && !ended_; ++k) {
      if (s_->shutting_down() || ctx_->IsCancelled()) break;
      if (!s_->events_[k % n_].flow) {
        if (!Saturated()) Emit(k);
        continue;
      }
      size_t b = Bucket(k);
      if (number_ > 0 && count_[b] >= number_) continue;
      if (!Passes(k)) continue;
      Emit(k);
      ++count_[b];
      if (Saturated()) break;
    }
  }

  // The newest `number` flows per node, picked newest first and sent in order, with the
  // other events between them.
  void ServeNewestPerNode() {
    std::vector<uint64_t> picked;
    for (uint64_t k = k0_; k > lo_; --k) {
      uint64_t i = k - 1;
      if (!s_->events_[i % n_].flow) continue;
      size_t b = Bucket(i);
      if (count_[b] >= number_ || !Passes(i)) continue;
      picked.push_back(i);
      ++count_[b];
      if (Saturated()) break;
    }
    std::reverse(picked.begin(), picked.end());
    size_t next_pick = 0;
    uint64_t from = picked.empty() ? k0_ : picked.front();
    for (uint64_t k = from; k < k0_ && out_.ok() && !ended_; ++k) {
      if (next_pick < picked.size() && picked[next_pick] == k) {
        Emit(k);
        ++next_pick;
      } else if (!s_->events_[k % n_].flow) {
        Emit(k);
      }
    }
  }

  // Follow: everything that appears after the backlog, as it appears.
  grpc::Status Follow() {
    const bool pull = s_->options_.rate <= 0 && s_->options_.loop;
    uint64_t next = k0_;
    while (!ctx_->IsCancelled() && !s_->shutting_down() && n_ > 0) {
      uint64_t k = s_->Available();
      if (pull) {
        k = std::max(k, next + 4096);
        uint64_t hw = s_->high_water_.load();
        while (hw < k && !s_->high_water_.compare_exchange_weak(hw, k)) {
        }
      }
      if (k > next) {
        if (k - next > cap_) {
          SendLost(k - cap_ - next);
          next = k - cap_;
        }
        for (; next < k && out_.ok() && !ended_; ++next) {
          if (!s_->events_[next % n_].flow || Passes(next)) Emit(next);
        }
        if (!out_.ok() || ended_) return grpc::Status::OK;
        continue;
      }
      s_->WaitFor(UntilNext(next));
    }
    if (s_->shutting_down()) return {grpc::StatusCode::UNAVAILABLE, "replay is shutting down"};
    return grpc::Status::OK;
  }

  // Fell further behind than the ring holds: say so, as Hubble does (the caller skips).
  void SendLost(uint64_t lost_events) {
    GetFlowsResponse* lost = out_.scratch();
    lost->Clear();
    lost->mutable_lost_events()->set_source(::flow::HUBBLE_RING_BUFFER);
    lost->mutable_lost_events()->set_num_events_lost(lost_events);
    flow::TimeToProto(s_->Now(), lost->mutable_time());
    out_.Push(lost);
  }

  // How long to wait for event `next`: until it is due at the rate, polled every 100ms else.
  absl::Duration UntilNext(uint64_t next) const {
    absl::Duration wait = absl::Milliseconds(100);
    if (s_->options_.rate > 0 && (s_->options_.loop || next < n_)) {
      absl::Time due = s_->base_ + absl::Seconds(static_cast<double>(next) / s_->options_.rate);
      wait = std::clamp(due - s_->Now(), absl::Milliseconds(1), absl::Milliseconds(50));
    }
    return wait;
  }

  ReplayServer* s_;
  grpc::ServerContext* ctx_;
  const ::observer::GetFlowsRequest* req_;
  Sender out_;
  const uint64_t n_;
  const uint64_t cap_;
  const uint64_t number_;
  const size_t buckets_;  // one per node and a last one for flows without a node
  flow::FlowFilterSet filters_;
  const FieldMask* mask_ = nullptr;
  std::optional<absl::Time> since_, until_;
  uint64_t k0_ = 0;              // the end of the backlog
  uint64_t lo_ = 0;              // the oldest event the ring still holds at k0_
  std::vector<uint64_t> count_;  // flows sent per bucket
  bool ended_ = false;           // `until` reached
};

grpc::Status ReplayServer::Service::GetFlows(grpc::ServerContext* ctx,
                                             const ::observer::GetFlowsRequest* req,
                                             grpc::ServerWriter<GetFlowsResponse>* writer) {
  ctx->AddInitialMetadata("hubble-relay-version", s_->options_.version);
  FlowsCall call(s_, ctx, req, writer);
  grpc::Status st = call.ReadRequest();
  if (!st.ok()) return st;
  return call.Serve();
}

ReplayServer::ReplayServer(std::vector<flow::Event> events, ReplayOptions options)
    : options_(std::move(options)),
      clock_(options_.time_source != nullptr ? options_.time_source : &real_clock_) {
  // Relay-made node_status events are the server's to make; the rest is the timeline.
  events.erase(std::remove_if(events.begin(), events.end(),
                              [](const flow::Event& e) { return e.node_status.has_value(); }),
               events.end());
  // Lost events without a time take their predecessor's, so sorting keeps them in place.
  std::vector<absl::Time> times(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    absl::Time t = EventTime(events[i]);
    if (t == absl::UnixEpoch() && i > 0) t = times[i - 1];
    times[i] = t;
  }
  std::vector<size_t> order(events.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return times[a] < times[b]; });
  events_.reserve(events.size());
  times_.reserve(events.size());
  for (size_t i : order) {
    events_.push_back(std::move(events[i]));
    times_.push_back(times[i]);
  }

  std::set<std::string> names;
  for (const auto& ev : events_) {
    absl::string_view node = !ev.node_name.empty() ? ev.node_name.view()
                             : ev.flow             ? ev.flow->node_name.view()
                                                   : absl::string_view();
    if (!node.empty()) names.emplace(node);
  }
  node_names_.assign(names.begin(), names.end());
  flows_per_node_.assign(node_names_.size(), 0);
  node_index_.reserve(events_.size());
  wire_.resize(events_.size());
  for (size_t i = 0; i < events_.size(); ++i) {
    const flow::Event& ev = events_[i];
    absl::string_view node = !ev.node_name.empty() ? ev.node_name.view()
                             : ev.flow             ? ev.flow->node_name.view()
                                                   : absl::string_view();
    int idx = -1;
    if (!node.empty()) {
      idx = static_cast<int>(std::lower_bound(node_names_.begin(), node_names_.end(), node) -
                             node_names_.begin());
      if (ev.flow) ++flows_per_node_[idx];
    }
    node_index_.push_back(idx);
    flow::EventToProto(ev, &wire_[i]);
    if (wire_[i].node_name().empty() && !node.empty()) wire_[i].set_node_name(std::string(node));
    flow::TimeToProto(times_[i], wire_[i].mutable_time());
  }
  service_ = std::make_unique<Service>(this);
}

ReplayServer::~ReplayServer() { Shutdown(); }

std::string NormalizeListenAddress(const std::string& listen) {
  std::string port = listen;
  if (!port.empty() && port[0] == ':') port.erase(0, 1);
  uint32_t n = 0;
  if (!port.empty() && absl::SimpleAtoi(port, &n) && n <= 65535 &&
      port.find_first_not_of("0123456789") == std::string::npos) {
    return absl::StrCat("0.0.0.0:", port);
  }
  return listen;
}

namespace {

// Why HOST:PORT cannot be listened on, found by trying: gRPC only says that it failed.
std::string WhyCannotListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return "expected HOST:PORT, or a bare PORT for every interface";
  std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]"))
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  int gai = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
  if (gai != 0 || res == nullptr) {
    return absl::StrCat("cannot resolve \"", host, "\" (", gai_strerror(gai), ")");
  }
  std::string why = "gRPC refused the address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc = bind(fd, ai->ai_addr, ai->ai_addrlen);
    int err = errno;
    close(fd);
    if (rc == 0) continue;
    if (err == EADDRINUSE) {
      why = absl::StrCat("port ", port,
                         " is already in use (another replay, a relay or a port-forward?); "
                         "choose another with --listen, or port 0 for a free one");
    } else if (err == EACCES) {
      why = absl::StrCat("no permission to listen on port ", port,
                         " (ports below 1024 need privileges); choose a port above 1023");
    } else if (err == EADDRNOTAVAIL) {
      why = absl::StrCat("\"", host, "\" is not an address of this machine");
    } else {
      why = std::strerror(err);
    }
    break;
  }
  freeaddrinfo(res);
  return why;
}

}  // namespace

absl::Status ReplayServer::Start() {
  sources::RouteGrpcLogsToSpdlog();
  start_time_ = Now();
  base_ = options_.start_at.value_or(start_time_);
  const std::string listen = NormalizeListenAddress(options_.listen);

  std::shared_ptr<grpc::ServerCredentials> creds;
  if (options_.tls.enabled()) {
    grpc::SslServerCredentialsOptions ssl;
    auto cert = ReadFile(options_.tls.cert_file, "TLS certificate");
    if (!cert.ok()) return cert.status();
    auto key = ReadFile(options_.tls.key_file, "TLS key");
    if (!key.ok()) return key.status();
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    if (!options_.tls.client_ca_file.empty()) {
      auto ca = ReadFile(options_.tls.client_ca_file, "client CA");
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
      ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    creds = grpc::SslServerCredentials(ssl);
  } else {
    creds = grpc::InsecureServerCredentials();
  }

  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, creds, &port_);
  builder.RegisterService(service_.get());
  // Port 0 must be a fresh port; a fixed port is reusable right after a kill -9 anyway
  // (SO_REUSEADDR), which the resume tests rely on.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Accept the keepalive pings a Hubble client sends on idle follow streams.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen, ": ", WhyCannotListen(listen)));
  }
  size_t colon = listen.rfind(':');
  host_ = colon == std::string::npos ? listen : listen.substr(0, colon);
  if (host_.empty()) host_ = "0.0.0.0";
  spdlog::info("replay listening addr={} events={} nodes={} rate={} loop={} tls={} mtls={}",
               address(), events_.size(), node_names_.size(), options_.rate, options_.loop,
               options_.tls.enabled(), !options_.tls.client_ca_file.empty());
  return absl::OkStatus();
}

std::string ReplayServer::address() const { return absl::StrCat(host_, ":", port_); }

void ReplayServer::Shutdown() {
  if (shutting_down_.exchange(true)) return;
  Wakeup();
  if (server_ != nullptr) {
    // Streams notice shutting_down_ within one wait slice; the deadline is a backstop.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
  }
}

void ReplayServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

void ReplayServer::Wakeup() {
  absl::MutexLock lock(&wake_mu_);
  wake_cv_.SignalAll();
}

void ReplayServer::WaitFor(absl::Duration d) {
  absl::MutexLock lock(&wake_mu_);
  if (shutting_down()) return;
  wake_cv_.WaitWithTimeout(&wake_mu_, d);
}

uint64_t ReplayServer::Available() const {
  const uint64_t n = events_.size();
  if (n == 0) return 0;
  if (options_.rate > 0) {
    absl::Time now = Now();
    if (now < base_) return 0;
    double k = std::floor(absl::ToDoubleSeconds(now - base_) * options_.rate) + 1;
    uint64_t avail = k >= 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(k);
    return options_.loop ? avail : std::min(avail, n);
  }
  if (!options_.loop) return n;
  return std::max(n, high_water_.load());
}

absl::Time ReplayServer::TimeAt(uint64_t k) const {
  const uint64_t n = events_.size();
  if (k < n) return times_[k];
  // Looped passes: increasing, and in range for as long as anyone runs a replay. Never
  // before the recorded last event, so the timeline stays sorted for `since` lookups.
  const absl::Time after_capture = times_.back() + absl::Nanoseconds(k - n + 1);
  if (options_.rate > 0) {
    absl::Time appears = base_ + absl::Seconds(static_cast<double>(k) / options_.rate);
    return std::max(appears, after_capture);
  }
  return times_.back() + absl::Microseconds(k - n + 1);
}

uint64_t ReplayServer::LowerBound(uint64_t lo, uint64_t hi, absl::Time t) const {
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (TimeAt(mid) < t) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

std::string ReplayServer::UuidFor(uint64_t pass, uint64_t index) const {
  uint64_t a = SplitMix64(options_.uuid_seed ^ SplitMix64(pass * 0x100000001b3ull + index));
  uint64_t b = SplitMix64(a ^ 0x5bd1e995u);
  // RFC 4122 version 4 layout so the value passes for a Hubble uuid.
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                         0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffull);
}

const GetFlowsResponse* ReplayServer::WireAt(uint64_t k, GetFlowsResponse* out) const {
  const uint64_t n = events_.size();
  const uint64_t pass = k / n, i = k % n;
  if (pass == 0) return &wire_[i];
  *out = wire_[i];
  absl::Time t = TimeAt(k);
  flow::TimeToProto(t, out->mutable_time());
  if (out->has_flow()) {
    flow::TimeToProto(t, out->mutable_flow()->mutable_time());
    out->mutable_flow()->set_uuid(UuidFor(pass, i));
  }
  return out;
}

flow::Event ReplayServer::EventAt(uint64_t k) const {
  const uint64_t n = events_.size();
  const uint64_t pass = k / n, i = k % n;
  flow::Event ev = events_[i];
  absl::Time t = TimeAt(k);
  ev.time = t;
  if (ev.flow) {
    ev.flow->time = t;
    if (pass > 0) ev.flow->uuid = UuidFor(pass, i);
  }
  return ev;
}

}  // namespace tw::replay
