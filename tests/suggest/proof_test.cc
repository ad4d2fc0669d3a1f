// The proofs hold where they should — on the bundled example under the assumed target, the
// story's broken policies and the corrected set; on the real bookinfo captures; on seeded
// random baselines — and fail where they should: suggestions tampered with in the ways
// generators get wrong (a rule missing, a port range, an empty selector, a schema error).
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "suggest/prove.h"
#include "test_util.h"

namespace tw::suggest {
namespace {

using flow::Protocol;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testutil::Builder;

std::string Why(const ProofReport& p) { return RenderProof(p, 30); }

std::string Unresolved_(const SuggestionSet& s) {
  std::string out;
  for (const Unresolved& u : s.unresolved)
    absl::StrAppend(&out, u.key.ToString(), ": ", u.reason, "\n");
  return out;
}

class ExampleProofs : public ::testing::Test {
 protected:
  void SetUp() override {
    baseline_ = std::make_unique<baseline::Baseline>(symbols_);
    testutil::LearnCapture(testutil::Example("before.jsonl"), *baseline_);
    ASSERT_EQ(baseline_->size(), 47u);
  }
  std::unique_ptr<testutil::Run> Go(const std::vector<std::string>& policy_paths,
                                    SuggestOptions o = {}) {
    policies_ = policy_paths.empty() ? policy::PolicySet{} : testutil::LoadDir(policy_paths);
    return testutil::SuggestAndProve(*baseline_, policies_, tiers_, o);
  }

  flow::SymbolTable symbols_;
  std::unique_ptr<baseline::Baseline> baseline_;
  tier::TierModel tiers_;
  policy::PolicySet policies_;
};

// The linter's default options and the built-in tier model start from one list
// (common/tier_defaults.h); converting the model must give back exactly those options.
TEST(LintOptionsForTest, TheBuiltInTierModelGivesTheLintersDefaults) {
  auto model = tier::TierModel::Create(tier::TierOptions{});
  ASSERT_TRUE(model.ok()) << model.status();
  const policy::LintOptions got = LintOptionsFor(*model);
  const policy::LintOptions want;
  EXPECT_EQ(got.tier0_namespaces, want.tier0_namespaces);
  EXPECT_EQ(got.tier0_patterns, want.tier0_patterns);
  EXPECT_EQ(got.tier1_namespaces, want.tier1_namespaces);
  EXPECT_EQ(got.tier1_patterns, want.tier1_patterns);
  EXPECT_EQ(got.controller_namespaces, want.controller_namespaces);
  EXPECT_EQ(got.dns_namespace, want.dns_namespace);
  EXPECT_EQ(got.dns_labels, want.dns_labels);
  EXPECT_EQ(got.dns_ports, want.dns_ports);
  EXPECT_EQ(got.bypass_label_key, want.bypass_label_key);
  EXPECT_EQ(got.bypass_label_value, want.bypass_label_value);
}

TEST_F(ExampleProofs, AssumedTargetDefaultDeny) {
  auto run = Go({});
  ASSERT_TRUE(run);
  EXPECT_TRUE(run->set.assumed_target);
  EXPECT_TRUE(run->proof.ok()) << Why(run->proof);
  EXPECT_THAT(run->set.unresolved, IsEmpty()) << Unresolved_(run->set);
  EXPECT_EQ(run->proof.closure_checked, 47u);
  EXPECT_EQ(run->proof.closure_allowed, 47u);
  EXPECT_GT(run->proof.negatives_checked, 100u);
  EXPECT_THAT(run->proof.lint_errors, IsEmpty());
  // Tier 0 is never policed by the target: nothing for kube-system or flux-system, nothing
  // cluster-wide but the target itself.
  for (const SuggestedPolicy& p : run->set.policies) {
    EXPECT_FALSE(p.clusterwide) << p.path;
    EXPECT_NE(p.namespace_, "kube-system");
    EXPECT_NE(p.namespace_, "flux-system");
  }
  // The Tier 2 apps, each in its directory.
  EXPECT_NE(run->File("business/odoo/networkpolicy.yaml"), nullptr);
  EXPECT_NE(run->File("business/postgres/networkpolicy.yaml"), nullptr);
  EXPECT_NE(run->File("business/kustomization.yaml"), nullptr);
}

TEST_F(ExampleProofs, StorysBrokenPoliciesPlusSuggestionsLintClean) {
  auto run = Go({testutil::Example("story-policies")});
  ASSERT_TRUE(run);
  EXPECT_TRUE(run->proof.ok()) << Why(run->proof);
  EXPECT_THAT(run->set.unresolved, IsEmpty()) << Unresolved_(run->set);
  EXPECT_EQ(run->proof.closure_allowed, 47u);
  // The story's own errors stay (suggestions only add allows) and are not the suggestions'.
  EXPECT_THAT(run->proof.lint_errors, IsEmpty());
  EXPECT_FALSE(run->proof.lint_errors_existing.empty());
  // Tier 0 and the health endpoint are fixed cluster-wide, naming the policy that caused it.
  const SuggestedPolicy* dns = run->Policy("cluster-wide/kube-system-coredns.yaml");
  ASSERT_NE(dns, nullptr);
  EXPECT_THAT(dns->caused_by,
              ::testing::ElementsAre("allow-dns-ingress", "allow-metrics-scraping"));
  const SuggestedPolicy* flux = run->Policy("cluster-wide/flux-system-source-controller.yaml");
  ASSERT_NE(flux, nullptr);
  EXPECT_THAT(flux->caused_by, ::testing::ElementsAre("allow-metrics-scraping"));
  EXPECT_NE(run->Policy("cluster-wide/reserved-health.yaml"), nullptr);
  EXPECT_EQ(run->File("cluster-wide/target-default-deny.yaml"), nullptr);
  EXPECT_EQ(run->File("kube-system/coredns/networkpolicy.yaml"), nullptr);
}

TEST_F(ExampleProofs, CorrectedSetNeedsOnlyTheAppPolicies) {
  auto run = Go({tw::testing::SourceDir() + "/deploy/network-policies/app"});
  ASSERT_TRUE(run);
  EXPECT_TRUE(run->proof.ok()) << Why(run->proof);
  EXPECT_THAT(run->set.unresolved, IsEmpty()) << Unresolved_(run->set);
  EXPECT_THAT(run->proof.lint_errors_existing, IsEmpty());
  // The corrected set already keeps Tier 0, Tier 1 and DNS working: what is left is Tier 2.
  for (const SuggestedPolicy& p : run->set.policies) {
    EXPECT_FALSE(p.clusterwide) << p.path;
    EXPECT_EQ(p.namespace_, "business") << p.path;
  }
}

TEST_F(ExampleProofs, OnCallDropsFromTheAfterAndAuditPhases) {
  for (const char* phase : {"after.jsonl", "audit.jsonl"}) {
    SCOPED_TRACE(phase);
    flow::SymbolTable symbols;
    baseline::Baseline captured(symbols);
    testutil::LearnCapture(testutil::Example(phase), captured);
    policy::PolicySet story = testutil::LoadDir({testutil::Example("story-policies")});
    SuggestOptions o;
    o.only_dropped = true;
    auto run = testutil::SuggestAndProve(captured, story, tiers_, o);
    ASSERT_TRUE(run);
    EXPECT_GT(run->set.stats.considered, 20u);
    EXPECT_LT(run->set.stats.considered, run->set.stats.connections);
    EXPECT_EQ(run->set.stats.already_allowed, 0u);  // each was seen dropped by this set
    EXPECT_TRUE(run->proof.ok()) << Why(run->proof);
    EXPECT_THAT(run->set.unresolved, IsEmpty()) << Unresolved_(run->set);
  }
}

// --- The proofs catch bad suggestions ------------------------------------------------------

class Tampered : public ExampleProofs {
 protected:
  // Proves `run`'s suggestions after `edit` changed one file.
  ProofReport After(const testutil::Run& run, const std::string& path,
                    const std::function<void(std::string&)>& edit) {
    std::vector<OutputFile> files = run.files;
    bool found = false;
    for (OutputFile& f : files) {
      if (f.path != path) continue;
      found = true;
      std::string before = f.content;
      edit(f.content);
      EXPECT_NE(before, f.content) << "the edit changed nothing in " << path;
    }
    EXPECT_TRUE(found) << path;
    return Prove(*baseline_, run.set, files, tiers_, {});
  }
};

TEST_F(Tampered, AMissingRuleFailsClosure) {
  auto run = Go({});
  ASSERT_TRUE(run && run->proof.ok());
  ProofReport p = After(*run, "business/postgres/networkpolicy.yaml", [](std::string& t) {
    t = t.substr(0, t.find("  ingress:\n"));  // postgres admits nobody
    t += "  egress:\n    - toEntities:\n        - kube-apiserver\n";
  });
  EXPECT_FALSE(p.closure_ok());
  EXPECT_FALSE(p.ok());
  EXPECT_THAT(Why(p),
              HasSubstr("business/odoo -> business/postgres:5432/TCP: ingress default-deny"));
}

TEST_F(Tampered, APortRangeFailsLeastPrivilege) {
  auto run = Go({});
  ASSERT_TRUE(run && run->proof.ok());
  ProofReport p = After(*run, "business/odoo/networkpolicy.yaml", [](std::string& t) {
    absl::StrReplaceAll({{"            - port: \"5432\"\n",
                          "            - port: \"5000\"\n              endPort: 6000\n"}},
                        &t);
  });
  EXPECT_TRUE(p.closure_ok());
  EXPECT_FALSE(p.ok());
  EXPECT_THAT(Why(p), HasSubstr("business/odoo -> business/postgres:5431/TCP: egress allowed by "
                                "business/tierwatch-odoo (another port or protocol)"));
}

TEST_F(Tampered, AnEmptySelectorFailsLeastPrivilege) {
  auto run = Go({});
  ASSERT_TRUE(run && run->proof.ok());
  // odoo's policy selecting every pod of business: n8n and postgres gain odoo's egress.
  ProofReport p = After(*run, "business/odoo/networkpolicy.yaml", [](std::string& t) {
    absl::StrReplaceAll(
        {{"  endpointSelector:\n    matchLabels:\n      app.kubernetes.io/name: odoo\n",
          "  endpointSelector: {}\n"}},
        &t);
  });
  EXPECT_FALSE(p.violations.empty()) << Why(p);
  EXPECT_THAT(Why(p), HasSubstr("in business/odoo's place"));
}

TEST_F(Tampered, ANamespaceLeftOutOfAPeerFailsLeastPrivilegeInACcnp) {
  auto run = Go({testutil::Example("story-policies")});
  ASSERT_TRUE(run && run->proof.ok());
  // A CCNP peer without its namespace selects those labels in every namespace.
  ProofReport p =
      After(*run, "cluster-wide/flux-system-source-controller.yaml", [](std::string& t) {
        size_t at = t.find("            k8s:io.kubernetes.pod.namespace: ");
        ASSERT_NE(at, std::string::npos);
        t.erase(at, t.find('\n', at) - at + 1);
      });
  EXPECT_FALSE(p.violations.empty()) << Why(p);
  EXPECT_THAT(Why(p), HasSubstr("the same labels in another namespace"));
}

TEST_F(Tampered, ASchemaErrorFailsTheReparse) {
  auto run = Go({});
  ASSERT_TRUE(run && run->proof.ok());
  ProofReport p = After(*run, "business/n8n/networkpolicy.yaml", [](std::string& t) {
    absl::StrReplaceAll({{"toFQDNs:", "toFQDN:"}}, &t);
  });
  EXPECT_FALSE(p.parse_errors.empty());
  EXPECT_FALSE(p.ok());
  EXPECT_THAT(Why(p), HasSubstr("business/n8n/networkpolicy.yaml"));
}

// --- Seeded random baselines ----------------------------------------------------------------

// A random cluster: namespaces of workloads that share app labels across versions, some with
// per-pod labels; connections between workloads, to Tier 0, to entities, FQDNs and addresses,
// over TCP/UDP/ICMP with clustered ports. Optionally some existing policies.
struct RandomCluster {
  RandomCluster(flow::SymbolTable& s, uint64_t seed) : b(s), rng(seed) {}

  Builder b;
  std::mt19937_64 rng;
  std::vector<flow::Peer> workloads;

  size_t Pick(size_t n) { return static_cast<size_t>(rng() % n); }

  void Build() {
    const char* namespaces[] = {"shop", "data", "observability", "cert-manager", "kube-system"};
    size_t nns = 2 + Pick(4);
    for (size_t i = 0; i < nns; ++i) {
      std::string ns = i + 1 == nns ? "kube-system" : namespaces[i];
      size_t apps = 1 + Pick(3);
      for (size_t a = 0; a < apps; ++a) {
        std::string app = absl::StrCat("app", a);
        size_t versions = 1 + Pick(2);
        for (size_t v = 0; v < versions; ++v) {
          std::vector<std::string> labels = {absl::StrCat("app=", app)};
          if (versions > 1) labels.push_back(absl::StrCat("version=v", v));
          if (Pick(3) == 0) labels.push_back("pod-template-hash=5d8f9c");
          if (Pick(2) == 0) labels.push_back(absl::StrCat("app.kubernetes.io/name=", app));
          std::string name = versions > 1 ? absl::StrCat(app, "-v", v) : app;
          workloads.push_back(b.Workload(ns, name, labels, absl::StrCat(ns, "-", app)));
        }
      }
      if (ns == "kube-system") {
        workloads.push_back(b.Workload(ns, "coredns", {"k8s-app=kube-dns"}, "coredns"));
      }
    }
    const char* entities[] = {"kube-apiserver", "remote-node", "host", "world"};
    size_t nconn = 5 + Pick(30);
    for (size_t i = 0; i < nconn; ++i) {
      const flow::Peer& src = workloads[Pick(workloads.size())];
      uint16_t port = static_cast<uint16_t>(Pick(3) == 0 ? 8000 + Pick(4) : 1 + Pick(9000));
      Protocol proto = Pick(5) == 0 ? Protocol::kUDP : Protocol::kTCP;
      switch (Pick(7)) {
        case 0:
          b.Conn(src, b.Entity(entities[Pick(3)]), port, proto);
          break;
        case 1:
          b.Conn(b.Entity(entities[1 + Pick(3)]), src, port, proto);
          break;
        case 2:
          b.Conn(src, b.Fqdn(absl::StrCat("h", Pick(4), ".api.example.com")), port, proto);
          break;
        case 3:
          b.Conn(src, b.Ip(absl::StrCat("203.0.113.", 1 + Pick(200))), port, proto);
          break;
        case 4:
          b.Conn(b.Entity("remote-node"), src, 8, Protocol::kICMPv4);
          break;
        default: {
          const flow::Peer& dst = workloads[Pick(workloads.size())];
          if (dst != src) b.Conn(src, dst, port, proto);
        }
      }
    }
  }
};

TEST(RandomBaselines, ClosureAndLeastPrivilegeHold) {
  tier::TierModel tiers;
  // Existing sets the random baselines meet: none (the target), a lockdown that also polices
  // a Tier 0 namespace's ingress (cluster-wide fixes), and one with DNS visibility.
  policy::PolicySet lockdown = testutil::Policies(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: lockdown}
spec:
  endpointSelector: {}
  ingress:
    - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: observability}}]
      toPorts: [{ports: [{port: "9090", protocol: TCP}]}]
  egress: [{}]
)");
  policy::PolicySet visibility = testutil::Policies(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: shop-deny}
spec:
  endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: shop}}
  ingress: [{}]
  egress: [{}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: dns-visibility}
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false, ingress: false}
  egress:
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}]
      toPorts: [{ports: [{port: "53", protocol: ANY}], rules: {dns: [{matchPattern: "*"}]}}]
)");
  const policy::PolicySet* sets[] = {nullptr, &lockdown, &visibility};
  constexpr int kIterations = 150;
  int rules = 0;
  for (int i = 0; i < kIterations; ++i) {
    SCOPED_TRACE(absl::StrCat("seed ", i));
    flow::SymbolTable s;
    RandomCluster c(s, static_cast<uint64_t>(i));
    c.Build();
    const policy::PolicySet* existing = sets[i % 3];
    SuggestOptions o;
    o.fqdn_patterns = i % 2 == 0;
    auto run = testutil::SuggestAndProve(c.b.baseline(), existing ? *existing : policy::PolicySet{},
                                         tiers, o);
    ASSERT_TRUE(run);
    ASSERT_TRUE(run->proof.ok()) << Why(run->proof);
    ASSERT_THAT(run->set.unresolved, IsEmpty()) << Unresolved_(run->set);
    EXPECT_EQ(run->proof.closure_allowed, c.b.baseline().size());
    rules += static_cast<int>(run->set.rule_count());
    // No selector ever uses a per-pod label or an address for a workload.
    for (const OutputFile& f : run->files) {
      EXPECT_THAT(f.content, ::testing::Not(HasSubstr("pod-template-hash"))) << f.path;
    }
  }
  EXPECT_GT(rules, kIterations);  // the iterations suggested something
}

// --- The real bookinfo captures -----------------------------------------------------------

TEST(Bookinfo, RealCapturesUnderAClusterWideDefaultDeny) {
  std::string dir = tw::testing::SharedCorpusDir();
  if (dir.empty()) GTEST_SKIP() << tw::testing::kNoSharedReason;
  flow::SymbolTable s;
  baseline::Baseline b(s);
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".jsonl") testutil::LearnCapture(entry.path().string(), b);
  }
  ASSERT_GT(b.size(), 20u);
  tier::TierModel tiers;
  auto run = testutil::SuggestAndProve(b, {}, tiers);
  ASSERT_TRUE(run);
  // Two pods appear only in Cilium 1.10 L7 flows, which report the peer with the world
  // identity and its pod name: they are named, but no flow shows their labels. Their rules
  // select their whole namespace on the seen port, declared as widenings naming the kubectl
  // command that finds the labels; every connection is closed and every proof holds.
  EXPECT_THAT(run->set.unresolved, IsEmpty()) << Unresolved_(run->set);
  EXPECT_TRUE(run->proof.ok()) << Why(run->proof);
  EXPECT_EQ(run->proof.still_denied_count, 0u) << Why(run->proof);
  EXPECT_EQ(run->proof.closure_allowed, b.size());
  const SuggestedPolicy* prometheus = run->Policy("istio-system/prometheus/networkpolicy.yaml");
  ASSERT_NE(prometheus, nullptr);
  std::vector<std::string> widenings;
  for (const SuggestedRule& r : prometheus->egress) {
    if (!r.widening.empty()) widenings.push_back(r.widening);
  }
  EXPECT_THAT(widenings, ::testing::Contains(::testing::AllOf(
                             HasSubstr("the labels of kube-system/clickhouse-operator are unknown"),
                             HasSubstr("every pod of namespace kube-system on these ports"),
                             HasSubstr("kubectl -n kube-system get pods --show-labels"))));
  const SuggestedPolicy* jaeger = run->Policy("istio-system/jaeger/networkpolicy.yaml");
  ASSERT_NE(jaeger, nullptr);
  EXPECT_EQ(jaeger->subject_selector,
            (std::vector<MatchLabel>{{"k8s:io.kubernetes.pod.namespace", "istio-system"}}));
  EXPECT_THAT(jaeger->subject_widening,
              HasSubstr("this policy selects every pod of namespace istio-system"));
  // The reviews pods (v1, v2, v3: Cilium 1.10 names no workloads) are selected by what they
  // share, app=reviews, never by a version only some of them carry.
  std::string reviews = run->Text("bookinfo/reviews/networkpolicy.yaml");
  EXPECT_THAT(reviews, HasSubstr("  endpointSelector:\n    matchLabels:\n      app: reviews\n"));
  EXPECT_THAT(reviews, ::testing::Not(HasSubstr("version")));
}

}  // namespace
}  // namespace tw::suggest
