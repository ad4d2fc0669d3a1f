// Every class and the precedence between them, from hand-built flows (one fixture per
// class), plus the enforcing side, AUDIT, L7 drops, reply inference and policy attribution.
#include "classify/classifier.h"

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "baseline/baseline.h"
#include "builders.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/parser.h"
#include "tier/tier_model.h"

namespace tw::classify {
namespace {

using flow::Flow;
using flow::Protocol;
using flow::TrafficDirection;
using testing::Builders;
using ::testing::HasSubstr;

class ClassifierTest : public ::testing::Test {
 protected:
  // Puts the connection of `f` (as seen) into the baseline.
  void Learn(const Flow& f) {
    auto key = flow::KeyAsSeen(f, b_.symbols, nullptr);
    ASSERT_TRUE(key.has_value());
    baseline_.Record(*key, f.time - absl::Hours(24), f.node_name, flow::Verdict::kForwarded);
  }
  DropClassifier Classifier(const policy::Evaluator* eval = nullptr) {
    return DropClassifier({&tiers_, &baseline_, eval, &b_.symbols});
  }
  Classification MustClassify(const Flow& f, const policy::Evaluator* eval = nullptr) {
    DropClassifier c = Classifier(eval);
    auto r = c.Classify(f, /*explain=*/true);
    EXPECT_TRUE(r.has_value());
    return r.value_or(Classification{});
  }

  Builders b_;
  tier::TierModel tiers_;
  baseline::Baseline baseline_{b_.symbols};
};

// --- One fixture per class, then the precedence conflicts ----------------------------------

struct ClassCase {
  std::string name;
  // Builds the flow; may add baseline connections through `learn`.
  std::function<Flow(Builders&, const std::function<void(const Flow&)>& learn)> build;
  DropClass want;
  Side want_side;
};

// ctest and gtest print the case by its name, not as a byte dump.
void PrintTo(const ClassCase& c, std::ostream* os) { *os << c.name; }

class ClassifierRuleTest : public ClassifierTest,
                           public ::testing::WithParamInterface<ClassCase> {};

TEST_P(ClassifierRuleTest, FirstMatchWins) {
  const ClassCase& tc = GetParam();
  Flow f = tc.build(b_, [this](const Flow& g) { Learn(g); });
  Classification c = MustClassify(f);
  EXPECT_EQ(DropClassName(c.drop_class), DropClassName(tc.want))
      << "reasoning:\n  " << absl::StrJoin(c.reasoning, "\n  ");
  EXPECT_EQ(c.severity, SeverityOf(tc.want));
  EXPECT_EQ(SideName(c.enforcing_side), SideName(tc.want_side));
  EXPECT_FALSE(c.explanation.empty());
  EXPECT_FALSE(c.id.empty());
  // The connection is the flow model's key as seen on the wire.
  EXPECT_EQ(c.connection, flow::KeyAsSeen(f, b_.symbols, nullptr));
}

std::vector<ClassCase> Cases() {
  using L = std::function<void(const Flow&)>;
  std::vector<ClassCase> v;
  // 1 infra_drop: a known non-policy reason.
  v.push_back({"infra_drop",
               [](Builders& b, const L& learn) {
                 Flow f = b.Drop(b.Pod("flux-system", "helm-controller"),
                                 b.Entity("kube-apiserver", 7), 6443);
                 learn(f);
                 f.drop_reason_desc = *flow::DropReasonFromName("CT_MAP_INSERTION_FAILED");
                 f.drop_reason = f.drop_reason_desc;
                 return f;
               },
               DropClass::kInfraDrop, Side::kSource});
  // Older captures: only the drop event's sub_type carries the reason.
  v.push_back({"infra_drop_from_sub_type",
               [](Builders& b, const L&) {
                 Flow f = b.Drop(b.Pod("business", "odoo"), b.Pod("business", "postgres"), 5432);
                 f.drop_reason_desc = 0;
                 f.drop_reason = 0;
                 f.event_sub_type = 132;  // INVALID_PACKET_DROPPED
                 return f;
               },
               DropClass::kInfraDrop, Side::kSource});
  // 2 reply_drop: TCP ACK from postgres:5432 to odoo's ephemeral port, reverse of a
  // baseline connection.
  v.push_back({"reply_drop_reverse_of_baseline",
               [](Builders& b, const L& learn) {
                 Flow orig =
                     b.Forwarded(b.Pod("business", "odoo"), b.Pod("business", "postgres"), 5432);
                 learn(orig);
                 Flow f = b.Drop(b.Pod("business", "postgres"), b.Pod("business", "odoo"), 41736,
                                 Protocol::kTCP, 5432);
                 f.l4.tcp_flags = flow::kACK;
                 return f;
               },
               DropClass::kReplyDrop, Side::kSource});
  v.push_back({"reply_drop_is_reply",
               [](Builders& b, const L&) {
                 Flow f = b.Drop(b.Pod("business", "postgres"), b.Pod("business", "odoo"), 41736,
                                 Protocol::kTCP, 5432);
                 f.l4.tcp_flags = flow::kACK | flow::kPSH;
                 f.is_reply = true;
                 return f;
               },
               DropClass::kReplyDrop, Side::kSource});
  v.push_back({"reply_drop_syn_ack",
               [](Builders& b, const L&) {
                 Flow f = b.Drop(b.Pod("business", "postgres"), b.Pod("business", "odoo"), 41736,
                                 Protocol::kTCP, 5432);
                 f.l4.tcp_flags = flow::kSYN | flow::kACK;
                 return f;
               },
               DropClass::kReplyDrop, Side::kSource});
  v.push_back({"reply_drop_udp_to_ephemeral",
               [](Builders& b, const L& learn) {
                 learn(b.Forwarded(b.Pod("business", "odoo"), b.CoreDns(), 53, Protocol::kUDP));
                 Flow f = b.Drop(b.CoreDns(), b.Pod("business", "odoo"), 51000, Protocol::kUDP, 53);
                 f.traffic_direction = TrafficDirection::kIngress;
                 return f;
               },
               DropClass::kReplyDrop, Side::kDestination});
  v.push_back({"reply_drop_icmp_echo_reply",
               [](Builders& b, const L&) {
                 return b.Drop(b.Health(), b.RemoteNode(), 0, Protocol::kICMPv4);
               },
               DropClass::kReplyDrop, Side::kSource});
  // 3 dns_blocked.
  v.push_back({"dns_blocked",
               [](Builders& b, const L&) {
                 Flow f = b.Drop(b.RemoteNode(), b.CoreDns(), 53, Protocol::kUDP);
                 f.traffic_direction = TrafficDirection::kIngress;
                 return f;
               },
               DropClass::kDnsBlocked, Side::kDestination});
  // 4 tier0_violation: Tier 0 namespace, and Cilium's health endpoint.
  v.push_back({"tier0_violation_namespace",
               [](Builders& b, const L&) {
                 Flow f = b.Drop(b.Pod("flux-system", "kustomize-controller"),
                                 b.Pod("flux-system", "source-controller"), 9090);
                 f.traffic_direction = TrafficDirection::kIngress;
                 return f;
               },
               DropClass::kTier0Violation, Side::kDestination});
  v.push_back({"tier0_violation_health_endpoint",
               [](Builders& b, const L&) {
                 Flow f = b.Drop(b.RemoteNode(), b.Health(), 4240);
                 f.traffic_direction = TrafficDirection::kIngress;
                 return f;
               },
               DropClass::kTier0Violation, Side::kDestination});
  // 5 metrics_scrape_blocked.
  v.push_back({"metrics_scrape_blocked",
               [](Builders& b, const L&) {
                 return b.Drop(b.Pod("observability", "vmagent"), b.Pod("business", "odoo"), 9100);
               },
               DropClass::kMetricsScrapeBlocked, Side::kSource});
  // 6 bypass_ineffective.
  v.push_back({"bypass_ineffective",
               [](Builders& b, const L&) {
                 return b.Drop(b.Pod("business", "debug-shell", {"policy.cilium.io/enforce=false"}),
                               b.Pod("business", "postgres"), 5432);
               },
               DropClass::kBypassIneffective, Side::kSource});
  // 7 platform_blocked.
  v.push_back({"platform_blocked",
               [](Builders& b, const L&) {
                 return b.Drop(b.Pod("cert-manager", "cert-manager"), b.World(), 443);
               },
               DropClass::kPlatformBlocked, Side::kSource});
  // 8 baseline_regression.
  v.push_back({"baseline_regression",
               [](Builders& b, const L& learn) {
                 Flow f = b.Drop(b.Pod("business", "odoo"), b.Pod("business", "postgres"), 5432);
                 learn(f);
                 return f;
               },
               DropClass::kBaselineRegression, Side::kSource});
  // 9 expected_deny.
  v.push_back({"expected_deny",
               [](Builders& b, const L&) {
                 return b.Drop(b.Pod("business", "odoo"), b.Pod("business", "n8n"), 5678);
               },
               DropClass::kExpectedDeny, Side::kSource});

  // Precedence conflicts.
  v.push_back({"scraper_to_dns_port_is_dns_blocked",
               [](Builders& b, const L&) {
                 return b.Drop(b.Pod("observability", "vmagent"), b.CoreDns(), 53, Protocol::kUDP);
               },
               DropClass::kDnsBlocked, Side::kSource});
  v.push_back({"scraper_to_tier0_metrics_ingress_is_tier0",
               [](Builders& b, const L&) {
                 Flow f = b.Drop(b.Pod("observability", "vmagent"), b.CoreDns(), 9153);
                 f.traffic_direction = TrafficDirection::kIngress;
                 return f;
               },
               DropClass::kTier0Violation, Side::kDestination});
  v.push_back({"scraper_to_tier0_metrics_egress_is_metrics",
               [](Builders& b, const L&) {
                 return b.Drop(b.Pod("observability", "vmagent"), b.CoreDns(), 9153);
               },
               DropClass::kMetricsScrapeBlocked, Side::kSource});
  v.push_back({"tier0_in_baseline_is_tier0",
               [](Builders& b, const L& learn) {
                 Flow f = b.Drop(b.Pod("flux-system", "helm-controller"),
                                 b.Pod("flux-system", "source-controller"), 9090);
                 f.traffic_direction = TrafficDirection::kIngress;
                 learn(f);
                 return f;
               },
               DropClass::kTier0Violation, Side::kDestination});
  v.push_back({"bypass_on_tier1_is_bypass",
               [](Builders& b, const L&) {
                 return b.Drop(
                     b.Pod("cert-manager", "cert-manager", {"policy.cilium.io/enforce=false"}),
                     b.World(), 443);
               },
               DropClass::kBypassIneffective, Side::kSource});
  v.push_back({"bypass_label_on_the_other_side_does_not_count",
               [](Builders& b, const L&) {
                 Flow f =
                     b.Drop(b.Pod("business", "debug-shell", {"policy.cilium.io/enforce=false"}),
                            b.Pod("business", "postgres"), 5432);
                 f.traffic_direction = TrafficDirection::kIngress;
                 return f;
               },
               DropClass::kExpectedDeny, Side::kDestination});
  v.push_back({"infra_beats_reply",
               [](Builders& b, const L&) {
                 Flow f = b.Drop(b.Pod("business", "postgres"), b.Pod("business", "odoo"), 41736,
                                 Protocol::kTCP, 5432);
                 f.is_reply = true;
                 f.drop_reason_desc = *flow::DropReasonFromName("CT_MAP_INSERTION_FAILED");
                 return f;
               },
               DropClass::kInfraDrop, Side::kSource});
  // coredns (Tier 0) answering: without the reply rule this would be a tier0_violation.
  v.push_back({"reply_beats_tier0",
               [](Builders& b, const L& learn) {
                 learn(b.Forwarded(b.Pod("business", "odoo"), b.CoreDns(), 53, Protocol::kUDP));
                 return b.Drop(b.CoreDns(), b.Pod("business", "odoo"), 40001, Protocol::kUDP, 53);
               },
               DropClass::kReplyDrop, Side::kSource});
  v.push_back({"metrics_beats_platform_and_baseline",
               [](Builders& b, const L& learn) {
                 Flow f = b.Drop(b.Pod("observability", "vmagent"),
                                 b.Pod("cert-manager", "cert-manager"), 9090);
                 learn(f);
                 return f;
               },
               DropClass::kMetricsScrapeBlocked, Side::kSource});
  v.push_back({"platform_beats_baseline",
               [](Builders& b, const L& learn) {
                 Flow f = b.Drop(b.Pod("observability", "grafana"),
                                 b.Pod("observability", "vmsingle"), 8429);
                 learn(f);
                 return f;
               },
               DropClass::kPlatformBlocked, Side::kSource});
  v.push_back({"non_scraper_on_metrics_port_in_tier2_is_expected",
               [](Builders& b, const L&) {
                 return b.Drop(b.Pod("business", "odoo"), b.Pod("business", "n8n"), 9090);
               },
               DropClass::kExpectedDeny, Side::kSource});
  // A TCP ACK from a high port with nothing known about the reverse is not a reply.
  v.push_back({"unknown_reverse_is_not_a_reply",
               [](Builders& b, const L&) {
                 Flow f = b.Drop(b.Pod("business", "postgres"), b.Pod("business", "odoo"), 41736,
                                 Protocol::kTCP, 5432);
                 f.l4.tcp_flags = flow::kACK;
                 return f;
               },
               DropClass::kExpectedDeny, Side::kSource});
  return v;
}

INSTANTIATE_TEST_SUITE_P(EveryClass, ClassifierRuleTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<ClassCase>& i) { return i.param.name; });

// --- Verdicts, sides and reasons -------------------------------------------------------------

TEST_F(ClassifierTest, OnlyDroppedAndAuditAreClassified) {
  DropClassifier c = Classifier();
  Flow f = b_.Forwarded(b_.Pod("business", "odoo"), b_.Pod("business", "postgres"), 5432);
  EXPECT_FALSE(c.Classify(f).has_value());
  f.verdict = flow::Verdict::kError;
  EXPECT_FALSE(c.Classify(f).has_value());
  f.verdict = flow::Verdict::kAudit;
  EXPECT_TRUE(c.Classify(f).has_value());
}

TEST_F(ClassifierTest, AuditIsPredictedWithoutDropReason) {
  Flow f = b_.Audit(b_.Pod("cert-manager", "cert-manager"), b_.World(), 443);
  Classification c = MustClassify(f);
  EXPECT_TRUE(c.predicted);
  EXPECT_EQ(c.drop_reason, 0u);
  EXPECT_EQ(c.drop_class, DropClass::kPlatformBlocked);
  EXPECT_THAT(c.explanation, HasSubstr("would be denied"));
}

TEST_F(ClassifierTest, AuditOfLostReplyIsReplyDropEvenWithIsReplyFalse) {
  // Policy-verdict events carry conntrack's view: is_reply=false for a reply whose
  // conntrack entry is gone. The baseline still knows the connection.
  Learn(b_.Forwarded(b_.Pod("business", "odoo"), b_.Pod("business", "postgres"), 5432));
  Flow f = b_.Audit(b_.Pod("business", "postgres"), b_.Pod("business", "odoo"), 41736);
  f.l4.source_port = 5432;
  f.l4.tcp_flags = flow::kACK;
  f.is_reply = false;
  Classification c = MustClassify(f);
  EXPECT_EQ(c.drop_class, DropClass::kReplyDrop);
  ASSERT_TRUE(c.reply_to.has_value());
  EXPECT_EQ(c.reply_to->ToString(), "business/odoo -> business/postgres:5432/TCP");
  EXPECT_FALSE(c.in_baseline);  // the connection as seen (the reply direction) is not
}

TEST_F(ClassifierTest, L7DropIsPolicyDenialWithoutReason) {
  Flow f = b_.Drop(b_.Pod("business", "odoo"), b_.CoreDns(), 53, Protocol::kUDP);
  f.type = flow::FlowType::kL7;
  f.event_type = flow::kEventL7;
  f.drop_reason_desc = 0;
  f.drop_reason = 0;
  f.event_sub_type = 0;
  f.l7.emplace();
  f.l7->type = flow::L7Type::kRequest;
  f.l7->dns.emplace();
  f.l7->dns->query = "evil.example.com.";
  Classification c = MustClassify(f);
  EXPECT_EQ(c.drop_class, DropClass::kDnsBlocked);
  EXPECT_EQ(c.drop_reason, 0u);
  EXPECT_THAT(c.explanation, HasSubstr("evil.example.com"));

  // HTTP 403 between Tier 2 workloads, even with a stray reason: not an infra drop.
  Flow h = b_.Drop(b_.Pod("business", "odoo"), b_.Pod("business", "n8n"), 5678);
  h.type = flow::FlowType::kL7;
  h.event_type = flow::kEventL7;
  h.drop_reason_desc = *flow::DropReasonFromName("CT_MAP_INSERTION_FAILED");
  h.l7.emplace();
  h.l7->http.emplace();
  h.l7->http->code = 403;
  h.l7->http->method = "POST";
  h.l7->http->url = "http://n8n:5678/webhook";
  Classification ch = MustClassify(h);
  EXPECT_EQ(ch.drop_class, DropClass::kExpectedDeny);
  EXPECT_EQ(ch.drop_reason, 0u);
  EXPECT_THAT(ch.explanation, HasSubstr("HTTP POST"));
}

TEST_F(ClassifierTest, EnforcingSideFollowsTrafficDirection) {
  Flow f = b_.Drop(b_.Pod("cert-manager", "cert-manager"), b_.Pod("business", "odoo"), 8069);
  f.traffic_direction = TrafficDirection::kEgress;
  Classification c = MustClassify(f);
  EXPECT_EQ(c.enforcing_side, Side::kSource);
  EXPECT_EQ(c.side_basis, SideBasis::kTrafficDirection);
  EXPECT_EQ(c.drop_class, DropClass::kPlatformBlocked);  // cert-manager is Tier 1

  f.traffic_direction = TrafficDirection::kIngress;
  c = MustClassify(f);
  EXPECT_EQ(c.enforcing_side, Side::kDestination);
  EXPECT_EQ(c.drop_class, DropClass::kExpectedDeny);  // odoo is Tier 2
}

TEST_F(ClassifierTest, MissingDirectionAssumesSourceAndSaysSo) {
  Flow f = b_.Drop(b_.Pod("business", "odoo"), b_.Pod("cert-manager", "cert-manager"), 9402);
  f.traffic_direction = TrafficDirection::kUnknown;
  Classification c = MustClassify(f);
  EXPECT_EQ(c.enforcing_side, Side::kSource);
  EXPECT_EQ(c.side_basis, SideBasis::kAssumedSource);
  EXPECT_EQ(c.drop_class, DropClass::kExpectedDeny);
  EXPECT_THAT(c.explanation, HasSubstr("no traffic direction: source assumed"));
}

constexpr char kIngressDefaultDeny[] = R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: cert-manager-ingress
  namespace: cert-manager
spec:
  endpointSelector: {}
  ingress:
    - fromEntities: [kube-apiserver]
)";

TEST_F(ClassifierTest, MissingDirectionLetsThePolicyEngineDecide) {
  policy::LoadedPolicies r = policy::ParsePolicyText(kIngressDefaultDeny, "cm.yaml");
  ASSERT_FALSE(r.HasErrors());
  policy::Evaluator eval(r.policies);
  Flow f = b_.Drop(b_.Pod("business", "odoo"), b_.Pod("cert-manager", "cert-manager"), 9402);
  f.traffic_direction = TrafficDirection::kUnknown;
  Classification c = MustClassify(f, &eval);
  EXPECT_EQ(c.enforcing_side, Side::kDestination);
  EXPECT_EQ(c.side_basis, SideBasis::kPolicyEngine);
  EXPECT_EQ(c.drop_class, DropClass::kPlatformBlocked);
  ASSERT_EQ(c.attribution.default_deny_by.size(), 1u);
  EXPECT_EQ(c.attribution.default_deny_by[0].name, "cert-manager-ingress");
  EXPECT_THAT(c.explanation, HasSubstr("cert-manager/cert-manager-ingress"));
  EXPECT_THAT(c.explanation, HasSubstr("the policies deny it there"));
}

// --- Attribution ------------------------------------------------------------------------------

constexpr char kDefaultDenyPolicies[] = R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: default-deny-all
spec:
  endpointSelector:
    matchExpressions:
      - {key: k8s:io.kubernetes.pod.namespace, operator: NotIn, values: [kube-system]}
  ingress: [{}]
  egress: [{}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: odoo-egress
  namespace: business
spec:
  endpointSelector:
    matchLabels: {app.kubernetes.io/name: odoo}
  egress:
    - toEndpoints: [{matchLabels: {app.kubernetes.io/name: postgres}}]
      toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
  egressDeny:
    - toEndpoints: [{matchLabels: {app.kubernetes.io/name: n8n}}]
)";

TEST_F(ClassifierTest, ImplicitDefaultDenyNamesThePolicies) {
  policy::LoadedPolicies r = policy::ParsePolicyText(kDefaultDenyPolicies, "p.yaml");
  ASSERT_FALSE(r.HasErrors());
  policy::Evaluator eval(r.policies);
  Flow f = b_.Drop(b_.Pod("business", "odoo"), b_.World(), 443);
  f.destination_names = {b_.symbols.Intern("apps.odoo.com")};
  Classification c = MustClassify(f, &eval);
  EXPECT_TRUE(c.attribution.evaluated);
  EXPECT_EQ(c.attribution.side_decision, policy::Decision::kDenied);
  EXPECT_TRUE(c.attribution.denied_by.empty());
  std::vector<std::string> names;
  for (const auto& p : c.attribution.default_deny_by) names.push_back(p.DisplayName());
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("default-deny-all", "business/odoo-egress"));
  EXPECT_THAT(c.explanation, HasSubstr("default-deny-all"));
  EXPECT_THAT(c.explanation, HasSubstr("into default-deny for egress"));
  EXPECT_EQ(c.attribution.engine_drop_reason, flow::kDropPolicyDenied);
}

TEST_F(ClassifierTest, ExplicitDenyNamesTheRule) {
  policy::LoadedPolicies r = policy::ParsePolicyText(kDefaultDenyPolicies, "p.yaml");
  policy::Evaluator eval(r.policies);
  Flow f = b_.Drop(b_.Pod("business", "odoo"), b_.Pod("business", "n8n"), 5678);
  f.drop_reason_desc = flow::kDropPolicyDeny;
  Classification c = MustClassify(f, &eval);
  ASSERT_EQ(c.attribution.denied_by.size(), 1u);
  EXPECT_EQ(c.attribution.denied_by[0].name, "odoo-egress");
  EXPECT_EQ(c.attribution.denied_by[0].rule, "spec.egressDeny[0]");
  EXPECT_EQ(c.attribution.engine_drop_reason, flow::kDropPolicyDeny);
  EXPECT_THAT(c.explanation, HasSubstr("deny rule spec.egressDeny[0] of business/odoo-egress"));
  auto resp = c.attribution.Responsible();
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_EQ(resp[0]->name, "odoo-egress");
}

TEST_F(ClassifierTest, EngineAllowingADropSaysSo) {
  policy::LoadedPolicies r = policy::ParsePolicyText(kDefaultDenyPolicies, "p.yaml");
  policy::Evaluator eval(r.policies);
  Flow f = b_.Drop(b_.Pod("business", "odoo"), b_.Pod("business", "postgres"), 5432);
  Classification c = MustClassify(f, &eval);
  EXPECT_EQ(c.attribution.side_decision, policy::Decision::kAllowed);
  EXPECT_THAT(c.explanation, HasSubstr("although the given policies allow it"));
}

TEST_F(ClassifierTest, HubbleDeniedByIsKept) {
  Flow f = b_.Drop(b_.Pod("business", "odoo"), b_.Pod("business", "n8n"), 5678);
  flow::PolicyRef p;
  p.name = b_.symbols.Intern("deny-n8n");
  p.namespace_ = b_.symbols.Intern("business");
  p.kind = b_.symbols.Intern("CiliumNetworkPolicy");
  f.egress_denied_by = {p};
  Classification c = MustClassify(f);
  ASSERT_EQ(c.attribution.hubble_denied_by.size(), 1u);
  EXPECT_TRUE(c.attribution.hubble_denied_by[0].from_hubble);
  EXPECT_THAT(c.explanation, HasSubstr("business/deny-n8n (as Hubble reports)"));
}

// --- Baseline facts, ids, stream knowledge ------------------------------------------------------

TEST_F(ClassifierTest, BaselineSinceAndCount) {
  Flow f = b_.Drop(b_.Pod("business", "odoo"), b_.Pod("business", "postgres"), 5432);
  Learn(f);
  Classification c = MustClassify(f);
  EXPECT_TRUE(c.in_baseline);
  EXPECT_EQ(c.baseline_since, f.time - absl::Hours(24));
  EXPECT_EQ(c.baseline_count, 1u);
  EXPECT_THAT(c.explanation, HasSubstr("worked before"));
}

TEST_F(ClassifierTest, IdIsStableAndDistinct) {
  Flow a = b_.Drop(b_.Pod("business", "odoo"), b_.Pod("business", "postgres"), 5432);
  Flow b = a;
  b.uuid = "other";
  EXPECT_EQ(DropId(a), DropId(a));
  EXPECT_NE(DropId(a), DropId(b));
  EXPECT_EQ(DropId(a).size(), 12u);
  Flow c = a;
  c.uuid.clear();
  Flow d = c;
  d.l4.source_port = 40001;
  EXPECT_EQ(DropId(c), DropId(c));
  EXPECT_NE(DropId(c), DropId(d));
}

TEST_F(ClassifierTest, ReplyRecognisedFromConnectionsSeenInTheStream) {
  // No baseline entry, but the stream showed the connection working before the drop.
  DropClassifier c = Classifier();
  c.Observe(b_.Forwarded(b_.Pod("business", "odoo"), b_.Pod("business", "postgres"), 5432));
  Flow f = b_.Drop(b_.Pod("business", "postgres"), b_.Pod("business", "odoo"), 41736,
                   Protocol::kTCP, 5432);
  f.l4.tcp_flags = flow::kACK;
  auto r = c.Classify(f);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->drop_class, DropClass::kReplyDrop);
  EXPECT_EQ(r->reply_basis, flow::ReplyBasis::kKnownServerPort);
}

TEST_F(ClassifierTest, ReasoningListsEveryRuleChecked) {
  Flow f = b_.Drop(b_.Pod("business", "odoo"), b_.Pod("business", "n8n"), 5678);
  Classification c = MustClassify(f);
  std::string all = absl::StrJoin(c.reasoning, "\n");
  for (absl::string_view step :
       {"1 infra_drop: no", "2 reply_drop: no", "3 dns_blocked: no", "4 tier0_violation: no",
        "5 metrics_scrape_blocked: no", "6 bypass_ineffective: no", "7 platform_blocked: no",
        "8 baseline_regression: no", "9 expected_deny"}) {
    EXPECT_THAT(all, HasSubstr(std::string(step)));
  }
}

TEST(DropClassTest, RoundTripAndSeverities) {
  for (DropClass c : AllDropClasses()) {
    EXPECT_EQ(DropClassFromName(DropClassName(c)), c);
  }
  EXPECT_EQ(SeverityOf(DropClass::kDnsBlocked), DropSeverity::kCritical);
  EXPECT_EQ(SeverityOf(DropClass::kTier0Violation), DropSeverity::kCritical);
  EXPECT_EQ(SeverityOf(DropClass::kMetricsScrapeBlocked), DropSeverity::kHigh);
  EXPECT_EQ(SeverityOf(DropClass::kBypassIneffective), DropSeverity::kHigh);
  EXPECT_EQ(SeverityOf(DropClass::kPlatformBlocked), DropSeverity::kHigh);
  EXPECT_EQ(SeverityOf(DropClass::kBaselineRegression), DropSeverity::kHigh);
  EXPECT_EQ(SeverityOf(DropClass::kInfraDrop), DropSeverity::kMedium);
  EXPECT_EQ(SeverityOf(DropClass::kExpectedDeny), DropSeverity::kLow);
  EXPECT_EQ(SeverityOf(DropClass::kReplyDrop), DropSeverity::kLow);
  EXPECT_FALSE(DropClassFromName("nope").has_value());
}

}  // namespace
}  // namespace tw::classify
