// Drop metrics: one series per (class, severity, tier, direction, namespace, predicted) of
// the enforcing endpoint; the namespace label is capped (100k namespaces stay at the cap
// plus "_other"); distinct connections per class as the aggregator counts them. The drop
// ring keeps the newest drops and finds them by id.
#include "app/drop_metrics.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "app/drop_ring.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/scope.h"

namespace tw::app {
namespace {

using classify::Classification;
using classify::DropClass;

struct DropSpec {
  DropClass cls = DropClass::kExpectedDeny;
  std::string src_ns = "business";
  std::string dst_ns = "business";
  classify::Side side = classify::Side::kSource;
  int tier = 2;
  bool predicted = false;
  uint16_t port = 5432;
  std::string id = "000000000001";
  int64_t at = 1764300000;
};

std::shared_ptr<const Classification> Drop(flow::SymbolTable& s, const DropSpec& d) {
  auto c = std::make_shared<Classification>();
  c->id = d.id;
  c->drop_class = d.cls;
  c->severity = classify::SeverityOf(d.cls);
  c->predicted = d.predicted;
  c->flow.time = absl::FromUnixSeconds(d.at);
  c->flow.verdict = d.predicted ? flow::Verdict::kAudit : flow::Verdict::kDropped;
  c->flow.source.namespace_ = s.Intern(d.src_ns);
  c->flow.destination.namespace_ = s.Intern(d.dst_ns);
  c->enforcing_side = d.side;
  classify::TierInfo tier;
  tier.kind = tier::TierKind::kNamespace;
  tier.level = d.tier;
  (d.side == classify::Side::kSource ? c->source : c->destination).tier = tier;
  c->connection = flow::ConnectionKey{flow::Peer::Workload(s.Intern(d.src_ns), s.Intern("odoo")),
                                      flow::Peer::Workload(s.Intern(d.dst_ns), s.Intern("db")),
                                      flow::Protocol::kTCP, d.port};
  return c;
}

TEST(DropMetricsTest, LabelsAreTheEnforcingEndpoints) {
  flow::SymbolTable s;
  metrics::Scope scope;
  DropMetricsHandler h(scope);
  h.OnDrop(Drop(s, {.cls = DropClass::kDnsBlocked,
                    .dst_ns = "kube-system",
                    .side = classify::Side::kDestination,
                    .tier = 0,
                    .port = 53}));
  h.OnDrop(Drop(s, {.cls = DropClass::kDnsBlocked,
                    .dst_ns = "kube-system",
                    .side = classify::Side::kDestination,
                    .tier = 0,
                    .port = 53}));
  h.OnDrop(Drop(s, {.cls = DropClass::kBaselineRegression, .predicted = true}));
  h.OnDrop(Drop(s, {.cls = DropClass::kBaselineRegression, .port = 6379}));
  std::string text = scope.Render();
  EXPECT_THAT(text, ::testing::HasSubstr(
                        "tierwatch_drops_total{class=\"dns_blocked\",direction=\"ingress\","
                        "namespace=\"kube-system\",predicted=\"false\",severity=\"critical\","
                        "tier=\"0\"} 2"));
  EXPECT_THAT(text,
              ::testing::HasSubstr(
                  "tierwatch_drops_total{class=\"baseline_regression\",direction=\"egress\","
                  "namespace=\"business\",predicted=\"true\",severity=\"high\",tier=\"2\"} 1"));
  auto f = scope.Collect();
  EXPECT_EQ(metrics::SumOf(f, "tierwatch_drops_total"), 4);
  EXPECT_EQ(metrics::SumOf(f, "tierwatch_dropped_connections", {{"class", "dns_blocked"}}), 1);
  EXPECT_EQ(metrics::SumOf(f, "tierwatch_dropped_connections", {{"class", "baseline_regression"}}),
            2);
  EXPECT_EQ(metrics::SumOf(f, "tierwatch_baseline_regressions"), 2);
  // Every class has its connections series from the start (alerts need no "or vector(0)").
  EXPECT_EQ(metrics::SumOf(f, "tierwatch_dropped_connections", {{"class", "tier0_violation"}}), 0);
  EXPECT_EQ(h.series(), 3u);
}

TEST(DropMetricsTest, HundredThousandNamespacesStayAtTheCap) {
  flow::SymbolTable s;
  metrics::Scope scope;
  DropMetricsHandler h(scope, {.max_namespaces = 200});
  for (int i = 0; i < 100000; ++i) {
    const std::string ns = absl::StrCat("ns-", i);
    h.OnDrop(Drop(s, {.src_ns = ns, .dst_ns = ns}));
  }
  auto families = scope.Collect();
  size_t series = 0, other = 0;
  for (const auto& fam : families) {
    if (fam.name != "tierwatch_drops_total") continue;
    series = fam.metric.size();
    for (const auto& m : fam.metric) {
      for (const auto& l : m.label) {
        if (l.name == "namespace" && l.value == "_other") other = m.counter.value;
      }
    }
  }
  EXPECT_EQ(series, 201u);  // 200 namespaces + "_other"
  EXPECT_EQ(other, 100000u - 200u);
  EXPECT_EQ(metrics::SumOf(families, "tierwatch_drops_total"), 100000);
}

TEST(DropMetricsTest, LabelValuesForEntitiesAndUnknownTiers) {
  classify::TierInfo t;
  t.kind = tier::TierKind::kCiliumReserved;
  EXPECT_EQ(DropMetricsHandler::TierLabel(t), "0");
  t.kind = tier::TierKind::kEntity;
  EXPECT_EQ(DropMetricsHandler::TierLabel(t), "entity");
  t.kind = tier::TierKind::kUnknown;
  EXPECT_EQ(DropMetricsHandler::TierLabel(t), "unknown");
  t.kind = tier::TierKind::kNamespace;
  t.level = 1;
  EXPECT_EQ(DropMetricsHandler::TierLabel(t), "1");
  EXPECT_EQ(DropMetricsHandler::DirectionLabel(classify::Side::kDestination), "ingress");
}

TEST(DropRingTest, KeepsTheNewestAndFindsThemById) {
  flow::SymbolTable s;
  DropRing ring(3);
  for (int i = 0; i < 5; ++i) {
    ring.OnDrop(Drop(s, {.port = static_cast<uint16_t>(1000 + i),
                         .id = absl::StrCat("id", i),
                         .at = 1764300000 + i}));
  }
  auto all = ring.Snapshot();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]->id, "id2");  // oldest first
  EXPECT_EQ(all[2]->id, "id4");
  EXPECT_EQ(ring.total(), 5u);
  EXPECT_EQ(ring.Find("id1"), nullptr);  // fell off
  ASSERT_NE(ring.Find("id3"), nullptr);
  EXPECT_EQ(ring.Find("id3")->connection->port, 1003);

  // Two drops with one id (flows without uuid can collide): the newest is found, and the
  // older one falling off does not unindex it.
  DropRing dup(2);
  dup.OnDrop(Drop(s, {.port = 1, .id = "same"}));
  dup.OnDrop(Drop(s, {.port = 2, .id = "same"}));
  dup.OnDrop(Drop(s, {.port = 3, .id = "other"}));
  ASSERT_NE(dup.Find("same"), nullptr);
  EXPECT_EQ(dup.Find("same")->connection->port, 2);

  DropRing none(0);  // recent_drops: 0 keeps nothing but still counts
  none.OnDrop(Drop(s, {}));
  EXPECT_TRUE(none.Snapshot().empty());
  EXPECT_EQ(none.total(), 1u);
}

}  // namespace
}  // namespace tw::app
