// The baseline store and the learner, from hand-built flows.
#include "baseline/baseline.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"

namespace tw::baseline {
namespace {

using testutil::Key;
using testutil::kT0;

class BaselineTest : public ::testing::Test {
 protected:
  flow::Endpoint Pod(absl::string_view ns, absl::string_view app) {
    flow::Endpoint ep;
    ep.identity = 30000;
    ep.namespace_ = s_.Intern(ns);
    ep.labels = {s_.Intern(absl::StrCat("k8s:app=", app))};
    ep.reserved = flow::ComputeReserved(ep);
    return ep;
  }
  flow::Endpoint World() {
    flow::Endpoint ep;
    ep.identity = 2;
    ep.labels = {s_.Intern("reserved:world")};
    ep.reserved = flow::ComputeReserved(ep);
    return ep;
  }
  flow::Flow Tcp(flow::Endpoint src, flow::Endpoint dst, uint16_t sport, uint16_t dport,
                 uint16_t flags, absl::Time at, absl::string_view node = "node-a") {
    flow::Flow f;
    f.time = at;
    f.verdict = flow::Verdict::kForwarded;
    f.source = std::move(src);
    f.destination = std::move(dst);
    f.source_ip = "10.0.0.1";
    f.destination_ip = "10.0.0.2";
    f.l4.protocol = flow::Protocol::kTCP;
    f.l4.source_port = sport;
    f.l4.destination_port = dport;
    f.l4.tcp_flags = flags;
    f.node_name = s_.Intern(node);
    f.type = flow::FlowType::kL3L4;
    f.event_type = flow::kEventTrace;
    return f;
  }
  flow::SymbolTable s_;
};

TEST_F(BaselineTest, RecordAggregatesTimesCountsNodesAndVerdicts) {
  Baseline b(s_);
  auto k = Key(s_, "business", "odoo", "business", "postgres", 5432);
  EXPECT_TRUE(b.Record(k, kT0 + absl::Seconds(10), s_.Intern("node-b"), flow::Verdict::kForwarded));
  EXPECT_FALSE(b.Record(k, kT0, s_.Intern("node-a"), flow::Verdict::kAudit));
  EXPECT_FALSE(b.Record(k, kT0 + absl::Seconds(5), s_.Intern("node-b"), flow::Verdict::kForwarded));
  ASSERT_EQ(b.size(), 1u);
  auto r = b.Find(k);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first_seen, kT0);
  EXPECT_EQ(r->last_seen, kT0 + absl::Seconds(10));
  EXPECT_EQ(r->count, 3u);
  ASSERT_EQ(r->nodes.size(), 2u);
  EXPECT_EQ(r->nodes[0].view(), "node-a");
  EXPECT_EQ(r->nodes[1].view(), "node-b");
  EXPECT_TRUE(r->saw(flow::Verdict::kForwarded));
  EXPECT_TRUE(r->saw(flow::Verdict::kAudit));
  EXPECT_FALSE(r->saw(flow::Verdict::kDropped));
  EXPECT_EQ(VerdictNames(r->verdicts), (std::vector<absl::string_view>{"FORWARDED", "AUDIT"}));
  EXPECT_EQ(b.first_seen(), kT0);
  EXPECT_EQ(b.last_seen(), kT0 + absl::Seconds(10));
  EXPECT_FALSE(b.Contains(Key(s_, "business", "odoo", "business", "postgres", 5433)));
  // The server port is known from the connection.
  EXPECT_TRUE(b.server_ports().IsServer(k.destination, flow::Protocol::kTCP, 5432));
}

TEST_F(BaselineTest, InsertMergesAndCopiesAreIndependent) {
  Baseline a = testutil::Synthetic(s_, 500);
  Baseline copy = a;
  EXPECT_TRUE(copy == a);
  auto k = Key(s_, "x", "y", "z", "w", 1);
  copy.Record(k, kT0, flow::Symbol(), flow::Verdict::kForwarded);
  EXPECT_FALSE(copy == a);
  EXPECT_FALSE(a.Contains(k));
  EXPECT_TRUE(copy.Contains(k));

  Baseline moved = std::move(copy);
  EXPECT_TRUE(moved.Contains(k));
  EXPECT_EQ(moved.size(), 501u);

  ConnectionStats st;
  st.first_seen = kT0 - absl::Hours(1);
  st.last_seen = kT0 + absl::Hours(1);
  st.count = 10;
  st.nodes = {s_.Intern("node-z"), s_.Intern("node-z")};
  st.verdicts = VerdictBit(flow::Verdict::kRedirected);
  EXPECT_FALSE(moved.Insert(k, st));
  auto r = moved.Find(k);
  EXPECT_EQ(r->count, 11u);
  EXPECT_EQ(r->first_seen, kT0 - absl::Hours(1));
  EXPECT_EQ(r->nodes.size(), 1u);
  EXPECT_TRUE(r->saw(flow::Verdict::kRedirected));
  EXPECT_TRUE(r->saw(flow::Verdict::kForwarded));

  Baseline merged(s_);
  merged.Merge(a);
  merged.set_source(a.source());
  EXPECT_TRUE(merged == a);
}

TEST_F(BaselineTest, SortedIsByKey) {
  Baseline b(s_);
  b.Record(Key(s_, "b", "x", "a", "y", 2), kT0, flow::Symbol(), flow::Verdict::kForwarded);
  b.Record(Key(s_, "a", "x", "b", "y", 1), kT0, flow::Symbol(), flow::Verdict::kForwarded);
  b.Record(Key(s_, "a", "x", "a", "y", 3), kT0, flow::Symbol(), flow::Verdict::kForwarded);
  auto sorted = b.Sorted();
  ASSERT_EQ(sorted.size(), 3u);
  EXPECT_EQ(sorted[0].key.ToString(), "a/x -> a/y:3/TCP");
  EXPECT_EQ(sorted[1].key.ToString(), "a/x -> b/y:1/TCP");
  EXPECT_EQ(sorted[2].key.ToString(), "b/x -> a/y:2/TCP");
}

TEST_F(BaselineTest, LearnerSkipsRepliesVerdictsAndNonConnections) {
  Baseline b(s_);
  flow::DnsNameCache dns(s_);
  Learner learner(b, &dns);

  // A connection seen through its SYN, SYN-ACK, and ACKs in both directions.
  EXPECT_EQ(learner.Observe(Tcp(Pod("business", "odoo"), Pod("business", "postgres"), 45000, 5432,
                                flow::kSYN, kT0)),
            LearnResult::kNewConnection);
  EXPECT_EQ(learner.Observe(Tcp(Pod("business", "postgres"), Pod("business", "odoo"), 5432, 45000,
                                flow::kSYN | flow::kACK, kT0)),
            LearnResult::kReply);
  EXPECT_EQ(learner.Observe(Tcp(Pod("business", "odoo"), Pod("business", "postgres"), 45000, 5432,
                                flow::kACK, kT0, "node-b")),
            LearnResult::kLearned);
  EXPECT_EQ(learner.Observe(Tcp(Pod("business", "postgres"), Pod("business", "odoo"), 5432, 45000,
                                flow::kACK | flow::kPSH, kT0)),
            LearnResult::kReply);

  // Drops are not learned.
  flow::Flow drop =
      Tcp(Pod("business", "n8n"), Pod("business", "postgres"), 45001, 5432, flow::kSYN, kT0);
  drop.verdict = flow::Verdict::kDropped;
  EXPECT_EQ(learner.Observe(drop), LearnResult::kSkippedVerdict);
  // AUDIT flows are (traffic that works today).
  flow::Flow audit = drop;
  audit.verdict = flow::Verdict::kAudit;
  EXPECT_EQ(learner.Observe(audit), LearnResult::kNewConnection);

  // No port, no protocol: nothing to key.
  flow::Flow noport =
      Tcp(Pod("business", "odoo"), Pod("business", "postgres"), 45000, 0, flow::kSYN, kT0);
  EXPECT_EQ(learner.Observe(noport), LearnResult::kNoConnection);
  flow::Event lost;
  lost.lost = flow::LostEvent{};
  EXPECT_EQ(learner.Observe(lost), LearnResult::kNotAFlow);

  EXPECT_EQ(b.size(), 2u);
  auto r = b.Find(Key(s_, "business", "odoo", "business", "postgres", 5432));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->count, 2u);
  EXPECT_EQ(r->nodes.size(), 2u);
  const LearnStats& st = learner.stats();
  EXPECT_EQ(st.events, 8u);
  EXPECT_EQ(st.flows, 7u);
  EXPECT_EQ(st.learned, 3u);
  EXPECT_EQ(st.new_connections, 2u);
  EXPECT_EQ(st.replies, 2u);
  EXPECT_EQ(st.skipped_verdict, 1u);
  EXPECT_EQ(st.no_connection, 1u);
}

TEST_F(BaselineTest, LearnerUsesLearnedServerPortsForAmbiguousFlows) {
  Baseline b(s_);
  Learner learner(b, nullptr);
  // Both ports below 32768: without knowledge this ACK would be recorded backwards.
  learner.Observe(Tcp(Pod("web", "nginx"), Pod("web", "api"), 8443, 8080, flow::kSYN, kT0));
  EXPECT_EQ(
      learner.Observe(Tcp(Pod("web", "api"), Pod("web", "nginx"), 8080, 8443, flow::kACK, kT0)),
      LearnResult::kReply);
  EXPECT_EQ(b.size(), 1u);
  EXPECT_TRUE(b.Contains(Key(s_, "web", "nginx", "web", "api", 8080)));
}

TEST_F(BaselineTest, LearnerNamesWorldDestinationsThroughDnsAnswers) {
  Baseline b(s_);
  flow::DnsNameCache dns(s_);
  Learner learner(b, &dns);

  flow::Flow answer =
      Tcp(Pod("kube-system", "kube-dns"), Pod("cert-manager", "cert-manager"), 53, 41000, 0, kT0);
  answer.l4.protocol = flow::Protocol::kUDP;
  answer.is_reply = true;
  answer.type = flow::FlowType::kL7;
  answer.event_type = flow::kEventL7;
  flow::L7 l7;
  l7.type = flow::L7Type::kResponse;
  flow::Dns d;
  d.query = "acme-v02.api.letsencrypt.org.";
  d.ips = {"172.65.32.248"};
  d.ttl = 60;
  l7.dns = d;
  answer.l7 = l7;
  EXPECT_EQ(learner.Observe(answer), LearnResult::kReply);
  EXPECT_EQ(learner.stats().dns_answers, 1u);

  flow::Flow https = Tcp(Pod("cert-manager", "cert-manager"), World(), 45000, 443, flow::kSYN,
                         kT0 + absl::Seconds(1));
  https.destination_ip = "172.65.32.248";
  EXPECT_EQ(learner.Observe(https), LearnResult::kNewConnection);
  flow::Flow unknown = https;
  unknown.destination_ip = "192.0.2.44";
  EXPECT_EQ(learner.Observe(unknown), LearnResult::kNewConnection);

  std::vector<std::string> keys;
  bool by_ip = false;
  b.ForEach([&](const ConnectionRecord& r) {
    keys.push_back(r.key.ToString());
    if (r.by_ip_only()) by_ip = true;
  });
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "cert-manager/cert-manager -> acme-v02.api.letsencrypt.org:443/TCP",
                      "cert-manager/cert-manager -> 192.0.2.44:443/TCP"}));
  EXPECT_TRUE(by_ip);
}

}  // namespace
}  // namespace tw::baseline
