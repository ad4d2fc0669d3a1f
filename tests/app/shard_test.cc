// Sharding by node (app/shard.h): the shard spec, rendezvous ownership (stable, a
// partition, few moves when N changes), the relay whitelist with node_name ANDed in, which
// events a shard keeps, the controller's refresh on node changes, and the `shard` label the
// stats scope puts on every series.
#include "app/shard.h"

#include <map>
#include <set>

#include "absl/synchronization/notification.h"
#include "flow/filter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/scope.h"

namespace tw::app {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ShardSpecTest, ParsesIndexOverCountAndTheStatefulSetOrdinal) {
  auto s = ParseShardSpec("1/3", "anything");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->index, 1);
  EXPECT_EQ(s->count, 3);
  EXPECT_EQ(s->ToString(), "1/3");
  auto o = ParseShardSpec("ordinal/4", "tierwatch-sharded-2");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->index, 2);
  EXPECT_EQ(o->count, 4);
}

TEST(ShardSpecTest, RejectsWhatIsNotAShardWithTheReason) {
  for (const char* bad : {"", "1", "3/3", "-1/2", "a/2", "1/0", "1/x", "1/2/3", "0/5000"}) {
    auto s = ParseShardSpec(bad, "host");
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_THAT(s.status().message(), HasSubstr("expected I/N")) << bad;
  }
  auto host = ParseShardSpec("ordinal/2", "laptop");
  ASSERT_FALSE(host.ok());
  EXPECT_THAT(host.status().message(), HasSubstr("\"laptop\" does not end in -<number>"));
  EXPECT_FALSE(ParseShardSpec("ordinal/2", "tierwatch-7").ok());  // 7 is not among 2
}

std::vector<std::string> Nodes(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("homelab/node-" + std::to_string(i));
  return out;
}

TEST(ShardOfTest, IsFixedForeverSoEveryVersionAgrees) {
  // The assignment is part of the deployment's contract: shards of different versions
  // running side by side during a rollout must agree. These values must never change.
  EXPECT_EQ(ShardOf("homelab/talos-cp-1", 2), 0);
  EXPECT_EQ(ShardOf("homelab/talos-w-1", 2), 1);
  EXPECT_EQ(ShardOf("homelab/talos-w-2", 2), 1);
  EXPECT_EQ(ShardOf("", 2), ShardOf("", 2));
  for (const auto& n : Nodes(50)) EXPECT_EQ(ShardOf(n, 1), 0);
}

TEST(ShardOfTest, EveryNodeBelongsToExactlyOneShardAndTheyAreSpread) {
  std::vector<std::string> nodes = Nodes(1000);
  for (int count : {2, 3, 5, 8}) {
    std::set<std::string> seen;
    for (int i = 0; i < count; ++i) {
      std::vector<std::string> mine = NodesOf({i, count}, nodes);
      // No shard gets less than half or more than twice its fair share of 1000 nodes.
      EXPECT_GT(mine.size(), 1000u / count / 2) << i << "/" << count;
      EXPECT_LT(mine.size(), 1000u / count * 2) << i << "/" << count;
      for (const auto& n : mine) EXPECT_TRUE(seen.insert(n).second) << n << " twice";
    }
    EXPECT_EQ(seen.size(), nodes.size());
  }
}

TEST(ShardOfTest, AddingAShardMovesOnlyTheNodesItTakes) {
  // Rendezvous hashing: going from 3 to 4 shards, a node either stays or moves to shard 3.
  int moved = 0;
  for (const auto& n : Nodes(1000)) {
    int before = ShardOf(n, 3), after = ShardOf(n, 4);
    if (before != after) {
      EXPECT_EQ(after, 3) << n;
      ++moved;
    }
  }
  EXPECT_GT(moved, 150);
  EXPECT_LT(moved, 350);
}

std::vector<std::string> NodeNames(const ::flow::FlowFilter& f) {
  return {f.node_name().begin(), f.node_name().end()};
}

TEST(ShardWhitelistTest, NodeNamesAreAndedIntoEveryEntry) {
  flow::SymbolTable symbols;
  std::vector<std::string> mine = {"homelab/talos-w-1", "homelab/talos-w-2"};
  // No whitelist: the node list is the whitelist.
  auto none = ShardWhitelist({}, mine, symbols);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(NodeNames(none[0]), mine);

  ::flow::FlowFilter drops;
  drops.add_verdict(::flow::DROPPED);
  ::flow::FlowFilter w1_l7;  // already names nodes: only this shard's among them stay
  w1_l7.add_node_name("talos-w-1");
  w1_l7.add_node_name("homelab/talos-cp-*");
  w1_l7.add_event_type()->set_type(129);
  ::flow::FlowFilter elsewhere;  // only other shards' nodes: dropped
  elsewhere.add_node_name("homelab/talos-cp-1");
  auto out = ShardWhitelist({drops, w1_l7, elsewhere}, mine, symbols);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].verdict_size(), 1);
  EXPECT_EQ(NodeNames(out[0]), mine);
  EXPECT_EQ(out[1].event_type_size(), 1);
  EXPECT_THAT(NodeNames(out[1]), ElementsAre("homelab/talos-w-1"));

  // The result means what it says to the filter code the relay's semantics follow.
  auto set = flow::FlowFilterSet::Compile(out, std::vector<::flow::FlowFilter>{});
  ASSERT_TRUE(set.ok()) << set.status();
  flow::Flow f;
  f.verdict = flow::Verdict::kDropped;
  f.node_name = symbols.Intern("homelab/talos-w-2");
  EXPECT_TRUE(set->Matches(f));
  f.node_name = symbols.Intern("homelab/talos-cp-1");
  EXPECT_FALSE(set->Matches(f));
}

TEST(ShardWhitelistTest, AShardWithoutNodesAsksForNothing) {
  flow::SymbolTable symbols;
  for (const auto& out :
       {ShardWhitelist({}, {}, symbols), ShardWhitelist({[] {
                                                          ::flow::FlowFilter f;
                                                          f.add_node_name("other/node");
                                                          return f;
                                                        }()},
                                                        {"homelab/a"}, symbols)}) {
    ASSERT_EQ(out.size(), 1u);
    EXPECT_THAT(NodeNames(out[0]), ElementsAre(std::string(kNoNode)));
  }
}

TEST(OwnsEventTest, EveryEventBelongsToTheShardOfItsNode) {
  flow::SymbolTable symbols;
  ShardSpec s0{0, 2}, s1{1, 2};
  flow::Event flow_ev;
  flow_ev.flow.emplace();
  flow_ev.flow->node_name = symbols.Intern("homelab/talos-cp-1");  // shard 0
  EXPECT_TRUE(OwnsEvent(s0, flow_ev));
  EXPECT_FALSE(OwnsEvent(s1, flow_ev));
  flow::Event lost;  // lost events carry only the response's node
  lost.lost.emplace();
  lost.node_name = symbols.Intern("homelab/talos-w-1");  // shard 1
  EXPECT_FALSE(OwnsEvent(s0, lost));
  EXPECT_TRUE(OwnsEvent(s1, lost));
  flow::Event relay_lost;  // no node at all: exactly one shard
  relay_lost.lost.emplace();
  EXPECT_NE(OwnsEvent(s0, relay_lost), OwnsEvent(s1, relay_lost));
  flow::Event status;
  status.node_status.emplace();
  status.node_status->node_names = {"homelab/talos-w-2", "homelab/talos-cp-1"};
  EXPECT_FALSE(OwnsEvent(s0, status));  // by its first node
  EXPECT_TRUE(OwnsEvent(s1, status));
  EXPECT_TRUE(OwnsEvent({0, 1}, status));
}

TEST(ShardControllerTest, ANodeStatusEventRefreshesAndAChangedListIsApplied) {
  metrics::Scope scope;
  absl::Mutex mu;
  std::vector<std::string> relay_nodes = Nodes(6);
  int lists = 0;
  std::vector<std::vector<std::string>> applied;
  absl::Notification changed;
  ShardOptions o;
  o.spec = {1, 2};
  o.refresh = absl::Hours(1);  // only the node status event may wake it here
  o.list_nodes = [&]() -> absl::StatusOr<std::vector<std::string>> {
    absl::MutexLock lock(&mu);
    ++lists;
    return relay_nodes;
  };
  o.apply = [&](const std::vector<std::string>& mine) {
    absl::MutexLock lock(&mu);
    applied.push_back(mine);
    changed.Notify();
  };
  ShardController c(o, scope);
  std::vector<std::string> first = c.Init();
  EXPECT_EQ(first, NodesOf({1, 2}, Nodes(6)));
  c.Start();
  // A node joins; the relay reports it in the stream.
  std::string joined;
  for (int i = 6; joined.empty(); ++i) {
    std::string n = "homelab/node-" + std::to_string(i);
    if (ShardOf(n, 2) == 1) joined = n;
    absl::MutexLock lock(&mu);
    relay_nodes.push_back(n);
  }
  flow::Event status;
  status.node_status.emplace();
  status.node_status->node_names = {joined};
  c.Keep(status);
  ASSERT_TRUE(changed.WaitForNotificationWithTimeout(absl::Seconds(30)));
  c.Stop();
  absl::MutexLock lock(&mu);
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_THAT(applied[0], ::testing::Contains(joined));
  EXPECT_EQ(c.nodes(), applied[0]);
  EXPECT_GE(lists, 2);
  std::string text = scope.Render();
  EXPECT_THAT(text, HasSubstr("tierwatch_shard_nodes " + std::to_string(applied[0].size())));
  EXPECT_THAT(text, HasSubstr("tierwatch_shard_count 2"));
}

TEST(ShardControllerTest, AnUnreachableRelayLeavesTheShardWithoutNodesUntilItAnswers) {
  metrics::Scope scope;
  ShardOptions o;
  o.spec = {0, 2};
  o.list_nodes = []() -> absl::StatusOr<std::vector<std::string>> {
    return absl::UnavailableError("relay down");
  };
  ShardController c(o, scope);
  EXPECT_TRUE(c.Init().empty());
  EXPECT_THAT(scope.Render(),
              HasSubstr("tierwatch_shard_node_refreshes_total{result=\"error\"} 1"));
  // Events are still judged by the hash alone, so nothing is counted twice meanwhile.
  flow::SymbolTable symbols;
  flow::Event lost;
  lost.lost.emplace();
  lost.node_name = symbols.Intern("homelab/talos-cp-1");
  EXPECT_TRUE(c.Keep(lost));
  lost.node_name = symbols.Intern("homelab/talos-w-1");
  EXPECT_FALSE(c.Keep(lost));
  EXPECT_THAT(scope.Render(),
              HasSubstr("tierwatch_shard_skipped_events_total{kind=\"lost_events\"} 1"));
}

TEST(ScopeConstantLabelsTest, EverySeriesCarriesTheShard) {
  metrics::Scope scope;
  scope.Counter("a_total", "a").Increment();
  scope.Gauge("b", "b", {{"x", "y"}}).Set(2);
  scope.SetConstantLabels({{"shard", "1"}});
  std::string text = scope.Render();
  EXPECT_THAT(text, HasSubstr("a_total{shard=\"1\"} 1"));
  EXPECT_THAT(text, HasSubstr("b{x=\"y\",shard=\"1\"} 2"));
  auto sum = metrics::SumOf(scope.Collect(), "b", {{"x", "y"}});
  ASSERT_TRUE(sum.has_value());
  EXPECT_EQ(*sum, 2);
}

}  // namespace
}  // namespace tw::app
