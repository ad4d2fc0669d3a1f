// The JSON object of one drop carries the fields `analyze -o json` promises; the text report
// and the explanation name what an operator needs.
#include "classify/render.h"

#include <string>

#include "baseline/baseline.h"
#include "builders.h"
#include "classify/analyzer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tier/tier_model.h"

namespace tw::classify {
namespace {

using flow::Flow;
using flow::Protocol;
using testing::Builders;
using ::testing::HasSubstr;

class RenderTest : public ::testing::Test {
 protected:
  Classification Classify(const Flow& f) {
    DropClassifier c({&tiers_, &baseline_, nullptr, &b_.symbols});
    return *c.Classify(f, true);
  }
  Builders b_;
  tier::TierModel tiers_;
  baseline::Baseline baseline_{b_.symbols};
};

TEST_F(RenderTest, JsonHasTheDocumentedFields) {
  Flow f = b_.Drop(b_.RemoteNode(), b_.Health(), 8, Protocol::kICMPv4);
  f.traffic_direction = flow::TrafficDirection::kIngress;
  nlohmann::json j = ClassificationJson(Classify(f));
  for (const char* k :
       {"id", "class", "severity", "predicted", "enforcing_side", "source", "destination", "port",
        "protocol", "drop_reason", "in_baseline", "baseline_since", "explanation", "policy"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["class"], "tier0_violation");
  EXPECT_EQ(j["severity"], "critical");
  EXPECT_EQ(j["predicted"], false);
  EXPECT_EQ(j["enforcing_side"], "destination");
  EXPECT_EQ(j["protocol"], "ICMPv4");
  EXPECT_TRUE(j["port"].is_null());
  EXPECT_EQ(j["icmp_type"], 8);
  EXPECT_EQ(j["drop_reason"], "POLICY_DENIED");
  EXPECT_EQ(j["in_baseline"], false);
  EXPECT_TRUE(j["baseline_since"].is_null());
  for (const char* k : {"namespace", "workload", "pod", "identity", "labels", "entity", "tier"}) {
    EXPECT_TRUE(j["destination"].contains(k)) << k;
  }
  EXPECT_EQ(j["destination"]["entity"], "health");
  EXPECT_EQ(j["destination"]["tier"], 0);
  EXPECT_EQ(j["source"]["entity"], "remote-node");
  EXPECT_TRUE(j["source"]["tier"].is_null());
  EXPECT_TRUE(j["source"]["namespace"].is_null());
}

TEST_F(RenderTest, AuditJsonHasNullDropReasonAndPodFields) {
  Flow f = b_.Audit(b_.Pod("business", "odoo", {"pod-template-hash=abc", "team=erp"}),
                    b_.Pod("business", "postgres"), 5432);
  nlohmann::json j = ClassificationJson(Classify(f));
  EXPECT_TRUE(j["drop_reason"].is_null());
  EXPECT_EQ(j["predicted"], true);
  EXPECT_EQ(j["port"], 5432);
  EXPECT_EQ(j["protocol"], "TCP");
  EXPECT_EQ(j["source"]["namespace"], "business");
  EXPECT_EQ(j["source"]["workload"], "odoo");
  EXPECT_EQ(j["source"]["pod"], "odoo-0");
  EXPECT_EQ(j["source"]["tier"], 2);
  // Labels that matter: the app and team labels, not the bookkeeping ones.
  EXPECT_THAT(j["source"]["labels"].get<std::vector<std::string>>(),
              ::testing::UnorderedElementsAre("k8s:app.kubernetes.io/name=odoo", "k8s:team=erp"));
  EXPECT_FALSE(j.contains("reasoning") && j["reasoning"].empty());
}

TEST_F(RenderTest, ReportHasTableCriticalItemsAndBypass) {
  DropAnalyzer analyzer({&tiers_, &baseline_, nullptr, &b_.symbols});
  Flow dns = b_.Drop(b_.RemoteNode(), b_.CoreDns(), 53, Protocol::kUDP);
  dns.traffic_direction = flow::TrafficDirection::kIngress;
  analyzer.OnFlow(dns);
  auto shell = b_.Pod("business", "debug-shell", {"policy.cilium.io/enforce=false"});
  Flow by = b_.Drop(shell, b_.World(), 443);
  by.time = dns.time + absl::Minutes(5);
  analyzer.OnFlow(by);
  analyzer.Flush();
  ReportOptions o;
  o.title = "test";
  o.bypass_label = "policy.cilium.io/enforce=false";
  std::string text = RenderReport(analyzer.counts().Snapshot(), analyzer.bypass().Snapshot(),
                                  analyzer.bypass().latest_flow_time(), o);
  EXPECT_THAT(text, HasSubstr("CLASS"));
  EXPECT_THAT(text, HasSubstr("dns_blocked"));
  EXPECT_THAT(text,
              HasSubstr("[critical] dns_blocked  (remote-node) -> kube-system/coredns:53/UDP"));
  EXPECT_THAT(text, HasSubstr("[high] bypass_ineffective"));
  EXPECT_THAT(text, HasSubstr("business/debug-shell-0 (debug-shell)  bypassed since"));
}

TEST_F(RenderTest, ExplainShowsReasoningAndExplanation) {
  Flow f = b_.Drop(b_.Pod("observability", "vmagent"), b_.CoreDns(), 53, Protocol::kUDP);
  std::string text = RenderExplain(Classify(f));
  EXPECT_THAT(text, HasSubstr("dns_blocked (critical)"));
  EXPECT_THAT(text, HasSubstr("3 dns_blocked: yes"));
  EXPECT_THAT(text, HasSubstr("Explanation:"));
}

}  // namespace
}  // namespace tw::classify
