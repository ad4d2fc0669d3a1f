#include "sources/relay/relay_client.h"

#include <fstream>
#include <sstream>
#include <tuple>

#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/time_format.h"
#include "flow/proto_convert.h"
#include "grpcpp/grpcpp.h"
#include "observer/observer.grpc.pb.h"
#include "spdlog/spdlog.h"

namespace tw::sources {

namespace {

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  int64_t ns = absl::ToUnixNanos(t);
  int64_t secs = ns / 1000000000;
  int64_t nanos = ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --secs;
  }
  ts->set_seconds(secs);
  ts->set_nanos(static_cast<int32_t>(nanos));
}

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

absl::string_view StateName(grpc_connectivity_state s) {
  switch (s) {
    case GRPC_CHANNEL_IDLE:
      return "IDLE";
    case GRPC_CHANNEL_CONNECTING:
      return "CONNECTING";
    case GRPC_CHANNEL_READY:
      return "READY";
    case GRPC_CHANNEL_TRANSIENT_FAILURE:
      return "TRANSIENT_FAILURE";
    case GRPC_CHANNEL_SHUTDOWN:
      return "SHUTDOWN";
  }
  return "?";
}

}  // namespace

// --- FlowDeduper ------------------------------------------------------------------------

std::string FlowDeduper::KeyFor(const flow::Flow& f, flow::Symbol node, absl::Time t) {
  if (!f.uuid.empty()) return f.uuid;
  // No uuid (Hubble before 1.14): the same event read twice has the same time, node and
  // content; two different events agreeing on all of them are indistinguishable anyway.
  size_t h = absl::Hash<std::tuple<absl::string_view, absl::string_view, absl::string_view, int,
                                   int, int, int, int, int, int, uint32_t, uint32_t,
                                   absl::string_view, absl::string_view, absl::string_view>>{}(
      std::make_tuple(
          f.source_ip, f.destination_ip, f.source.pod_name.view(), static_cast<int>(f.verdict),
          static_cast<int>(f.l4.protocol), f.l4.source_port, f.l4.destination_port, f.l4.tcp_flags,
          f.event_type, f.event_sub_type, f.source.identity, f.destination.identity,
          f.destination.pod_name.view(), f.summary,
          f.l7 && f.l7->dns ? absl::string_view(f.l7->dns->query) : absl::string_view()));
  return absl::StrCat("t", absl::ToUnixNanos(t), "|", node.view(), "|",
                      absl::Hex(h, absl::kZeroPad16));
}

bool FlowDeduper::SeenBefore(const flow::Flow& f, flow::Symbol node, absl::Time t) {
  std::string key = KeyFor(f, node, t);
  if (set_.contains(key)) return true;
  if (t > newest_) newest_ = t;
  set_.insert(key);
  order_.emplace_back(t, std::move(key));
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
    SetTimestamp(since, req.mutable_since());
    req.set_follow(o.follow);
  } else {
    req.set_number(o.number);
    req.set_first(o.first);
    req.set_follow(o.follow);
    if (o.since) SetTimestamp(*o.since, req.mutable_since());
  }
  if (o.until) SetTimestamp(*o.until, req.mutable_until());
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
  absl::Time until = absl::Now() + d;
  while (!stop_ && absl::Now() < until) wake_.WaitWithDeadline(&mu_, until);
}

SourceStats RelayClient::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

std::optional<RelayStatus> RelayClient::last_status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

absl::Status RelayClient::Run(const EventCallback& callback) {
  auto creds = MakeRelayCredentials(options_.tls);
  if (!creds.ok()) return creds.status();

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

  const std::string& addr = options_.address;
  spdlog::info("relay connecting addr={} tls={} mtls={} follow={} number={} first={}", addr,
               options_.tls.enabled, !options_.tls.cert_file.empty(), options_.follow,
               options_.number, options_.first);

  Backoff backoff(options_.backoff, options_.seed);
  std::shared_ptr<RelayResumeState> resume =
      options_.resume ? options_.resume
                      : std::make_shared<RelayResumeState>(options_.resume_window,
                                                           options_.dedupe_capacity);
  FlowDeduper& dedupe = resume->dedupe;
  std::optional<absl::Time>& newest = resume->newest;  // the resume point
  int failures = 0;
  bool connected_before = false;
  std::string last_error;

  while (!stop_) {
    bool received = false;
    std::optional<absl::Time> connected_at;
    grpc::Status status;
    auto channel = grpc::CreateCustomChannel(addr, *creds, args);

    // Connect, bounded by the deadline and interruptible by Stop().
    absl::Time deadline = absl::Now() + options_.connect_timeout;
    grpc_connectivity_state state = channel->GetState(true);
    while (state != GRPC_CHANNEL_READY && !stop_ && absl::Now() < deadline) {
      if (state == GRPC_CHANNEL_TRANSIENT_FAILURE) break;
      absl::Time slice = std::min(deadline, absl::Now() + absl::Milliseconds(100));
      channel->WaitForStateChange(state, absl::ToChronoTime(slice));
      state = channel->GetState(true);
    }
    if (stop_) break;

    if (state != GRPC_CHANNEL_READY) {
      status = grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          absl::StrCat("cannot connect to relay ", addr, " (channel ", StateName(state),
                       state == GRPC_CHANNEL_TRANSIENT_FAILURE ? "" : " at the connect deadline",
                       ")"));
    } else {
      auto stub = ::observer::Observer::NewStub(channel);
      // ServerStatus, with the deadline: a peer that speaks TCP but not gRPC ends here.
      {
        grpc::ClientContext ctx;
        ctx.set_deadline(Deadline(options_.connect_timeout));
        SetCall(&ctx);
        ::observer::ServerStatusResponse resp;
        status = stub->ServerStatus(&ctx, ::observer::ServerStatusRequest(), &resp);
        SetCall(nullptr);
        if (status.ok()) {
          RelayStatus rs;
          rs.version = resp.version();
          rs.num_flows = resp.num_flows();
          rs.max_flows = resp.max_flows();
          rs.seen_flows = resp.seen_flows();
          rs.uptime = absl::Nanoseconds(resp.uptime_ns());
          if (resp.has_num_connected_nodes())
            rs.connected_nodes = resp.num_connected_nodes().value();
          if (resp.has_num_unavailable_nodes()) {
            rs.unavailable_nodes = resp.num_unavailable_nodes().value();
          }
          rs.unavailable_node_names.assign(resp.unavailable_nodes().begin(),
                                           resp.unavailable_nodes().end());
          rs.flows_rate = resp.flows_rate();
          spdlog::info(
              "relay {} addr={} version=\"{}\" connected_nodes={} unavailable_nodes={}{} "
              "flows_rate={:.1f} num_flows={} max_flows={} uptime={}",
              connected_before ? "reconnected" : "connected", addr, rs.version,
              rs.connected_nodes ? absl::StrCat(*rs.connected_nodes) : "n/a",
              rs.unavailable_nodes ? absl::StrCat(*rs.unavailable_nodes) : "n/a",
              rs.unavailable_node_names.empty()
                  ? ""
                  : absl::StrCat(" unavailable=", absl::StrJoin(rs.unavailable_node_names, ",")),
              rs.flows_rate, rs.num_flows, rs.max_flows, tw::FormatDuration(rs.uptime));
          absl::MutexLock lock(&mu_);
          status_ = std::move(rs);
        } else if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
          status = grpc::Status::OK;  // some servers do not implement it; flows still work
        }
      }
      if (stop_) break;

      if (status.ok()) {
        connected_before = true;
        connected_at = clock_->Now();
        ::observer::GetFlowsRequest req = BuildGetFlowsRequest(options_, newest);
        if (newest) {
          spdlog::info("relay resuming addr={} since={} window={}", addr,
                       FormatRfc3339(*newest - options_.resume_window),
                       tw::FormatDuration(options_.resume_window));
        }
        grpc::ClientContext ctx;
        SetCall(&ctx);
        std::unique_ptr<grpc::ClientReader<::observer::GetFlowsResponse>> reader =
            stub->GetFlows(&ctx, req);
        connected_ = true;
        ::observer::GetFlowsResponse resp;
        bool keep_going = true;
        while (keep_going && reader->Read(&resp)) {
          if (!received) {
            received = true;
            failures = 0;
            backoff.Reset();
          }
          flow::Event ev = flow::EventFromProto(resp, symbols_);
          if (ev.flow) {
            absl::Time t = ev.flow->time != absl::UnixEpoch() ? ev.flow->time : ev.time;
            flow::Symbol node = !ev.node_name.empty() ? ev.node_name : ev.flow->node_name;
            if (dedupe.SeenBefore(*ev.flow, node, t)) {
              absl::MutexLock lock(&mu_);
              ++stats_.events;
              ++stats_.duplicates;
              continue;
            }
            if (!newest || t > *newest) newest = t;
            absl::MutexLock lock(&mu_);
            ++stats_.events;
            ++stats_.flows;
          } else if (ev.lost) {
            spdlog::debug("relay lost events source={} num={} node={}",
                          std::string(flow::LostEventSourceName(ev.lost->source)),
                          ev.lost->num_events_lost, ev.node_name.str());
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
          keep_going = callback(std::move(ev));
        }
        connected_ = false;
        if (!keep_going) {
          ctx.TryCancel();
          reader->Finish();
          SetCall(nullptr);
          return absl::OkStatus();
        }
        status = reader->Finish();
        SetCall(nullptr);
        if (stop_) break;
        if (status.ok()) {
          // A non-follow request is done; so is a follow request whose `until` was reached.
          if (!options_.follow || options_.until) return absl::OkStatus();
          status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "relay ended the follow stream");
        }
      }
      if (!status.ok() && Permanent(status.error_code())) {
        return absl::Status(
            ToAbsl(status.error_code()),
            absl::StrCat("relay ", addr, " refused the request: ", status.error_message()));
      }
    }

    last_error = status.error_message();
    if (!received) ++failures;
    if (options_.max_attempts > 0 && failures >= options_.max_attempts) {
      return absl::UnavailableError(absl::StrCat("relay ", addr, " unavailable after ", failures,
                                                 " attempt(s): ", last_error));
    }
    absl::Duration delay = backoff.Next();
    {
      absl::MutexLock lock(&mu_);
      ++stats_.reconnects;
    }
    spdlog::warn(
        "relay stream interrupted addr={} code={} error=\"{}\" streamed_for={} retry_in={}", addr,
        static_cast<int>(status.error_code()), status.error_message(),
        connected_at ? tw::FormatDuration(clock_->Now() - *connected_at) : "0s",
        tw::FormatDuration(delay));
    Sleep(delay);
  }
  return absl::OkStatus();
}

}  // namespace tw::sources
