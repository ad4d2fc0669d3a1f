// The replay relay and the relay client against each other over real gRPC on loopback
// port 0: request semantics (number per node, first, since/until, follow, field_mask,
// filters, lost events), pacing and looping, the status RPCs, TLS and mTLS, and resuming
// across a relay restart.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "flow/filter.h"
#include "grpcpp/grpcpp.h"
#include "observer/observer.grpc.pb.h"
#include "replay/replay_server.h"
#include "replay/synthetic_capture.h"
#include "replay/test_certs.h"
#include "sources/relay/relay_client.h"
#include "testing/eventually.h"

namespace tw::replay {
namespace {

using flow::Event;
using sources::RelayClient;
using sources::RelayClientOptions;
using testing::CaptureStart;
using testing::SyntheticCapture;
using testing::SyntheticUuid;

std::vector<const flow::Flow*> Flows(const std::vector<Event>& evs) {
  std::vector<const flow::Flow*> out;
  for (const auto& e : evs) {
    if (e.flow) out.push_back(&*e.flow);
  }
  return out;
}

std::vector<std::string> Uuids(const std::vector<Event>& evs) {
  std::vector<std::string> out;
  for (const auto* f : Flows(evs)) out.push_back(f->uuid);
  return out;
}

class ReplayRelayTest : public ::testing::Test {
 protected:
  std::unique_ptr<ReplayServer> Serve(std::vector<Event> events, ReplayOptions o = {}) {
    if (o.listen == ReplayOptions().listen) o.listen = "127.0.0.1:0";
    auto s = std::make_unique<ReplayServer>(std::move(events), o);
    absl::Status st = s->Start();
    EXPECT_TRUE(st.ok()) << st;
    return s;
  }

  RelayClientOptions ClientFor(const ReplayServer& s) {
    RelayClientOptions o;
    o.address = s.address();
    o.follow = false;
    o.connect_timeout = absl::Seconds(5);
    o.max_attempts = 1;
    o.backoff = {absl::Milliseconds(20), absl::Milliseconds(200), 2.0, 0.5};
    return o;
  }

  // Runs a client until its stream ends (non-follow) or `done` holds / the timeout passes.
  std::vector<Event> Collect(RelayClientOptions o, absl::Status* status = nullptr,
                             std::function<bool(const std::vector<Event>&)> done = nullptr,
                             absl::Duration timeout = absl::Seconds(20),
                             sources::SourceStats* stats = nullptr) {
    RelayClient client(o, symbols_);
    std::vector<Event> got;
    absl::Mutex mu;
    std::atomic<bool> finished{false};
    absl::Status st;
    std::thread t([&] {
      st = client.Run([&](Event&& ev) {
        absl::MutexLock lock(&mu);
        got.push_back(std::move(ev));
        return true;
      });
      finished = true;
    });
    absl::Time deadline = absl::Now() + timeout;
    while (!finished && absl::Now() < deadline) {
      {
        absl::MutexLock lock(&mu);
        if (done && done(got)) break;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    client.Stop();
    t.join();
    if (status != nullptr) *status = st;
    if (stats != nullptr) *stats = client.stats();
    EXPECT_TRUE(finished || done) << "client did not finish";
    return got;
  }

  static std::function<bool(const std::vector<Event>&)> HasFlows(size_t n) {
    return [n](const std::vector<Event>& evs) { return Flows(evs).size() >= n; };
  }

  flow::SymbolTable symbols_;
};

TEST_F(ReplayRelayTest, WholeCaptureInOrderAfterNodeStatus) {
  auto server = Serve(SyntheticCapture(symbols_, 300, 50));
  absl::Status st;
  sources::SourceStats stats;
  auto evs = Collect(ClientFor(*server), &st, nullptr, absl::Seconds(20), &stats);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_FALSE(evs.empty());
  ASSERT_TRUE(evs.front().node_status.has_value());
  EXPECT_EQ(evs.front().node_status->state, flow::NodeState::kConnected);
  EXPECT_EQ(evs.front().node_status->node_names,
            (std::vector<std::string>{"prod/worker-1", "prod/worker-2", "prod/worker-3"}));
  auto uuids = Uuids(evs);
  ASSERT_EQ(uuids.size(), 300u);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(uuids[i], SyntheticUuid(i));
  // Converted back intact, node and time included.
  auto flows = Flows(evs);
  EXPECT_EQ(flows[3]->verdict, flow::Verdict::kDropped);
  EXPECT_EQ(flows[3]->source.namespace_, "business");
  EXPECT_EQ(flows[3]->time, CaptureStart() + absl::Milliseconds(30));
  EXPECT_EQ(stats.flows, 300u);
  EXPECT_EQ(stats.node_status_events, 1u);
  EXPECT_EQ(stats.lost_by_source["PERF_EVENT_RING_BUFFER"], 6u * 3);
  EXPECT_EQ(stats.duplicates, 0u);
}

TEST_F(ReplayRelayTest, NumberIsPerNodeNewestFirstUnlessFirst) {
  auto server = Serve(SyntheticCapture(symbols_, 30));
  auto o = ClientFor(*server);
  o.number = 2;
  auto uuids = Uuids(Collect(o));
  // Newest two per node (node = i % 3), in time order.
  EXPECT_EQ(uuids,
            (std::vector<std::string>{SyntheticUuid(24), SyntheticUuid(25), SyntheticUuid(26),
                                      SyntheticUuid(27), SyntheticUuid(28), SyntheticUuid(29)}));
  o.first = true;
  uuids = Uuids(Collect(o));
  EXPECT_EQ(uuids,
            (std::vector<std::string>{SyntheticUuid(0), SyntheticUuid(1), SyntheticUuid(2),
                                      SyntheticUuid(3), SyntheticUuid(4), SyntheticUuid(5)}));
}

TEST_F(ReplayRelayTest, NumberCountsOnlyMatchingFlows) {
  auto server = Serve(SyntheticCapture(symbols_, 70));
  auto o = ClientFor(*server);
  o.number = 1;
  o.whitelist.emplace_back().add_verdict(::flow::DROPPED);
  auto evs = Collect(o);
  auto flows = Flows(evs);
  // Drops are i % 7 == 3: 3, 10, ..., 66. Newest per node: 66 (node 0), 59 (2), 52 (1).
  std::vector<std::string> got;
  for (const auto* f : flows) got.push_back(f->uuid);
  EXPECT_EQ(got,
            (std::vector<std::string>{SyntheticUuid(52), SyntheticUuid(59), SyntheticUuid(66)}));
}

TEST_F(ReplayRelayTest, FirstWithFollowIsInvalidArgument) {
  auto server = Serve(SyntheticCapture(symbols_, 10));
  auto o = ClientFor(*server);
  o.first = true;
  o.follow = true;
  o.number = 5;
  o.max_attempts = 3;
  absl::Status st;
  Collect(o, &st);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
}

TEST_F(ReplayRelayTest, SinceAndUntilBoundTheStream) {
  auto server = Serve(SyntheticCapture(symbols_, 100));
  auto o = ClientFor(*server);
  o.since = CaptureStart() + absl::Milliseconds(200);
  o.until = CaptureStart() + absl::Milliseconds(290);
  auto uuids = Uuids(Collect(o));
  std::vector<std::string> want;
  for (int i = 20; i <= 29; ++i) want.push_back(SyntheticUuid(i));
  EXPECT_EQ(uuids, want);

  // since with number: the first N per node after since.
  o.until.reset();
  o.number = 1;
  uuids = Uuids(Collect(o));
  EXPECT_EQ(uuids,
            (std::vector<std::string>{SyntheticUuid(20), SyntheticUuid(21), SyntheticUuid(22)}));
}

TEST_F(ReplayRelayTest, UntilEndsAFollowStream) {
  auto server = Serve(SyntheticCapture(symbols_, 50));
  auto o = ClientFor(*server);
  o.follow = true;
  o.since = CaptureStart();
  o.until = CaptureStart() + absl::Milliseconds(95);
  absl::Status st;
  auto uuids = Uuids(Collect(o, &st));
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(uuids.size(), 10u);
}

TEST_F(ReplayRelayTest, FiltersApplyOnTheServerAndLostEventsPassThem) {
  auto server = Serve(SyntheticCapture(symbols_, 140, 20));
  auto o = ClientFor(*server);
  flow::ObserveFilterBuilder fl;
  ASSERT_TRUE(fl.Set("verdict", "DROPPED").ok());
  ASSERT_TRUE(fl.Set("from-namespace", "business").ok());
  ASSERT_TRUE(fl.Set("to-port", "53").ok());
  auto req = fl.Build();
  ASSERT_TRUE(req.ok());
  o.whitelist = req->whitelist;
  sources::SourceStats stats;
  auto evs = Collect(o, nullptr, nullptr, absl::Seconds(20), &stats);
  auto flows = Flows(evs);
  ASSERT_EQ(flows.size(), 20u);
  for (const auto* f : flows) {
    EXPECT_EQ(f->verdict, flow::Verdict::kDropped);
    EXPECT_EQ(f->source.namespace_, "business");
  }
  EXPECT_EQ(stats.lost_by_source["PERF_EVENT_RING_BUFFER"], 7u * 3);

  // Blacklist: everything but drops.
  o.whitelist.clear();
  o.blacklist = req->whitelist;
  EXPECT_EQ(Flows(Collect(o)).size(), 120u);

  // A filter the server cannot compile is the client's permanent error.
  o.blacklist.clear();
  o.whitelist.emplace_back().add_source_ip("300.1.1.1");
  absl::Status st;
  Collect(o, &st);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
}

TEST_F(ReplayRelayTest, FieldMaskKeepsOnlyListedPaths) {
  auto server = Serve(SyntheticCapture(symbols_, 10));
  auto o = ClientFor(*server);
  o.field_mask = {"verdict", "source.namespace", "l4"};
  auto evs = Collect(o);
  auto flows = Flows(evs);
  ASSERT_EQ(flows.size(), 10u);
  const flow::Flow& f = *flows[3];
  EXPECT_EQ(f.verdict, flow::Verdict::kDropped);
  EXPECT_EQ(f.source.namespace_, "business");
  EXPECT_EQ(f.l4.destination_port, 53);
  EXPECT_EQ(f.uuid, SyntheticUuid(3));                         // added by the client
  EXPECT_EQ(f.time, CaptureStart() + absl::Milliseconds(30));  // added by the client
  EXPECT_TRUE(f.source.pod_name.empty());
  EXPECT_TRUE(f.source.labels.empty());
  EXPECT_TRUE(f.destination.namespace_.empty());
  EXPECT_TRUE(f.source_ip.empty());
  EXPECT_EQ(f.drop_reason_desc, 0u);
  // The response keeps its node_name.
  size_t i = 0;
  for (const auto& e : evs) {
    if (e.flow && i++ == 3) {
      EXPECT_EQ(e.node_name, "prod/worker-1");
    }
  }

  o.field_mask = {"no_such_field"};
  absl::Status st;
  Collect(o, &st);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ReplayRelayTest, RatePacedFollowWithInjectedClock) {
  ManualTimeSource clock(absl::FromUnixSeconds(1800000000));
  ReplayOptions ro;
  ro.rate = 10;  // event k appears at start + k/10 s
  ro.time_source = &clock;
  auto server = Serve(SyntheticCapture(symbols_, 40), ro);
  EXPECT_EQ(server->Available(), 1u);
  clock.Advance(absl::Milliseconds(950));  // events 0..9
  EXPECT_EQ(server->Available(), 10u);

  auto o = ClientFor(*server);
  o.follow = true;
  // number=0 and no since: only new flows, like Hubble. The clock moves once the client
  // has the node status (the server fixes the backlog before sending it).
  RelayClient client(o, symbols_);
  absl::Mutex mu;
  std::vector<std::string> uuids;
  bool connected = false;
  std::thread t([&] {
    EXPECT_TRUE(client
                    .Run([&](Event&& ev) {
                      absl::MutexLock lock(&mu);
                      if (ev.node_status) connected = true;
                      if (ev.flow) uuids.push_back(ev.flow->uuid);
                      return true;
                    })
                    .ok());
  });
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&connected), absl::Seconds(20)));
  }
  clock.Advance(absl::Seconds(1));  // events 10..19
  server->Wakeup();
  {
    absl::MutexLock lock(&mu);
    auto ten = [&] { return uuids.size() >= 10; };
    mu.AwaitWithTimeout(absl::Condition(&ten), absl::Seconds(20));
  }
  client.Stop();
  t.join();
  ASSERT_EQ(uuids.size(), 10u);
  EXPECT_EQ(uuids.front(), SyntheticUuid(10));
  EXPECT_EQ(uuids.back(), SyntheticUuid(19));

  // The non-follow backlog is what has appeared so far.
  o.follow = false;
  EXPECT_EQ(Uuids(Collect(o)).size(), 20u);
}

TEST_F(ReplayRelayTest, LoopLooksLikeNewTraffic) {
  ReplayOptions ro;
  ro.loop = true;
  auto server = Serve(SyntheticCapture(symbols_, 50), ro);
  auto o = ClientFor(*server);
  o.follow = true;
  o.since = CaptureStart();
  auto evs = Collect(o, nullptr, HasFlows(180), absl::Seconds(20));
  auto flows = Flows(evs);
  ASSERT_GE(flows.size(), 180u);
  std::set<std::string> uuids;
  for (size_t i = 0; i < flows.size(); ++i) {
    EXPECT_TRUE(uuids.insert(flows[i]->uuid).second) << "repeated uuid at " << i;
    if (i > 0) {
      EXPECT_GT(flows[i]->time, flows[i - 1]->time) << i;
    }
  }
  EXPECT_EQ(flows[0]->uuid, SyntheticUuid(0));
  EXPECT_NE(flows[50]->uuid, SyntheticUuid(0));
  EXPECT_EQ(flows[50]->uuid, server->EventAt(50).flow->uuid);  // deterministic per pass
  EXPECT_EQ(flows[50]->source_ip, flows[0]->source_ip);        // same traffic otherwise
  EXPECT_EQ(flows[50]->verdict, flows[0]->verdict);
}

// Flows recorded without a uuid get one in every looped pass: a client de-duplicating by
// uuid (or, without one, by time and content) must see the looped traffic, not drop it.
TEST_F(ReplayRelayTest, LoopGivesFlowsWithoutUuidFreshOnes) {
  ReplayOptions ro;
  ro.loop = true;
  auto server = Serve(SyntheticCapture(symbols_, 50, 0, /*with_uuid=*/false), ro);
  auto o = ClientFor(*server);
  o.follow = true;
  o.since = CaptureStart();
  sources::SourceStats stats;
  auto evs = Collect(o, nullptr, HasFlows(180), absl::Seconds(20), &stats);
  auto flows = Flows(evs);
  ASSERT_GE(flows.size(), 180u);
  EXPECT_EQ(stats.duplicates, 0u);
  EXPECT_TRUE(flows[0]->uuid.empty());  // pass 0 is the capture as recorded
  std::set<std::string> uuids;
  for (size_t i = 50; i < flows.size(); ++i) {
    EXPECT_FALSE(flows[i]->uuid.empty()) << i;
    EXPECT_TRUE(uuids.insert(flows[i]->uuid).second) << "repeated uuid at " << i;
  }
}

// However many passes a loop runs, times keep increasing and stay representable (no
// saturation at the end of absl/protobuf time, which made every later flow look alike).
TEST_F(ReplayRelayTest, LoopTimesKeepIncreasingWithinRange) {
  // Two flows 300 days apart: shifting each pass by the capture's span would leave the
  // representable range after some 300 passes.
  std::vector<Event> evs = SyntheticCapture(symbols_, 2);
  evs[1].flow->time = evs[0].flow->time + absl::Hours(24 * 300);
  ReplayOptions ro;
  ro.loop = true;
  auto server = Serve(evs, ro);
  const absl::Time limit = absl::FromCivil(absl::CivilYear(2200), absl::UTCTimeZone());
  absl::Time prev = absl::InfinitePast();
  for (uint64_t k :
       {0ull, 1ull, 2ull, 3ull, 1000ull, 1000001ull, 1000000000ull, 1000000000000ull}) {
    Event e = server->EventAt(k);
    ASSERT_TRUE(e.flow);
    EXPECT_GT(e.flow->time, prev) << "event " << k;
    EXPECT_LT(e.flow->time, limit) << "event " << k;
    prev = e.flow->time;
  }

  // Paced: a looped flow carries the time it appears, like live traffic.
  ReplayOptions paced;
  paced.loop = true;
  paced.rate = 100;
  paced.start_at = CaptureStart() + absl::Hours(1);
  auto live = Serve(SyntheticCapture(symbols_, 50), paced);
  EXPECT_EQ(live->EventAt(75).flow->time, *paced.start_at + absl::Milliseconds(750));
  EXPECT_EQ(live->EventAt(49).flow->time, CaptureStart() + absl::Milliseconds(490));
  EXPECT_GT(live->EventAt(50).flow->time, live->EventAt(49).flow->time);
}

TEST(ReplayListenTest, BarePortMeansEveryInterface) {
  EXPECT_EQ(NormalizeListenAddress("4245"), "0.0.0.0:4245");
  EXPECT_EQ(NormalizeListenAddress(":4245"), "0.0.0.0:4245");
  EXPECT_EQ(NormalizeListenAddress("127.0.0.1:4245"), "127.0.0.1:4245");
  EXPECT_EQ(NormalizeListenAddress("[::1]:4245"), "[::1]:4245");
  EXPECT_EQ(NormalizeListenAddress("relay"), "relay");
}

TEST_F(ReplayRelayTest, BusyPortNamesThePortAndTheCause) {
  auto first = Serve(SyntheticCapture(symbols_, 5));
  ReplayOptions o;
  o.listen = absl::StrCat("127.0.0.1:", first->port());
  ReplayServer second(SyntheticCapture(symbols_, 5), o);
  absl::Status st = second.Start();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(st.message().find(absl::StrCat("port ", first->port(), " is already in use")),
            std::string::npos)
      << st;
}

TEST_F(ReplayRelayTest, StatusNodesNamespaces) {
  auto server = Serve(SyntheticCapture(symbols_, 30));
  auto channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
  auto stub = ::observer::Observer::NewStub(channel);
  {
    grpc::ClientContext ctx;
    ::observer::ServerStatusResponse resp;
    ASSERT_TRUE(stub->ServerStatus(&ctx, {}, &resp).ok());
    EXPECT_EQ(resp.num_flows(), 30u);
    EXPECT_EQ(resp.seen_flows(), 30u);
    EXPECT_EQ(resp.num_connected_nodes().value(), 3u);
    EXPECT_EQ(resp.num_unavailable_nodes().value(), 0u);
    EXPECT_FALSE(resp.version().empty());
  }
  {
    grpc::ClientContext ctx;
    ::observer::GetNodesResponse resp;
    ASSERT_TRUE(stub->GetNodes(&ctx, {}, &resp).ok());
    ASSERT_EQ(resp.nodes_size(), 3);
    EXPECT_EQ(resp.nodes(0).name(), "prod/worker-1");
    EXPECT_EQ(resp.nodes(0).state(), ::relay::NODE_CONNECTED);
    EXPECT_EQ(resp.nodes(0).num_flows(), 10u);
  }
  {
    grpc::ClientContext ctx;
    ::observer::GetNamespacesResponse resp;
    ASSERT_TRUE(stub->GetNamespaces(&ctx, {}, &resp).ok());
    ASSERT_EQ(resp.namespaces_size(), 2);
    EXPECT_EQ(resp.namespaces(0).namespace_(), "business");
    EXPECT_EQ(resp.namespaces(1).namespace_(), "kube-system");
  }
  // The client logs and keeps what ServerStatus said.
  RelayClient client(ClientFor(*server), symbols_);
  ASSERT_TRUE(client.Run([](Event&&) { return true; }).ok());
  ASSERT_TRUE(client.last_status().has_value());
  EXPECT_EQ(client.last_status()->connected_nodes, 3u);
}

TEST_F(ReplayRelayTest, ShutdownEndsFollowersPromptly) {
  auto server = Serve(SyntheticCapture(symbols_, 10));
  auto o = ClientFor(*server);
  o.follow = true;
  RelayClient client(o, symbols_);
  std::atomic<int> got{0};
  std::thread t([&] {
    (void)client.Run([&](Event&&) {
      ++got;
      return true;
    });
  });
  ASSERT_TRUE(tw::testing::Eventually([&] { return got.load() > 0; }))  // node status arrived
      << "the follower received nothing";
  // Shutdown returns once every stream has ended: a follower waiting for flows that will
  // never come must not hold it up. The bound turns a hang into a failure (Stop() then
  // releases the stream so the test still ends).
  absl::Notification shut;
  std::thread stopper([&] {
    server->Shutdown();
    shut.Notify();
  });
  const bool prompt = shut.WaitForNotificationWithTimeout(absl::Seconds(10));
  client.Stop();
  stopper.join();
  t.join();
  EXPECT_TRUE(prompt) << "Shutdown did not end a following stream within 10s";
}

class ReplayTlsTest : public ReplayRelayTest {
 protected:
  void SetUp() override {
    if (!testing::OpensslAvailable()) GTEST_SKIP() << "openssl is not installed";
    auto pki = testing::MakeTestPki();
    ASSERT_TRUE(pki.has_value()) << "openssl could not make the test PKI";
    pki_ = *pki;
  }
  void TearDown() override {
    if (!pki_.dir.empty()) std::filesystem::remove_all(pki_.dir);
  }
  absl::Status Attempt(const ReplayServer& s, sources::RelayTlsOptions tls, size_t* flows) {
    auto o = ClientFor(s);
    o.tls = tls;
    o.connect_timeout = absl::Seconds(3);
    absl::Status st;
    *flows = Flows(Collect(o, &st)).size();
    return st;
  }
  testing::TestPki pki_;
};

TEST_F(ReplayTlsTest, TlsWithTheRightCaOnly) {
  ReplayOptions ro;
  ro.tls.cert_file = pki_.server_crt;
  ro.tls.key_file = pki_.server_key;
  auto server = Serve(SyntheticCapture(symbols_, 20), ro);
  size_t flows = 0;

  sources::RelayTlsOptions tls;
  tls.enabled = true;
  tls.ca_files = {pki_.ca_crt};
  absl::Status st = Attempt(*server, tls, &flows);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(flows, 20u);

  // Server-name override, as with Hubble's *.hubble-relay.cilium.io certificates.
  tls.server_name = "ui.hubble-relay.cilium.io";
  st = Attempt(*server, tls, &flows);
  EXPECT_TRUE(st.ok()) << st;
  tls.server_name = "relay.example.com";  // not in the certificate
  EXPECT_EQ(Attempt(*server, tls, &flows).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(flows, 0u);

  tls.server_name.clear();
  tls.ca_files = {pki_.other_ca_crt};
  EXPECT_EQ(Attempt(*server, tls, &flows).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(flows, 0u);

  // Plaintext against TLS fails (and does not hang).
  EXPECT_EQ(Attempt(*server, sources::RelayTlsOptions(), &flows).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(flows, 0u);

  tls.ca_files = {pki_.dir + "/missing.crt"};
  EXPECT_EQ(Attempt(*server, tls, &flows).code(), absl::StatusCode::kNotFound);
}

TEST_F(ReplayTlsTest, MutualTlsNeedsAClientCertificateFromTheCa) {
  ReplayOptions ro;
  ro.tls.cert_file = pki_.server_crt;
  ro.tls.key_file = pki_.server_key;
  ro.tls.client_ca_file = pki_.ca_crt;
  auto server = Serve(SyntheticCapture(symbols_, 20), ro);
  size_t flows = 0;

  sources::RelayTlsOptions tls;
  tls.enabled = true;
  tls.ca_files = {pki_.ca_crt};
  EXPECT_FALSE(Attempt(*server, tls, &flows).ok());
  EXPECT_EQ(flows, 0u);

  tls.cert_file = pki_.client_crt;
  tls.key_file = pki_.client_key;
  absl::Status st = Attempt(*server, tls, &flows);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(flows, 20u);

  // "tls://" in the address turns TLS on as in the hubble CLI.
  auto o = ClientFor(*server);
  o.address = "tls://" + server->address();
  o.tls.ca_files = {pki_.ca_crt};
  o.tls.cert_file = pki_.client_crt;
  o.tls.key_file = pki_.client_key;
  Collect(o, &st);
  EXPECT_TRUE(st.ok()) << st;
}

// The restart story in-process (tests/integration does it with kill -9): a paced replay
// stops mid-stream; a new one on the same port with the same start_at holds the flows the
// first one served, and the client resumes with neither loss nor duplicates.
TEST_F(ReplayRelayTest, ResumesAcrossARestartWithoutLossOrDuplicates) {
  const int kFlows = 600;
  ReplayOptions ro;
  ro.rate = 400;
  ro.start_at = absl::Now();
  auto server = Serve(SyntheticCapture(symbols_, kFlows), ro);
  const int port = server->port();

  auto o = ClientFor(*server);
  o.follow = true;
  o.since = CaptureStart() - absl::Seconds(1);
  o.max_attempts = 0;
  o.backoff = {absl::Milliseconds(20), absl::Milliseconds(100), 2.0, 0.5};
  RelayClient client(o, symbols_);
  std::vector<std::string> uuids;
  absl::Mutex mu;
  std::thread t([&] {
    (void)client.Run([&](Event&& ev) {
      if (ev.flow) {
        absl::MutexLock lock(&mu);
        uuids.push_back(ev.flow->uuid);
      }
      return true;
    });
  });
  auto count = [&] {
    absl::MutexLock lock(&mu);
    return uuids.size();
  };
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (count() < 150 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(2));
  server->Shutdown();
  server.reset();
  size_t at_restart = count();
  absl::SleepFor(absl::Milliseconds(300));  // the relay is away; the agents go on
  ro.listen = absl::StrCat("127.0.0.1:", port);
  server = Serve(SyntheticCapture(symbols_, kFlows), ro);
  while (count() < static_cast<size_t>(kFlows) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  client.Stop();
  t.join();
  EXPECT_LT(at_restart, static_cast<size_t>(kFlows)) << "the restart was not mid-stream";
  ASSERT_EQ(uuids.size(), static_cast<size_t>(kFlows));
  for (int i = 0; i < kFlows; ++i) ASSERT_EQ(uuids[i], SyntheticUuid(i)) << i;
  auto stats = client.stats();
  EXPECT_GE(stats.reconnects, 1u);
  EXPECT_GT(stats.duplicates, 0u);  // the resume window re-read flows and they were dropped
}

}  // namespace
}  // namespace tw::replay
