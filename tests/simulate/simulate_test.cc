// Simulation against the example's before phase (the connections that worked before
// enforcement): the story's policies break Tier 0, Tier 1 and DNS; the corrected set breaks
// nothing there (only Tier 2 workloads that have no app policy yet); with the app team's
// policies nothing breaks at all. Plus attribution, undecided verdicts and baseline-only input.
#include "simulate/simulate.h"

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "baseline/baseline.h"
#include "baseline/document.h"
#include "baseline/persist.h"
#include "flow/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/parser.h"
#include "simulate/render.h"
#include "testing/paths.h"
#include "tier/tier_model.h"

namespace tw::simulate {
namespace {

using classify::DropClass;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::string Example(const std::string& file) {
  return tw::testing::SourceDir() + "/examples/zero-trust-rollout/" + file;
}

// Feeds every flow of a capture to `fn` (the test links no capture reader).
template <typename Fn>
void ReadCapture(const std::string& path, flow::SymbolTable& symbols, Fn fn) {
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  flow::JsonDecoder decoder(symbols);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    auto ev = decoder.Decode(line);
    ASSERT_TRUE(ev.ok()) << path << ":" << n << ": " << ev.status();
    fn(*ev);
  }
}

policy::PolicySet Load(const std::vector<std::string>& paths) {
  auto r = policy::LoadPolicies(paths);
  EXPECT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->HasErrors());
  for (const auto& d : r->diagnostics) {
    if (d.severity == tw::Severity::kError) ADD_FAILURE() << d.ToString();
  }
  return r->policies;
}

class ExampleSimulation : public ::testing::Test {
 protected:
  void SetUp() override {
    ReadCapture(Example("before.jsonl"), symbols_,
                [&](const flow::Event& ev) { set_.Observe(ev); });
  }
  SimulationResult Run(const std::vector<std::string>& policy_paths) {
    policies_ = Load(policy_paths);
    evaluator_ = std::make_unique<policy::Evaluator>(policies_);
    return Simulate(set_, *evaluator_, tiers_);
  }
  static std::set<std::string> Broken(const SimulationResult& r, DropClass c) {
    std::set<std::string> out;
    for (const WouldBreak& b : r.breaks) {
      if (b.drop.drop_class == c) out.insert(b.connection.ToString());
    }
    return out;
  }

  flow::SymbolTable symbols_;
  tier::TierModel tiers_;
  ConnectionSet set_{symbols_};
  policy::PolicySet policies_;
  std::unique_ptr<policy::Evaluator> evaluator_;
};

TEST_F(ExampleSimulation, LearnsTheBaselineConnections) {
  EXPECT_EQ(set_.size(), 47u);  // expected-classes.json: before.baseline_connections
  EXPECT_GT(set_.learn_stats().replies, 0u);
}

TEST_F(ExampleSimulation, StoryPoliciesBreakTier0Tier1AndDns) {
  SimulationResult r = Run({tw::testing::SourceDir() + "/tests/policy/testdata/story"});
  EXPECT_TRUE(r.GateFailed());
  EXPECT_EQ(r.connections, 47u);
  EXPECT_THAT(Broken(r, DropClass::kDnsBlocked),
              UnorderedElementsAre("(remote-node) -> kube-system/coredns:53/UDP"));
  EXPECT_THAT(Broken(r, DropClass::kTier0Violation),
              UnorderedElementsAre(
                  "(remote-node) -> (health):4240/TCP", "(remote-node) -> (health):8/ICMPv4",
                  "flux-system/helm-controller -> flux-system/source-controller:9090/TCP",
                  "flux-system/kustomize-controller -> flux-system/source-controller:9090/TCP"));
  EXPECT_EQ(Broken(r, DropClass::kMetricsScrapeBlocked).size(), 6u);
  EXPECT_THAT(Broken(r, DropClass::kPlatformBlocked),
              ::testing::Contains("cert-manager/cert-manager -> (kube-apiserver):6443/TCP"));
  EXPECT_THAT(
      Broken(r, DropClass::kPlatformBlocked),
      ::testing::Contains("cert-manager/cert-manager -> acme-v02.api.letsencrypt.org:443/TCP"));
  EXPECT_GT(r.drops_of(classify::DropSeverity::kCritical), 0u);

  // Attribution: the story's allow-metrics-scraping (no enableDefaultDeny: false) is what
  // puts flux-system's source-controller into ingress default-deny.
  bool found = false;
  for (const WouldBreak& b : r.breaks) {
    if (b.connection.ToString() !=
        "flux-system/helm-controller -> flux-system/source-controller:9090/TCP") {
      continue;
    }
    found = true;
    EXPECT_EQ(b.direction, policy::Direction::kIngress);
    ASSERT_EQ(b.drop.attribution.default_deny_by.size(), 1u);
    EXPECT_EQ(b.drop.attribution.default_deny_by[0].name, "allow-metrics-scraping");
    EXPECT_TRUE(b.drop.predicted);
    EXPECT_TRUE(b.drop.in_baseline);
  }
  EXPECT_TRUE(found);
  const PolicyImpact* metrics = nullptr;
  for (const PolicyImpact& p : r.by_policy) {
    if (p.policy == "allow-metrics-scraping") metrics = &p;
  }
  ASSERT_NE(metrics, nullptr);
  EXPECT_EQ(metrics->by_class.at(DropClass::kTier0Violation), 4u);
  EXPECT_EQ(metrics->kind, "CiliumClusterwideNetworkPolicy");
}

TEST_F(ExampleSimulation, CorrectedSetBreaksNothingInTier0Tier1OrDns) {
  SimulationResult r = Run({tw::testing::SourceDir() + "/deploy/network-policies/app"});
  EXPECT_EQ(r.drops_of(classify::DropSeverity::kCritical), 0u);
  for (DropClass c :
       {DropClass::kDnsBlocked, DropClass::kTier0Violation, DropClass::kMetricsScrapeBlocked,
        DropClass::kBypassIneffective, DropClass::kPlatformBlocked}) {
    EXPECT_THAT(Broken(r, c), IsEmpty()) << classify::DropClassName(c);
  }
  // What remains are the Tier 2 workloads: the platform set has no app policies for them,
  // and default-deny-all denies them, as it should. The gate reports it (high), and
  // --fail-on critical,platform_blocked,... passes.
  EXPECT_THAT(Broken(r, DropClass::kBaselineRegression),
              UnorderedElementsAre("(remote-node) -> business/odoo:8069/TCP",
                                   "business/n8n -> api.github.com:443/TCP",
                                   "business/n8n -> business/postgres:5432/TCP",
                                   "business/odoo -> apps.odoo.com:443/TCP",
                                   "business/odoo -> business/postgres:5432/TCP"));
  for (const WouldBreak& b : r.breaks) {
    auto resp = b.drop.attribution.Responsible();
    ASSERT_EQ(resp.size(), 1u) << b.connection.ToString();
    EXPECT_EQ(resp[0]->name, "default-deny-all");
  }
  auto gate = ParseFailOn("critical,platform_blocked,metrics_scrape_blocked,bypass_ineffective");
  ASSERT_TRUE(gate.ok());
  EXPECT_FALSE(r.AnyOf(*gate));
  EXPECT_TRUE(r.GateFailed());
}

TEST_F(ExampleSimulation, CorrectedSetWithAppPoliciesBreaksNothing) {
  SimulationResult r =
      Run({tw::testing::SourceDir() + "/deploy/network-policies/app",
           tw::testing::SourceDir() + "/tests/simulate/testdata/business-apps.yaml"});
  EXPECT_EQ(r.broken, 0u) << RenderText(r, {});
  EXPECT_EQ(r.allowed, 47u);
  EXPECT_FALSE(r.GateFailed());
}

TEST_F(ExampleSimulation, KeepsTheMostSevereBeyondTheCap) {
  policies_ = Load({tw::testing::SourceDir() + "/tests/policy/testdata/story"});
  evaluator_ = std::make_unique<policy::Evaluator>(policies_);
  SimulateOptions o;
  o.max_breaks_kept = 3;
  SimulationResult r = Simulate(set_, *evaluator_, tiers_, o);
  ASSERT_EQ(r.breaks.size(), 3u);
  for (const WouldBreak& b : r.breaks)
    EXPECT_EQ(b.drop.severity, classify::DropSeverity::kCritical);
  uint64_t total = 0;
  for (const auto& [c, n] : r.by_class) total += n.drops;
  EXPECT_EQ(r.breaks_not_kept, total - 3);  // counts stay exact
  EXPECT_EQ(r.by_class[DropClass::kTier0Violation].connections, 4u);
}

TEST_F(ExampleSimulation, JsonAndTextNameTheGate) {
  SimulationResult r = Run({tw::testing::SourceDir() + "/tests/policy/testdata/story"});
  nlohmann::json j = RenderJson(r);
  EXPECT_EQ(j["gate"], "fail");
  EXPECT_EQ(j["connections"], 47);
  EXPECT_EQ(j["totals"]["tier0_violation"]["connections"], 4);
  EXPECT_EQ(j["totals"]["tier0_violation"]["severity"], "critical");
  ASSERT_FALSE(j["breaks"].empty());
  EXPECT_TRUE(j["breaks"][0]["drop"].contains("explanation"));
  std::string text = RenderText(r, {});
  EXPECT_THAT(text, ::testing::HasSubstr("FAIL:"));
  EXPECT_THAT(text, ::testing::HasSubstr("By responsible policy"));
}

// What a simulated break is, for comparing two simulations.
std::set<std::string> BreakSet(const SimulationResult& r) {
  std::set<std::string> out;
  for (const WouldBreak& b : r.breaks) {
    out.insert(absl::StrCat(b.connection.ToString(), " ", policy::DirectionName(b.direction), " ",
                            classify::DropClassName(b.drop.drop_class)));
  }
  return out;
}

// A baseline keeps its workloads' labels, so simulating the baseline file (snapshot or
// exported document) is exact: the same would-be drops as simulating the captures it was
// learned from, nothing synthesized.
TEST(BaselineOnly, LearnedLabelsMakeABaselineFileExact) {
  flow::SymbolTable symbols;
  tier::TierModel tiers;
  policy::PolicySet story = Load({tw::testing::SourceDir() + "/tests/policy/testdata/story"});
  policy::Evaluator eval(story);

  ConnectionSet from_capture(symbols);
  ReadCapture(Example("before.jsonl"), symbols,
              [&](const flow::Event& ev) { from_capture.Observe(ev); });
  SimulationResult expected = Simulate(from_capture, eval, tiers);

  baseline::Baseline learned(symbols);
  flow::DnsNameCache dns(symbols);
  baseline::Learner learner(learned, &dns);
  ReadCapture(Example("before.jsonl"), symbols,
              [&](const flow::Event& ev) { learner.Observe(ev); });
  EXPECT_GT(learned.labelled_workloads(), 10u);
  // Through the exported document and back, as `simulate --baseline baseline.yaml` reads it.
  auto doc = baseline::ParseBaselineDocument(
      baseline::ExportBaselineDocument(learned, baseline::DocumentFormat::kYaml), "b.yaml",
      symbols);
  ASSERT_TRUE(doc.ok()) << doc.status();
  ConnectionSet set(symbols);
  set.AddBaseline(*doc);
  EXPECT_EQ(set.size(), 47u);
  EXPECT_EQ(set.observed_peers(), 0u);
  SimulationResult r = Simulate(set, eval, tiers);
  EXPECT_EQ(r.synthesized, 0u);
  EXPECT_TRUE(r.GateFailed());
  EXPECT_EQ(r.broken, expected.broken);
  EXPECT_EQ(BreakSet(r), BreakSet(expected));
  for (const WouldBreak& b : r.breaks) EXPECT_FALSE(b.labels_synthesized);
  EXPECT_THAT(RenderText(r, {}), ::testing::Not(::testing::HasSubstr("made up")));
}

// A baseline written before tierwatch kept labels (format version 1) names workloads only:
// their peers get synthesized labels, and the results say so. The story's mistakes still
// show.
TEST(BaselineOnly, OldBaselineGetsSynthesizedLabelsAndSaysSo) {
  flow::SymbolTable symbols;
  auto old = baseline::LoadBaselineAny(
      tw::testing::SourceDir() + "/tests/baseline/testdata/before-v1.twb", symbols);
  ASSERT_TRUE(old.ok()) << old.status();
  ConnectionSet set(symbols);
  set.AddBaseline(*old);
  EXPECT_EQ(set.size(), 48u);

  tier::TierModel tiers;
  policy::PolicySet story = Load({tw::testing::SourceDir() + "/tests/policy/testdata/story"});
  policy::Evaluator eval(story);
  SimulationResult r = Simulate(set, eval, tiers);
  // Connections between entities ((remote-node) -> (health)) need no made-up labels.
  EXPECT_GT(r.synthesized, 30u);
  EXPECT_LT(r.synthesized, 48u);
  EXPECT_TRUE(r.GateFailed());
  EXPECT_GT(r.by_class[DropClass::kTier0Violation].connections, 0u);
  for (const WouldBreak& b : r.breaks) {
    bool workload = b.connection.source.is_workload() || b.connection.destination.is_workload();
    EXPECT_EQ(b.labels_synthesized, workload) << b.connection.ToString();
  }
  EXPECT_THAT(RenderText(r, {}), ::testing::HasSubstr("labels made up from workload names"));

  // The DNS service is recognised by its labels, so DNS policies select the synthesized
  // coredns like the real one.
  Representative coredns = ConnectionSet::Synthesize(
      flow::Peer::Workload(symbols.Intern("kube-system"), symbols.Intern("coredns")), tiers,
      symbols);
  EXPECT_TRUE(tiers.IsDnsService(coredns.endpoint, flow::Protocol::kUDP, 53));
}

// --- Hand-built connections -------------------------------------------------------------------

constexpr char kPolicies[] = R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: shop, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app.kubernetes.io/name: web}}
  egress:
    - toEndpoints: [{matchLabels: {app.kubernetes.io/name: db}}]
      toPorts: [{ports: [{port: postgres, protocol: TCP}]}]
  egressDeny:
    - toEndpoints: [{matchLabels: {app.kubernetes.io/name: cache}}]
)";

TEST(HandBuilt, ExplicitDenyAndUndecidedNamedPort) {
  flow::SymbolTable s;
  tier::TierModel tiers;
  ConnectionSet set(s);
  auto key = [&](const char* src, const char* dst, uint16_t port) {
    flow::ConnectionKey k;
    k.source = flow::Peer::Workload(s.Intern("shop"), s.Intern(src));
    k.destination = flow::Peer::Workload(s.Intern("shop"), s.Intern(dst));
    k.protocol = flow::Protocol::kTCP;
    k.port = port;
    return k;
  };
  set.mutable_connections().Record(key("web", "cache", 6379), absl::UnixEpoch(), s.Intern("n1"),
                                   flow::Verdict::kForwarded);
  set.mutable_connections().Record(key("web", "db", 5432), absl::UnixEpoch(), s.Intern("n1"),
                                   flow::Verdict::kForwarded);
  policy::LoadedPolicies lr = policy::ParsePolicyText(kPolicies, "shop.yaml");
  ASSERT_FALSE(lr.HasErrors());
  policy::Evaluator eval(lr.policies);
  SimulationResult r = Simulate(set, eval, tiers);
  ASSERT_EQ(r.breaks.size(), 1u);
  const WouldBreak& b = r.breaks[0];
  EXPECT_EQ(b.connection.ToString(), "shop/web -> shop/cache:6379/TCP");
  EXPECT_EQ(b.drop.drop_class, DropClass::kBaselineRegression);
  ASSERT_EQ(b.drop.attribution.denied_by.size(), 1u);
  EXPECT_EQ(b.drop.attribution.denied_by[0].rule, "spec.egressDeny[0]");
  EXPECT_EQ(b.drop.attribution.engine_drop_reason, flow::kDropPolicyDeny);
  ASSERT_EQ(r.by_policy.size(), 1u);
  EXPECT_EQ(r.by_policy[0].policy, "shop/shop");
  // The named port cannot be resolved from a flow record: undecided, not a break.
  EXPECT_EQ(r.undecided_count, 1u);
  ASSERT_EQ(r.undecided.size(), 1u);
  EXPECT_EQ(r.undecided[0].connection.ToString(), "shop/web -> shop/db:5432/TCP");
  EXPECT_FALSE(r.undecided[0].reason.empty());
}

TEST(FailOn, SeveritiesAndClasses) {
  auto all = ParseFailOn("critical,high");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 6u);
  auto some = ParseFailOn(" critical , platform_blocked");
  ASSERT_TRUE(some.ok());
  EXPECT_THAT(*some, UnorderedElementsAre(DropClass::kDnsBlocked, DropClass::kTier0Violation,
                                          DropClass::kPlatformBlocked));
  EXPECT_FALSE(ParseFailOn("critical,bogus").ok());
}

}  // namespace
}  // namespace tw::simulate
