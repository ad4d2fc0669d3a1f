// RelayClient against scripted gRPC servers on loopback port 0 (resume requests, duplicate
// dropping, error handling) and against peers that never answer (no hang). The
// end-to-end tests against the replay relay are in tests/replay and tests/integration.
#include "sources/relay/relay_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/time_source.h"
#include "flow/proto_convert.h"
#include "grpcpp/grpcpp.h"
#include "observer/observer.grpc.pb.h"

namespace tw::sources {
namespace {

using ::observer::GetFlowsRequest;
using ::observer::GetFlowsResponse;

const absl::Time kT0 = absl::FromUnixSeconds(1764300000);

void SetTs(absl::Time t, google::protobuf::Timestamp* ts) {
  ts->set_seconds(absl::ToUnixSeconds(t));
  ts->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(absl::ToUnixSeconds(t)))));
}
absl::Time FromTs(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

GetFlowsResponse FlowAt(int i, bool with_uuid = true) {
  GetFlowsResponse r;
  auto* f = r.mutable_flow();
  absl::Time t = kT0 + absl::Milliseconds(100) * i;
  SetTs(t, f->mutable_time());
  SetTs(t, r.mutable_time());
  if (with_uuid) f->set_uuid(absl::StrFormat("uuid-%04d", i));
  f->set_verdict(::flow::FORWARDED);
  f->mutable_ip()->set_source(absl::StrCat("10.0.0.", i % 250));
  f->set_node_name(i % 2 ? "n1" : "n2");
  r.set_node_name(f->node_name());
  return r;
}

// A scripted observer: `handler` serves GetFlows call number `call`.
class FakeRelay final : public ::observer::Observer::Service {
 public:
  using Handler = std::function<grpc::Status(int call, grpc::ServerContext*, const GetFlowsRequest&,
                                             grpc::ServerWriter<GetFlowsResponse>*)>;
  explicit FakeRelay(Handler h) : handler_(std::move(h)) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(this);
    server_ = b.BuildAndStart();
  }
  ~FakeRelay() override { server_->Shutdown(std::chrono::system_clock::now()); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  std::vector<GetFlowsRequest> requests() {
    absl::MutexLock l(&mu_);
    return requests_;
  }

  grpc::Status GetFlows(grpc::ServerContext* ctx, const GetFlowsRequest* req,
                        grpc::ServerWriter<GetFlowsResponse>* w) override {
    int call;
    {
      absl::MutexLock l(&mu_);
      call = static_cast<int>(requests_.size());
      requests_.push_back(*req);
    }
    return handler_(call, ctx, *req, w);
  }
  grpc::Status ServerStatus(grpc::ServerContext*, const ::observer::ServerStatusRequest*,
                            ::observer::ServerStatusResponse* resp) override {
    resp->set_version("fake-relay");
    resp->mutable_num_connected_nodes()->set_value(2);
    resp->mutable_num_unavailable_nodes()->set_value(1);
    resp->add_unavailable_nodes("n3");
    resp->set_flows_rate(12.5);
    return grpc::Status::OK;
  }

 private:
  Handler handler_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  absl::Mutex mu_;
  std::vector<GetFlowsRequest> requests_;
};

grpc::Status HoldUntilCancelled(grpc::ServerContext* ctx) {
  while (!ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
  return grpc::Status::CANCELLED;
}

struct RunResult {
  absl::Status status;
  std::vector<flow::Event> events;
  SourceStats stats;
  bool finished = false;  // Run() returned by itself (before the watchdog stopped it)
};

// Runs the client on a thread; stops it when `done` holds or after `watchdog`.
RunResult RunClient(RelayClientOptions o, flow::SymbolTable& symbols,
                    std::function<bool(const std::vector<flow::Event>&)> done = nullptr,
                    absl::Duration watchdog = absl::Seconds(30)) {
  RelayClient client(o, symbols);
  RunResult r;
  absl::Mutex mu;
  std::atomic<bool> finished{false};
  std::thread t([&] {
    r.status = client.Run([&](flow::Event&& ev) {
      absl::MutexLock l(&mu);
      r.events.push_back(std::move(ev));
      return true;
    });
    finished = true;
  });
  absl::Time deadline = absl::Now() + watchdog;
  while (!finished && absl::Now() < deadline) {
    {
      absl::MutexLock l(&mu);
      if (done && done(r.events)) break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  r.finished = finished;
  client.Stop();
  t.join();
  r.stats = client.stats();
  return r;
}

std::vector<std::string> Uuids(const std::vector<flow::Event>& evs) {
  std::vector<std::string> out;
  for (const auto& e : evs) {
    if (e.flow) out.push_back(e.flow->uuid);
  }
  return out;
}

RelayClientOptions Fast(const std::string& addr) {
  RelayClientOptions o;
  o.address = addr;
  o.connect_timeout = absl::Seconds(5);
  o.backoff = {absl::Milliseconds(10), absl::Milliseconds(50), 2.0, 0.5};
  o.resume_window = absl::Milliseconds(500);
  return o;
}

// A port the wire's uint32 holds but a port cannot (65616 is not port 80): the message is
// skipped and counted as malformed, like such a capture line; the stream goes on.
TEST(RelayClientTest, OutOfRangePortsAreMalformedNeverTakenModulo) {
  FakeRelay relay([](int, grpc::ServerContext*, const GetFlowsRequest&,
                     grpc::ServerWriter<GetFlowsResponse>* w) {
    for (int i = 0; i < 4; ++i) {
      GetFlowsResponse r = FlowAt(i);
      auto* tcp = r.mutable_flow()->mutable_l4()->mutable_tcp();
      tcp->set_source_port(40000);
      tcp->set_destination_port(i == 1 ? 65616 : 80);
      if (i == 2) {
        r.mutable_flow()->mutable_l4()->mutable_icmpv4()->set_type(256 + 8);
      }
      w->Write(r);
    }
    return grpc::Status::OK;
  });
  flow::SymbolTable symbols;
  auto o = Fast(relay.address());
  o.follow = false;
  auto r = RunClient(o, symbols);
  EXPECT_TRUE(r.finished);
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(Uuids(r.events), (std::vector<std::string>{"uuid-0000", "uuid-0003"}));
  for (const auto& ev : r.events) EXPECT_EQ(ev.flow->l4.destination_port, 80);
  EXPECT_EQ(r.stats.malformed, 2u);
  EXPECT_EQ(r.stats.flows, 2u);
}

TEST(RelayClientTest, ResumesFromNewestMinusWindowAndDropsReReads) {
  FakeRelay relay([](int call, grpc::ServerContext* ctx, const GetFlowsRequest& req,
                     grpc::ServerWriter<GetFlowsResponse>* w) {
    if (call == 0) {
      for (int i = 0; i < 10; ++i) w->Write(FlowAt(i));
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "relay restarting");
    }
    // Serve from `since` as agents' ring buffers would: flows 4..14.
    absl::Time since = FromTs(req.since());
    for (int i = 0; i < 15; ++i) {
      if (kT0 + absl::Milliseconds(100) * i >= since) w->Write(FlowAt(i));
    }
    GetFlowsResponse lost;
    lost.mutable_lost_events()->set_source(::flow::OBSERVER_EVENTS_QUEUE);
    lost.mutable_lost_events()->set_num_events_lost(7);
    w->Write(lost);
    GetFlowsResponse ns;
    ns.mutable_node_status()->set_state_change(::relay::NODE_UNAVAILABLE);
    ns.mutable_node_status()->add_node_names("n3");
    w->Write(ns);
    return HoldUntilCancelled(ctx);
  });
  flow::SymbolTable symbols;
  auto o = Fast(relay.address());
  o.number = 20;
  auto r = RunClient(o, symbols, [](const std::vector<flow::Event>& evs) {
    return !evs.empty() && evs.back().node_status.has_value();
  });
  std::vector<std::string> want;
  for (int i = 0; i < 15; ++i) want.push_back(absl::StrFormat("uuid-%04d", i));
  EXPECT_EQ(Uuids(r.events), want);
  EXPECT_EQ(r.stats.duplicates, 6u);  // 4..9 re-read
  EXPECT_EQ(r.stats.reconnects, 1u);
  EXPECT_EQ(r.stats.flows, 15u);
  EXPECT_EQ(r.stats.lost_by_source["OBSERVER_EVENTS_QUEUE"], 7u);
  EXPECT_EQ(r.stats.node_status_events, 1u);

  auto reqs = relay.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].number(), 20u);
  EXPECT_FALSE(reqs[0].has_since());
  EXPECT_TRUE(reqs[1].follow());
  EXPECT_EQ(reqs[1].number(), 0u);
  EXPECT_EQ(FromTs(reqs[1].since()), kT0 + absl::Milliseconds(900) - absl::Milliseconds(500));
}

TEST(RelayClientTest, FlowsWithoutUuidAreDedupedByTimeNodeAndContent) {
  FakeRelay relay([](int call, grpc::ServerContext* ctx, const GetFlowsRequest&,
                     grpc::ServerWriter<GetFlowsResponse>* w) {
    for (int i = 0; i < (call == 0 ? 5 : 8); ++i) w->Write(FlowAt(i, /*with_uuid=*/false));
    if (call == 0) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "gone");
    // Same time and node as flow 7, different content: a different event.
    GetFlowsResponse twin = FlowAt(7, false);
    twin.mutable_flow()->mutable_ip()->set_source("10.9.9.9");
    w->Write(twin);
    return HoldUntilCancelled(ctx);
  });
  flow::SymbolTable symbols;
  auto r = RunClient(Fast(relay.address()), symbols, [](const std::vector<flow::Event>& evs) {
    size_t n = 0;
    for (const auto& e : evs) n += e.flow.has_value();
    return n >= 9;
  });
  std::vector<std::string> ips;
  for (const auto& e : r.events) {
    if (e.flow) ips.push_back(e.flow->source_ip);
  }
  EXPECT_EQ(ips,
            (std::vector<std::string>{"10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4",
                                      "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.9.9.9"}));
  EXPECT_EQ(r.stats.duplicates, 5u);
}

TEST(RelayClientTest, NonFollowEndsWhenTheStreamEnds) {
  FakeRelay relay([](int, grpc::ServerContext*, const GetFlowsRequest&,
                     grpc::ServerWriter<GetFlowsResponse>* w) {
    for (int i = 0; i < 3; ++i) w->Write(FlowAt(i));
    return grpc::Status::OK;
  });
  flow::SymbolTable symbols;
  auto o = Fast(relay.address());
  o.follow = false;
  auto r = RunClient(o, symbols);
  EXPECT_TRUE(r.finished);
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(Uuids(r.events).size(), 3u);
  EXPECT_EQ(relay.requests().size(), 1u);
}

TEST(RelayClientTest, RefusedRequestIsNotRetried) {
  FakeRelay relay(
      [](int, grpc::ServerContext*, const GetFlowsRequest&, grpc::ServerWriter<GetFlowsResponse>*) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad filter");
      });
  flow::SymbolTable symbols;
  auto r = RunClient(Fast(relay.address()), symbols);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status.message().find("bad filter"), std::string::npos);
  EXPECT_EQ(relay.requests().size(), 1u);
}

TEST(RelayClientTest, CallbackReturningFalseStopsTheStream) {
  FakeRelay relay([](int, grpc::ServerContext* ctx, const GetFlowsRequest&,
                     grpc::ServerWriter<GetFlowsResponse>* w) {
    for (int i = 0; !ctx->IsCancelled() && i < 100000; ++i) {
      if (!w->Write(FlowAt(i))) break;
    }
    return grpc::Status::OK;
  });
  flow::SymbolTable symbols;
  RelayClient client(Fast(relay.address()), symbols);
  int seen = 0;
  absl::Status st = client.Run([&](flow::Event&&) { return ++seen < 5; });
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(seen, 5);
}

// A TCP listener that accepts connections and never says a word.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        absl::MutexLock l(&mu_);
        accepted_.push_back(c);
      }
    });
  }
  ~SilentListener() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    for (int c : accepted_) close(c);
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  size_t accepted() {
    absl::MutexLock l(&mu_);
    return accepted_.size();
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<int> accepted_;
};

TEST(RelayClientTest, SilentPeerFailsAtTheConnectDeadline) {
  SilentListener silent;
  flow::SymbolTable symbols;
  auto o = Fast(silent.address());
  o.connect_timeout = absl::Milliseconds(300);
  o.max_attempts = 2;
  auto r = RunClient(o, symbols);
  EXPECT_TRUE(r.finished) << "Run() hung on a peer that never answers";
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable) << r.status;
  EXPECT_NE(r.status.message().find("did not answer gRPC"), std::string::npos) << r.status;
  EXPECT_GE(silent.accepted(), 1u);  // it did reach the peer
}

TEST(RelayClientTest, StopEndsRunWhileThePeerIsSilent) {
  SilentListener silent;
  flow::SymbolTable symbols;
  auto o = Fast(silent.address());
  o.connect_timeout = absl::Seconds(60);  // Stop(), not the deadline, must end it
  RelayClient client(o, symbols);
  std::atomic<bool> finished{false};
  absl::Status st;
  std::thread t([&] {
    st = client.Run([](flow::Event&&) { return true; });
    finished = true;
  });
  while (silent.accepted() == 0) absl::SleepFor(absl::Milliseconds(5));
  absl::SleepFor(absl::Milliseconds(100));
  client.Stop();
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!finished && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_TRUE(finished) << "Stop() did not end Run()";
  t.join();
  EXPECT_TRUE(st.ok()) << st;
}

TEST(RelayClientTest, StopEndsAnIdleFollowStream) {
  FakeRelay relay([](int, grpc::ServerContext* ctx, const GetFlowsRequest&,
                     grpc::ServerWriter<GetFlowsResponse>*) { return HoldUntilCancelled(ctx); });
  flow::SymbolTable symbols;
  RelayClient client(Fast(relay.address()), symbols);
  std::atomic<bool> finished{false};
  std::thread t([&] {
    EXPECT_TRUE(client.Run([](flow::Event&&) { return true; }).ok());
    finished = true;
  });
  while (relay.requests().empty()) absl::SleepFor(absl::Milliseconds(5));
  client.Stop();
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!finished && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_TRUE(finished);
  t.join();
  ASSERT_TRUE(client.last_status().has_value());
  EXPECT_EQ(client.last_status()->version, "fake-relay");
  EXPECT_EQ(client.last_status()->unavailable_node_names, std::vector<std::string>{"n3"});
}

TEST(RelayClientTest, UnreachableAddressGivesUpAfterMaxAttempts) {
  // A port nobody listens on: bind, note, close.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  flow::SymbolTable symbols;
  auto o = Fast(absl::StrCat("127.0.0.1:", ntohs(a.sin_port)));
  o.max_attempts = 3;
  auto r = RunClient(o, symbols);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(r.stats.reconnects, 2u);
}

TEST(RelayClientTest, RequestForFirstConnectionAndForResume) {
  RelayClientOptions o;
  o.follow = true;
  o.number = 50;
  o.since = kT0;
  o.until = kT0 + absl::Hours(1);
  o.whitelist.emplace_back().add_verdict(::flow::DROPPED);
  o.blacklist.emplace_back().add_source_pod("kube-system/");
  o.field_mask = {"verdict", "source"};
  auto req = BuildGetFlowsRequest(o, std::nullopt);
  EXPECT_EQ(req.number(), 50u);
  EXPECT_TRUE(req.follow());
  EXPECT_EQ(FromTs(req.since()), kT0);
  EXPECT_EQ(FromTs(req.until()), kT0 + absl::Hours(1));
  EXPECT_EQ(req.whitelist_size(), 1);
  EXPECT_EQ(req.blacklist_size(), 1);
  EXPECT_EQ(
      std::vector<std::string>(req.field_mask().paths().begin(), req.field_mask().paths().end()),
      (std::vector<std::string>{"verdict", "source", "time", "uuid"}));
  EXPECT_EQ(req.experimental().field_mask().paths_size(), 4);

  auto resume = BuildGetFlowsRequest(o, kT0 + absl::Minutes(5));
  EXPECT_EQ(resume.number(), 0u);
  EXPECT_FALSE(resume.first());
  EXPECT_EQ(FromTs(resume.since()), kT0 + absl::Minutes(5) - absl::Seconds(2));
  EXPECT_EQ(resume.whitelist_size(), 1);
  // Never earlier than the user's own since.
  auto early = BuildGetFlowsRequest(o, kT0 + absl::Seconds(1));
  EXPECT_EQ(FromTs(early.since()), kT0);
}

// Waits (bounded, real time) until the client is in its retry sleep after `reconnects`
// retries; returns the sleep's length.
std::optional<absl::Duration> AwaitRetrySleep(const RelayClient& c, uint64_t reconnects) {
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    auto d = c.sleeping_for();
    if (d && c.stats().reconnects >= reconnects) return d;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return std::nullopt;
}

// A relay that accepts the connection and drops every stream at once (flapping). The
// backoff restarts at each successful connect, so every retry waits `initial`, not 10 s,
// 20 s, 40 s... And the sleeps run on the injected clock: only Advance() ends them, so the
// test proves the delays without sleeping them.
TEST(RelayClientBackoffTest, AFlappingRelayIsRetriedAtTheInitialDelayOnTheInjectedClock) {
  FakeRelay relay(
      [](int, grpc::ServerContext*, const GetFlowsRequest&, grpc::ServerWriter<GetFlowsResponse>*) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "relay restarting");
      });
  ManualTimeSource clock(kT0);
  RelayClientOptions o = Fast(relay.address());
  o.backoff = {absl::Seconds(10), absl::Seconds(100), 2.0, 0.0};
  o.ready_retry_max = absl::Hours(1);  // the reset alone, not the READY cap
  o.time_source = &clock;
  flow::SymbolTable s;
  RelayClient client(o, s);
  std::thread t([&] { client.Run([](flow::Event&&) { return true; }).IgnoreError(); });
  for (uint64_t round = 1; round <= 4; ++round) {
    auto d = AwaitRetrySleep(client, round);
    ASSERT_TRUE(d.has_value()) << "round " << round;
    EXPECT_EQ(*d, absl::Seconds(10)) << "round " << round;
    clock.Advance(*d);
  }
  client.Stop();
  t.join();
  EXPECT_GE(relay.requests().size(), 4u);
}

TEST(RelayClientBackoffTest, WhileTheChannelIsReadyTheDelayIsCapped) {
  FakeRelay relay(
      [](int, grpc::ServerContext*, const GetFlowsRequest&, grpc::ServerWriter<GetFlowsResponse>*) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream dropped");
      });
  ManualTimeSource clock(kT0);
  RelayClientOptions o = Fast(relay.address());
  o.backoff = {absl::Seconds(10), absl::Seconds(100), 2.0, 0.0};
  o.ready_retry_max = absl::Seconds(2);
  o.time_source = &clock;
  flow::SymbolTable s;
  RelayClient client(o, s);
  std::thread t([&] { client.Run([](flow::Event&&) { return true; }).IgnoreError(); });
  auto d = AwaitRetrySleep(client, 1);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, absl::Seconds(2));
  client.Stop();
  t.join();
}

TEST(RelayClientBackoffTest, AnUnreachableRelayBacksOffExponentiallyOnTheInjectedClock) {
  ManualTimeSource clock(kT0);
  RelayClientOptions o = Fast("127.0.0.1:1");  // nothing listens on port 1
  o.backoff = {absl::Seconds(10), absl::Seconds(100), 2.0, 0.0};
  o.time_source = &clock;
  flow::SymbolTable s;
  RelayClient client(o, s);
  std::thread t([&] { client.Run([](flow::Event&&) { return true; }).IgnoreError(); });
  std::vector<absl::Duration> delays;
  for (uint64_t round = 1; round <= 4; ++round) {
    auto d = AwaitRetrySleep(client, round);
    ASSERT_TRUE(d.has_value()) << "round " << round;
    delays.push_back(*d);
    clock.Advance(*d);
  }
  client.Stop();
  t.join();
  EXPECT_EQ(delays, (std::vector<absl::Duration>{absl::Seconds(10), absl::Seconds(20),
                                                 absl::Seconds(40), absl::Seconds(80)}));
}

TEST(FlowDeduperTest, BoundedByWindowAndCapacity) {
  flow::SymbolTable s;
  FlowDeduper d(absl::Seconds(1), 1000);
  flow::Flow f;
  f.uuid = "a";
  EXPECT_FALSE(d.SeenBefore(f, s.Intern("n"), kT0));
  EXPECT_TRUE(d.SeenBefore(f, s.Intern("n"), kT0));
  // Much later flows push "a" out of the window (2 × window).
  flow::Flow g;
  g.uuid = "b";
  EXPECT_FALSE(d.SeenBefore(g, s.Intern("n"), kT0 + absl::Seconds(3)));
  EXPECT_EQ(d.size(), 1u);
  EXPECT_FALSE(d.SeenBefore(f, s.Intern("n"), kT0));

  FlowDeduper small(absl::Hours(1), 10);
  for (int i = 0; i < 100; ++i) {
    flow::Flow h;
    h.uuid = absl::StrCat(i);
    small.SeenBefore(h, {}, kT0);
  }
  EXPECT_EQ(small.size(), 10u);

  flow::Flow nouuid;
  nouuid.source_ip = "10.0.0.1";
  const FlowDeduper::Key k1 = FlowDeduper::KeyFor(nouuid, s.Intern("n1"), kT0);
  EXPECT_NE(k1, FlowDeduper::KeyFor(nouuid, s.Intern("n2"), kT0));
  EXPECT_NE(k1, FlowDeduper::KeyFor(nouuid, s.Intern("n1"), kT0 + absl::Nanoseconds(1)));
  nouuid.source_ip = "10.0.0.2";
  EXPECT_NE(k1, FlowDeduper::KeyFor(nouuid, s.Intern("n1"), kT0));
}

TEST(FlowDeduperTest, UuidKeysAreExactForHubblesFormAndHashedOtherwise) {
  flow::SymbolTable s;
  flow::Flow a, b;
  a.uuid = "3f0d6a9c-1b2e-4c5d-8e7f-a0b1c2d3e4f5";
  b.uuid = "3f0d6a9c-1b2e-4c5d-8e7f-a0b1c2d3e4f6";  // differs in the last digit
  const FlowDeduper::Key ka = FlowDeduper::KeyFor(a, s.Intern("n1"), kT0);
  EXPECT_EQ(ka.hi, 0x3f0d6a9c1b2e4c5dULL);
  EXPECT_EQ(ka.lo, 0x8e7fa0b1c2d3e4f5ULL);
  EXPECT_NE(ka, FlowDeduper::KeyFor(b, s.Intern("n1"), kT0));
  // The uuid alone identifies the flow: node and time do not enter the key.
  EXPECT_EQ(ka, FlowDeduper::KeyFor(a, s.Intern("n2"), kT0 + absl::Seconds(1)));
  // Upper-case hex is the same uuid.
  b.uuid = "3F0D6A9C-1B2E-4C5D-8E7F-A0B1C2D3E4F5";
  EXPECT_EQ(ka, FlowDeduper::KeyFor(b, {}, kT0));
  // Anything else is hashed: distinct strings, distinct keys; the same string, the same key.
  a.uuid = "bench-1-17";
  b.uuid = "bench-1-18";
  EXPECT_NE(FlowDeduper::KeyFor(a, {}, kT0), FlowDeduper::KeyFor(b, {}, kT0));
  EXPECT_EQ(FlowDeduper::KeyFor(a, {}, kT0), FlowDeduper::KeyFor(a, s.Intern("n"), kT0));
  a.uuid = "3f0d6a9c-1b2e-4c5d-8e7f-a0b1c2d3e4fz";  // right shape, not hex
  FlowDeduper d(absl::Seconds(1), 100);
  EXPECT_FALSE(d.SeenBefore(a, {}, kT0));
  EXPECT_TRUE(d.SeenBefore(a, {}, kT0));
}

TEST(RelayCredentialsTest, FileErrorsNameTheFile) {
  RelayTlsOptions tls;
  tls.enabled = true;
  tls.ca_files = {"/nonexistent/ca.crt"};
  auto c = MakeRelayCredentials(tls);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(c.status().message().find("/nonexistent/ca.crt"), std::string::npos);

  std::string path = ::testing::TempDir() + "/not-pem.crt";
  std::ofstream(path) << "hello";
  tls.ca_files = {path};
  EXPECT_EQ(MakeRelayCredentials(tls).status().code(), absl::StatusCode::kInvalidArgument);

  tls.ca_files.clear();
  tls.cert_file = path;
  EXPECT_EQ(MakeRelayCredentials(tls).status().code(), absl::StatusCode::kInvalidArgument);

  EXPECT_TRUE(MakeRelayCredentials(RelayTlsOptions()).ok());
}

}  // namespace
}  // namespace tw::sources
