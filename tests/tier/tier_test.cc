// The tier model: defaults, config/tiers.yaml, helpers and config errors (all collected,
// each with file:line).
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/paths.h"
#include "tier/tier_config.h"
#include "tier/tier_model.h"

namespace tw::tier {
namespace {

using ::testing::HasSubstr;

class TierTest : public ::testing::Test {
 protected:
  flow::Endpoint Pod(absl::string_view ns, std::vector<std::string> labels) {
    flow::Endpoint ep;
    ep.identity = 40000;
    ep.namespace_ = symbols_.Intern(ns);
    for (const auto& l : labels) ep.labels.push_back(symbols_.Intern(l));
    ep.reserved = flow::ComputeReserved(ep);
    return ep;
  }
  flow::Endpoint Identity(uint32_t id, std::vector<std::string> labels = {}) {
    flow::Endpoint ep;
    ep.identity = id;
    for (const auto& l : labels) ep.labels.push_back(symbols_.Intern(l));
    ep.reserved = flow::ComputeReserved(ep);
    return ep;
  }
  flow::SymbolTable symbols_;
};

TEST_F(TierTest, DefaultTiersFromTheStory) {
  TierModel m;
  for (const char* ns : {"kube-system", "flux-system", "cilium", "cilium-secrets"}) {
    SCOPED_TRACE(ns);
    TierAssignment a = m.TierOfNamespace(ns);
    EXPECT_EQ(a.kind, TierKind::kNamespace);
    EXPECT_EQ(a.level, 0);
    EXPECT_EQ(a.tier_name, "system");
    EXPECT_EQ(a.match, TierMatch::kNamespaceList);
  }
  for (const char* ns : {"observability", "cert-manager", "external-secrets"}) {
    EXPECT_EQ(m.TierOfNamespace(ns).level, 1) << ns;
  }
  for (const char* ns : {"business", "default", "kube-public-not"}) {
    TierAssignment a = m.TierOfNamespace(ns);
    EXPECT_EQ(a.level, 2) << ns;
    EXPECT_EQ(a.match, TierMatch::kDefault);
  }
  EXPECT_EQ(m.TierOf(Pod("kube-system", {"k8s:k8s-app=kube-dns"})).ToString(), "tier 0");
  EXPECT_EQ(m.TierOf(Pod("business", {"k8s:app=odoo"})).ToString(), "tier 2");
  // Namespace from the pod-namespace label when the field is empty (older agents).
  EXPECT_EQ(m.TierOf(Pod("", {"k8s:io.kubernetes.pod.namespace=cert-manager"})).level, 1);
}

TEST_F(TierTest, ReservedEntitiesAndCiliumEndpoints) {
  TierModel m;
  struct Case {
    uint32_t identity;
    std::vector<std::string> labels;
    TierKind kind;
    int level;
    const char* text;
  };
  const Case cases[] = {
      {2, {"reserved:world"}, TierKind::kEntity, -1, "entity world"},
      {1, {"reserved:host"}, TierKind::kEntity, -1, "entity host"},
      {6, {"reserved:remote-node"}, TierKind::kEntity, -1, "entity remote-node"},
      {7, {"reserved:kube-apiserver"}, TierKind::kEntity, -1, "entity kube-apiserver"},
      {5, {"reserved:init"}, TierKind::kEntity, -1, "entity init"},
      {3, {"reserved:unmanaged"}, TierKind::kEntity, -1, "entity unmanaged"},
      {4, {"reserved:health"}, TierKind::kCiliumReserved, 0, "tier 0 (cilium health)"},
      {8, {"reserved:ingress"}, TierKind::kCiliumReserved, 0, "tier 0 (cilium ingress)"},
      {0, {}, TierKind::kUnknown, -1, "unknown"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    TierAssignment a = m.TierOf(Identity(c.identity, c.labels));
    EXPECT_EQ(a.kind, c.kind);
    EXPECT_EQ(a.level, c.level);
    EXPECT_EQ(a.ToString(), c.text);
  }
  // A world CIDR identity (>= 16777216 with cidr labels) is the entity world.
  EXPECT_TRUE(m.TierOf(Identity(16777217, {"reserved:world", "cidr:1.2.3.0/24"})).is_entity());
}

TEST_F(TierTest, PeersFromConnectionKeys) {
  TierModel m;
  EXPECT_EQ(
      m.TierOf(flow::Peer::Workload(symbols_.Intern("observability"), symbols_.Intern("vmagent")))
          .level,
      1);
  EXPECT_EQ(m.TierOf(flow::Peer::Fqdn(symbols_.Intern("acme-v02.api.letsencrypt.org"))).entity,
            "world");
  EXPECT_EQ(m.TierOf(flow::Peer::Ip(symbols_.Intern("198.51.100.1"))).kind, TierKind::kEntity);
  EXPECT_EQ(m.TierOf(flow::Peer::Entity(symbols_.Intern("health"))).level, 0);
  EXPECT_EQ(m.TierOf(flow::Peer::Entity(symbols_.Intern("kube-apiserver"))).kind,
            TierKind::kEntity);
}

TEST_F(TierTest, ConfigFileEqualsBuiltInDefaults) {
  std::string path = testing::SourceDir() + "/config/tiers.yaml";
  std::vector<Diagnostic> diags;
  auto model = LoadTierModel(path, &diags);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE(diags.empty());
  EXPECT_TRUE(model->options() == TierOptions{});
  EXPECT_TRUE(TierModel().options() == TierOptions{});
}

TEST_F(TierTest, PatternsSectionsAndPartialOverrides) {
  auto options = ParseTierConfig(R"(
tiers:
  - level: 0
    namespaces: [kube-system]
    patterns: ["cilium*", "kube-[!s]*"]
  - level: 1
    patterns: ["platform-?"]
  - level: 2
    default: true
metrics_ports: [9090]
)",
                                 "t.yaml");
  ASSERT_TRUE(options.ok()) << options.status();
  auto m = TierModel::Create(*options);
  ASSERT_TRUE(m.ok()) << m.status();
  TierAssignment a = m->TierOfNamespace("cilium-secrets");
  EXPECT_EQ(a.level, 0);
  EXPECT_EQ(a.match, TierMatch::kPattern);
  EXPECT_EQ(a.pattern, "cilium*");
  EXPECT_EQ(a.tier_name, "tier0");  // no name given
  EXPECT_EQ(m->TierOfNamespace("kube-public").level, 0);
  EXPECT_EQ(m->TierOfNamespace("kube-system").match, TierMatch::kNamespaceList);
  EXPECT_EQ(m->TierOfNamespace("platform-a").level, 1);
  EXPECT_EQ(m->TierOfNamespace("platform-ab").level, 2);
  EXPECT_EQ(m->TierOfNamespace("observability").level, 2);  // tiers were replaced
  // Sections not written keep their defaults.
  EXPECT_TRUE(m->IsMetricsPort(9090));
  EXPECT_FALSE(m->IsMetricsPort(9100));
  EXPECT_EQ(m->options().debug_bypass_label.ToString(), "policy.cilium.io/enforce=false");
}

TEST_F(TierTest, Helpers) {
  TierModel m;
  flow::Endpoint dns = Pod("kube-system", {"k8s:k8s-app=kube-dns", "k8s:pod-template-hash=x"});
  EXPECT_TRUE(m.IsDnsService(dns, flow::Protocol::kUDP, 53));
  EXPECT_TRUE(m.IsDnsService(dns, flow::Protocol::kTCP, 53));
  EXPECT_FALSE(m.IsDnsService(dns, flow::Protocol::kTCP, 9153));
  EXPECT_FALSE(
      m.IsDnsService(Pod("kube-system", {"k8s:k8s-app=metrics-server"}), flow::Protocol::kUDP, 53));
  EXPECT_FALSE(m.IsDnsService(Pod("business", {"k8s:k8s-app=kube-dns"}), flow::Protocol::kUDP, 53));

  EXPECT_TRUE(m.IsScraper(Pod("observability", {"k8s:app.kubernetes.io/name=vmagent"})));
  EXPECT_TRUE(m.IsScraper(Pod("observability", {"k8s:app.kubernetes.io/name=prometheus"})));
  EXPECT_FALSE(m.IsScraper(Pod("observability", {"k8s:app.kubernetes.io/name=grafana"})));
  EXPECT_FALSE(m.IsScraper(Pod("business", {"k8s:app.kubernetes.io/name=vmagent"})));

  for (uint16_t p : {8080, 9090, 9100, 9115, 9153, 9977}) EXPECT_TRUE(m.IsMetricsPort(p)) << p;
  EXPECT_FALSE(m.IsMetricsPort(5432));

  EXPECT_TRUE(m.HasBypassLabel(Pod("business", {"k8s:policy.cilium.io/enforce=false"})));
  EXPECT_FALSE(m.HasBypassLabel(Pod("business", {"k8s:policy.cilium.io/enforce=true"})));
  EXPECT_FALSE(m.HasBypassLabel(Pod("business", {"k8s:app=odoo"})));

  EXPECT_TRUE(m.NeedsApiserverEgress("cert-manager"));
  EXPECT_TRUE(m.NeedsApiserverEgress("flux-system"));
  EXPECT_FALSE(m.NeedsApiserverEgress("business"));
}

// Every error in one file, each with its line.
TEST_F(TierTest, ConfigErrorsAreAllCollectedWithFileAndLine) {
  const char* yaml =
      "tiers:\n"                                 // 1
      "  - level: 0\n"                           // 2
      "    namespaces: [kube-system, Bad_NS]\n"  // 3  bad namespace name
      "    patterns: [\"cilium-[\"]\n"           // 4  bad pattern
      "    colour: red\n"                        // 5  unknown key in a tier
      "  - level: 1\n"                           // 6
      "    namespaces: [kube-system]\n"          // 7  namespace in two tiers
      "  - level: 7\n"                           // 8  bad level
      "  - level: 2\n"                           // 9  (no default: true anywhere)
      "    namespaces: cert-manager\n"           // 10 wrong type
      "dns_service:\n"                           // 11
      "  namespace: kube-system\n"               // 12
      "  ports: [53/ICMP, 70000/UDP, 53/TCP]\n"  // 13 two bad ports
      "metrics_ports: [9090, http, 9090]\n"      // 14 wrong type + duplicate
      "debug_bypass_label: enforce\n"            // 15 not KEY=VALUE
      "scrapers:\n"                              // 16
      "  label: \"-bad/key\"\n"                  // 17 bad label key
      "teirs: []\n";                             // 18 unknown top-level key
  std::vector<Diagnostic> diags;
  auto options = ParseTierConfig(yaml, "tiers.yaml", &diags);
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> lines;
  for (const auto& d : diags) lines.push_back(d.ToString());
  std::string all = std::string(options.status().message());
  SCOPED_TRACE(all);

  auto has = [&](int line, const std::string& text) {
    for (const auto& d : diags) {
      if (d.line == line && d.file == "tiers.yaml" &&
          d.ToString().find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(has(3, "\"Bad_NS\" is not a valid namespace name"));
  EXPECT_TRUE(has(4, "\"cilium-[\" is not a valid namespace pattern"));
  EXPECT_TRUE(has(5, "unknown key \"colour\""));
  EXPECT_TRUE(has(7, "namespace kube-system is already in tier 0"));
  EXPECT_TRUE(has(8, "tiers[2].level: expected an integer from 0 to 2, got \"7\""));
  EXPECT_TRUE(has(10, "expected a list of strings, got \"cert-manager\""));
  EXPECT_TRUE(has(13, "\"53/ICMP\""));
  EXPECT_TRUE(has(13, "\"70000/UDP\""));
  EXPECT_TRUE(has(14, "metrics_ports[1]: expected an integer from 1 to 65535, got \"http\""));
  EXPECT_TRUE(has(14, "metrics_ports[2]: port 9090 is listed twice"));
  EXPECT_TRUE(has(15, "expected KEY=VALUE"));
  EXPECT_TRUE(has(17, "\"-bad/key\" is not a valid label key"));
  EXPECT_TRUE(has(18, "unknown key \"teirs\""));
  EXPECT_TRUE(has(2, "no default tier"));
  EXPECT_EQ(diags.size(), 14u);
  // The status message carries them all, file:line:column first, in file order.
  EXPECT_THAT(all, HasSubstr("14 errors in tiers.yaml:"));
  EXPECT_THAT(all, HasSubstr("\ntiers.yaml:3:"));
  EXPECT_THAT(all, HasSubstr("\ntiers.yaml:18:1: error: tier config: unknown key \"teirs\""));
  EXPECT_LT(all.find("tiers.yaml:3:"), all.find("tiers.yaml:18:"));
}

TEST_F(TierTest, ListedNamespaceMatchingAnotherTiersPatternIsAnError) {
  std::vector<Diagnostic> diags;
  auto options = ParseTierConfig(
      "tiers:\n"
      "  - level: 0\n"
      "    patterns: [\"cert-*\"]\n"
      "  - level: 1\n"
      "    namespaces: [observability, cert-manager]\n"
      "  - level: 2\n"
      "    default: true\n",
      "p.yaml", &diags);
  ASSERT_FALSE(options.ok());
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].line, 5);
  EXPECT_THAT(diags[0].message, HasSubstr("cert-manager is listed in tier 1 but also matches "
                                          "tier 0 pattern \"cert-*\""));
}

// A second `tiers:` used to be ignored silently (yaml-cpp's lookup returns the first), which
// changed what an operator thought was Tier 0.
TEST_F(TierTest, DuplicateKeysAreErrorsWithBothLines) {
  std::vector<Diagnostic> diags;
  auto options = ParseTierConfig(
      "tiers:\n"
      "  - level: 0\n"
      "    namespaces: [kube-system]\n"
      "  - level: 2\n"
      "    default: true\n"
      "tiers:\n"  // 6
      "  - level: 0\n"
      "    namespaces: [kube-system, monitoring]\n"
      "    namespaces: [x]\n",  // 9
      "dup.yaml", &diags);
  ASSERT_FALSE(options.ok());
  ASSERT_EQ(diags.size(), 2u) << options.status();
  EXPECT_EQ(diags[0].ToString(),
            "dup.yaml:6:1: error: tiers: duplicate key (first given at line 1)");
  EXPECT_EQ(diags[1].line, 9);
  EXPECT_THAT(diags[1].message, HasSubstr("duplicate key (first given at line 8)"));
}

TEST_F(TierTest, AliasBombIsRefusedBeforeReading) {
  std::string yaml = "a0: &a0 [kube-system]\n";
  for (int i = 1; i <= 9; ++i) {
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) yaml += std::string(j ? "," : "") + "*a" + std::to_string(i - 1);
    yaml += "]\n";
  }
  yaml += "tiers:\n  - level: 0\n    namespaces: *a9\n";
  std::vector<Diagnostic> diags;
  auto options = ParseTierConfig(yaml, "bomb.yaml", &diags);
  ASSERT_FALSE(options.ok());
  ASSERT_EQ(diags.size(), 1u) << options.status();
  EXPECT_GT(diags[0].line, 0);
  EXPECT_THAT(diags[0].message, HasSubstr("expands to more than 100000 YAML nodes"));
}

TEST_F(TierTest, YamlSyntaxErrorHasLine) {
  std::vector<Diagnostic> diags;
  auto options = ParseTierConfig("tiers:\n  - level: 0\n    namespaces: [a, b\n", "s.yaml", &diags);
  ASSERT_FALSE(options.ok());
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_GT(diags[0].line, 0);
  EXPECT_THAT(diags[0].ToString(), HasSubstr("s.yaml:"));
  EXPECT_THAT(diags[0].message, HasSubstr("YAML syntax"));
}

TEST_F(TierTest, MissingFileAndEmptyFile) {
  auto missing = LoadTierModel("/nonexistent/tiers.yaml");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("/nonexistent/tiers.yaml"));

  auto empty = ParseTierConfig("", "e.yaml");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(*empty == TierOptions{});
}

TEST_F(TierTest, CreateValidatesOptionsToo) {
  TierOptions o;
  o.tiers[1].namespaces.push_back("kube-system");
  o.metrics_ports.push_back(0);
  auto m = TierModel::Create(o);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()),
              HasSubstr("tiers[1].namespaces[3]: namespace kube-system is already in tier 0"));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("metrics_ports[6]: 0 is not a port"));
}

}  // namespace
}  // namespace tw::tier
