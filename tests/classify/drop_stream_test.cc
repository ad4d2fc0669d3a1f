// Counting each denied packet once: drop events and their policy-verdict twins, in either
// order, within the window; input order kept; AUDIT and L7 counted as they come; and the
// aggregation per class and distinct connection (retransmits), the ring and the bypass list.
#include "classify/drop_stream.h"

#include <string>
#include <vector>

#include "baseline/baseline.h"
#include "builders.h"
#include "classify/aggregate.h"
#include "classify/analyzer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tier/tier_model.h"

namespace tw::classify {
namespace {

using flow::Flow;
using flow::Protocol;
using testing::Builders;

class DropStreamTest : public ::testing::Test {
 protected:
  DropStreamTest() : classifier_({&tiers_, &baseline_, nullptr, &b_.symbols}) {}

  std::vector<Classification> Run(const std::vector<Flow>& flows, DropStreamOptions o = {}) {
    std::vector<Classification> out;
    DropStream s(classifier_, o, [&](Classification&& c) { out.push_back(std::move(c)); });
    for (const Flow& f : flows) s.OnFlow(f);
    s.Flush();
    stats_ = s.stats();
    return out;
  }

  Flow SynTo(const std::string& app, uint16_t port, absl::Duration at = absl::ZeroDuration()) {
    Flow f = b_.Drop(b_.Pod("business", "odoo"), b_.Pod("business", app), port);
    f.time = testing::T0() + at;
    return f;
  }

  Builders b_;
  tier::TierModel tiers_;
  baseline::Baseline baseline_{b_.symbols};
  DropClassifier classifier_;
  DropStreamStats stats_;
};

TEST_F(DropStreamTest, VerdictThenDropCountsOnceAsTheDropEvent) {
  Flow drop = SynTo("n8n", 5678);
  Flow verdict = b_.VerdictTwin(drop, absl::Microseconds(-4));
  verdict.policy_match_type = 2;
  flow::PolicyRef p;
  p.name = b_.symbols.Intern("deny-n8n");
  verdict.egress_denied_by = {p};
  auto out = Run({verdict, drop});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flow.uuid, drop.uuid);
  EXPECT_EQ(out[0].flow.event_type, flow::kEventDrop);
  EXPECT_EQ(out[0].twin_uuid, verdict.uuid);
  EXPECT_EQ(out[0].attribution.policy_match_type, 2u);
  ASSERT_EQ(out[0].attribution.hubble_denied_by.size(), 1u);
  EXPECT_EQ(out[0].attribution.hubble_denied_by[0].name, "deny-n8n");
  EXPECT_EQ(stats_.twins, 1u);
  EXPECT_EQ(stats_.candidates, 2u);
  EXPECT_EQ(stats_.counted, 1u);
}

TEST_F(DropStreamTest, DropThenVerdictCountsOnce) {
  Flow drop = SynTo("n8n", 5678);
  Flow verdict = b_.VerdictTwin(drop, absl::Milliseconds(300));
  verdict.policy_match_type = 3;
  auto out = Run({drop, verdict});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flow.uuid, drop.uuid);
  EXPECT_EQ(out[0].twin_uuid, verdict.uuid);
  EXPECT_EQ(out[0].attribution.policy_match_type, 3u);
}

TEST_F(DropStreamTest, VerdictWithoutDropEventCountsOnItsOwn) {
  Flow verdict = b_.VerdictTwin(SynTo("n8n", 5678));
  auto out = Run({verdict});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flow.uuid, verdict.uuid);
  EXPECT_TRUE(out[0].twin_uuid.empty());
  EXPECT_EQ(stats_.verdicts_alone, 1u);
}

TEST_F(DropStreamTest, TwinsFurtherApartThanTheWindowAreTwoDrops) {
  Flow drop = SynTo("n8n", 5678);
  Flow verdict = b_.VerdictTwin(drop, absl::Seconds(-2));
  auto out = Run({verdict, drop});
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(stats_.twins, 0u);
}

TEST_F(DropStreamTest, DifferentNodeOrPortIsNotATwin) {
  Flow drop = SynTo("n8n", 5678);
  Flow other_node = b_.VerdictTwin(drop);
  other_node.node_name = b_.symbols.Intern("homelab/w-2");
  Flow other_port = b_.VerdictTwin(drop);
  other_port.l4.source_port = 40001;
  auto out = Run({other_node, other_port, drop});
  EXPECT_EQ(out.size(), 3u);
}

TEST_F(DropStreamTest, RetransmitsPairUpAndCountPerPacket) {
  // Three SYN retransmits, 1s apart, each reported as verdict + drop.
  std::vector<Flow> flows;
  for (int i = 0; i < 3; ++i) {
    Flow drop = SynTo("n8n", 5678, absl::Seconds(i));
    flows.push_back(b_.VerdictTwin(drop));
    flows.push_back(drop);
  }
  auto out = Run(flows);
  ASSERT_EQ(out.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(out[i].flow.uuid, flows[2 * i + 1].uuid);
  EXPECT_EQ(stats_.twins, 3u);
}

TEST_F(DropStreamTest, ThousandsHeldAcrossGrowthWrapAndShrinkStillPairInOrder) {
  // The held drops live in a ring of reused slots that grows, wraps and shrinks: a burst of
  // 3,000 verdicts waiting for their drops, released, then a second burst into the shrunk,
  // wrapped ring. Every pair is found, counted once as its drop event, in input order.
  std::vector<Classification> out;
  DropStream s(classifier_, {}, [&](Classification&& c) { out.push_back(std::move(c)); });
  std::vector<Flow> drops, verdicts;
  for (int burst = 0; burst < 2; ++burst) {
    const size_t first = drops.size();
    for (int i = 0; i < 3000; ++i) {
      drops.push_back(SynTo("n8n", static_cast<uint16_t>(1000 + i),
                            absl::Seconds(10 * burst) + absl::Microseconds(i)));
      verdicts.push_back(b_.VerdictTwin(drops.back(), absl::Nanoseconds(-1)));
    }
    for (size_t i = first; i < drops.size(); ++i) s.OnFlow(verdicts[i]);
    EXPECT_EQ(s.pending(), 3000u);
    for (size_t i = first; i < drops.size(); ++i) s.OnFlow(drops[i]);
    EXPECT_EQ(s.pending(), 0u) << "every pair is matched and released at once";
    EXPECT_GE(s.capacity(), 3000u);
    // Quiet traffic afterwards: once a whole check period never needed the burst's room,
    // the ring gives it back.
    Flow quiet = b_.Forwarded(b_.Pod("business", "odoo"), b_.Pod("business", "n8n"), 8069);
    quiet.time = testing::T0() + absl::Seconds(10 * burst + 5);
    for (int k = 0; k < 140000; ++k) s.OnFlow(quiet);
    EXPECT_LE(s.capacity(), 1024u) << "burst " << burst;
  }
  s.Flush();
  ASSERT_EQ(out.size(), drops.size());
  for (size_t i = 0; i < drops.size(); ++i) {
    EXPECT_EQ(out[i].flow.uuid, drops[i].uuid) << i;
    EXPECT_EQ(out[i].twin_uuid, verdicts[i].uuid) << i;
  }
  EXPECT_EQ(s.stats().twins, drops.size());
  EXPECT_EQ(s.stats().verdicts_alone, 0u);
}

TEST_F(DropStreamTest, InputOrderIsKept) {
  Flow drop = SynTo("n8n", 5678);
  Flow verdict = b_.VerdictTwin(drop);
  Flow audit = b_.Audit(b_.Pod("cert-manager", "cert-manager"), b_.World(), 443);
  audit.time = drop.time;
  Flow later = SynTo("postgres", 5432, absl::Milliseconds(1));
  // verdict(n8n), audit, drop(n8n), drop(postgres)
  auto out = Run({verdict, audit, drop, later});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].flow.uuid, drop.uuid);  // the pair, in the place of its first event
  EXPECT_EQ(out[1].flow.uuid, audit.uuid);
  EXPECT_EQ(out[2].flow.uuid, later.uuid);
  EXPECT_TRUE(out[1].predicted);
  EXPECT_EQ(stats_.audit, 1u);
}

TEST_F(DropStreamTest, CapturesThatStartOverInTimeStillPair) {
  // Two per-node capture files read one after the other: the second starts earlier.
  Flow late = SynTo("n8n", 5678, absl::Seconds(60));
  Flow early = SynTo("postgres", 5432);
  std::vector<Classification> out;
  DropStream s(classifier_, {}, [&](Classification&& c) { out.push_back(std::move(c)); });
  s.OnFlow(b_.VerdictTwin(late));
  s.OnFlow(late);
  s.OnFlow(b_.VerdictTwin(early));
  EXPECT_EQ(s.pending(), 1u);  // the early verdict still waits for its drop event
  s.OnFlow(early);
  s.Flush();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(s.stats().twins, 2u);
  EXPECT_EQ(out[0].flow.uuid, late.uuid);
  EXPECT_EQ(out[1].flow.uuid, early.uuid);
}

TEST_F(DropStreamTest, HeldUntilTheWindowPassesInFlowTime) {
  std::vector<Classification> out;
  DropStream s(classifier_, {}, [&](Classification&& c) { out.push_back(std::move(c)); });
  Flow drop = SynTo("n8n", 5678);
  s.OnFlow(drop);
  EXPECT_TRUE(out.empty());  // its twin may still come
  EXPECT_EQ(s.pending(), 1u);
  s.AdvanceTo(drop.time + absl::Milliseconds(500));
  EXPECT_TRUE(out.empty());
  Flow unrelated = b_.Forwarded(b_.Pod("business", "odoo"), b_.Pod("business", "postgres"), 5432);
  unrelated.time = drop.time + absl::Seconds(2);
  s.OnFlow(unrelated);  // flow time moves on: the window is over
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(s.pending(), 0u);
}

TEST_F(DropStreamTest, MaxPendingReleasesEarly) {
  DropStreamOptions o;
  o.max_pending = 2;
  std::vector<Flow> flows;
  for (int i = 0; i < 5; ++i) {
    Flow f = SynTo("n8n", 5678);
    f.l4.source_port = static_cast<uint16_t>(41000 + i);
    flows.push_back(f);
  }
  std::vector<Classification> out;
  DropStream s(classifier_, o, [&](Classification&& c) { out.push_back(std::move(c)); });
  for (const Flow& f : flows) s.OnFlow(f);
  EXPECT_EQ(out.size(), 3u);
  EXPECT_EQ(s.stats().released_early, 3u);
  s.Flush();
  EXPECT_EQ(out.size(), 5u);
}

TEST_F(DropStreamTest, L7DropsCountWithoutTwin) {
  Flow f = b_.Drop(b_.Pod("business", "odoo"), b_.CoreDns(), 53, Protocol::kUDP);
  f.type = flow::FlowType::kL7;
  f.event_type = flow::kEventL7;
  f.drop_reason_desc = 0;
  f.drop_reason = 0;
  auto out = Run({f});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(stats_.l7, 1u);
  EXPECT_EQ(out[0].drop_class, DropClass::kDnsBlocked);
}

// --- Aggregation ------------------------------------------------------------------------

TEST_F(DropStreamTest, RetransmitsAggregateToOneDistinctConnection) {
  DropAnalyzer analyzer({&tiers_, &baseline_, nullptr, &b_.symbols});
  for (int i = 0; i < 4; ++i) {
    Flow drop = SynTo("n8n", 5678, absl::Seconds(i));  // same connection, retransmitted
    analyzer.OnFlow(b_.VerdictTwin(drop));
    analyzer.OnFlow(drop);
  }
  Flow other = SynTo("redis", 6379, absl::Seconds(5));
  analyzer.OnFlow(other);
  Flow audit = b_.Audit(b_.Pod("business", "odoo"), b_.Pod("business", "n8n"), 5678);
  audit.time = testing::T0() + absl::Seconds(6);
  audit.traffic_direction = flow::TrafficDirection::kIngress;  // the other side, same connection
  analyzer.OnFlow(audit);
  analyzer.Flush();

  AggregateSnapshot s = analyzer.counts().Snapshot();
  const ClassTotals& t = s.of(DropClass::kExpectedDeny);
  EXPECT_EQ(t.events, 6u);
  EXPECT_EQ(t.predicted_events, 1u);
  EXPECT_EQ(t.connections, 2u);
  auto top = s.Top(DropClass::kExpectedDeny);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0]->connection, "business/odoo -> business/n8n:5678/TCP");
  EXPECT_EQ(top[0]->events, 5u);
  EXPECT_EQ(top[0]->side_events[0], 4u);
  EXPECT_EQ(top[0]->side_events[1], 1u);
  EXPECT_FALSE(top[0]->explanation[0].empty());
  EXPECT_FALSE(top[0]->explanation[1].empty());
  EXPECT_EQ(s.events, 6u);
  EXPECT_EQ(analyzer.recent().total(), 6u);
  EXPECT_EQ(analyzer.stream_stats().twins, 4u);
}

TEST_F(DropStreamTest, AggregatorCapsConnectionsPerClass) {
  DropAggregator agg(2);
  for (int i = 0; i < 4; ++i) {
    Flow f = SynTo("app" + std::to_string(i), 80);
    auto c = classifier_.Classify(f);
    ASSERT_TRUE(c.has_value());
    agg.Add(*c);
  }
  AggregateSnapshot s = agg.Snapshot();
  EXPECT_EQ(s.of(DropClass::kExpectedDeny).events, 4u);
  EXPECT_EQ(s.of(DropClass::kExpectedDeny).connections, 2u);
  EXPECT_EQ(s.of(DropClass::kExpectedDeny).untracked_events, 2u);
}

TEST_F(DropStreamTest, RecentRingIsBounded) {
  RecentDrops ring(3);
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) {  // around the ring twice and a bit
    auto c = classifier_.Classify(SynTo("n8n", 5678, absl::Seconds(i)));
    ASSERT_TRUE(c.has_value());
    ids.push_back(c->id);
    ring.Add(*c);
  }
  auto snap = ring.Snapshot();
  ASSERT_EQ(snap.size(), 3u);
  EXPECT_EQ(snap[0].id, ids[5]);  // oldest first
  EXPECT_EQ(snap[1].id, ids[6]);
  EXPECT_EQ(snap[2].id, ids[7]);
  EXPECT_EQ(ring.total(), 8u);
  EXPECT_TRUE(ring.Find(ids[5]).has_value());
  EXPECT_TRUE(ring.Find(ids[7]).has_value());
  EXPECT_FALSE(ring.Find(ids[4]).has_value());
}

TEST_F(DropStreamTest, BypassListWithFirstSeenAndDrops) {
  DropAnalyzer analyzer({&tiers_, &baseline_, nullptr, &b_.symbols});
  auto shell = b_.Pod("business", "debug-shell", {"policy.cilium.io/enforce=false"});
  Flow first = b_.Forwarded(shell, b_.World(), 443);
  first.time = testing::T0();
  analyzer.OnFlow(first);
  Flow drop = b_.Drop(shell, b_.Pod("business", "postgres"), 5432);
  drop.time = testing::T0() + absl::Minutes(90);
  analyzer.OnFlow(drop);
  analyzer.Flush();
  auto list = analyzer.bypass().Snapshot();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].namespace_, "business");
  EXPECT_EQ(list[0].pod, "debug-shell-0");
  EXPECT_EQ(list[0].workload, "debug-shell");
  EXPECT_EQ(list[0].first_seen, testing::T0());
  EXPECT_EQ(list[0].flows, 2u);
  EXPECT_EQ(list[0].drops, 1u);
  EXPECT_EQ(FormatAge(analyzer.bypass().latest_flow_time() - list[0].first_seen), "1h30m");
  auto s = analyzer.counts().Snapshot();
  EXPECT_EQ(s.of(DropClass::kBypassIneffective).events, 1u);
}

}  // namespace
}  // namespace tw::classify
