// The story's policies as written (tests/policy/testdata/story, verbatim copies of the
// operator story's YAML): the engine must reproduce each fault cilium-policy.md §10 finds.
#include <string>

#include "gtest/gtest.h"
#include "policy/evaluator.h"
#include "policy/parser.h"
#include "policy_test_util.h"

namespace tw::policy::testing {
namespace {

using flow::Protocol;

std::string StoryDir() {
  return std::string(TIERWATCH_SOURCE_DIR) + "/tests/policy/testdata/story";
}

class Story : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = LoadPolicies({StoryDir()});
    ASSERT_TRUE(r.ok()) << r.status();
    result_ = std::move(*r);
    for (const auto& d : result_.diagnostics) {
      ASSERT_NE(d.severity, Severity::kError) << d.ToString();
    }
  }
  Evaluation V(const Ep& src, const Ep& dst, Query q) {
    return Check(result_.policies, src, dst, q);
  }
  static Query Q(Protocol p, uint16_t port, std::vector<std::string> names = {}) {
    Query q;
    q.protocol = p;
    q.port = port;
    q.names = std::move(names);
    return q;
  }
  LoadedPolicies result_;
};

const Ep kCoreDns = Pod("kube-system", {"k8s-app=kube-dns"});
const Ep kVmagent = Pod("observability", {"app.kubernetes.io/name=vmagent"});
const Ep kCertManager = Pod("cert-manager", {"app.kubernetes.io/name=cert-manager"});
const Ep kExternalSecrets = Pod("external-secrets", {"app.kubernetes.io/name=external-secrets"});
const Ep kOnePassword = Pod("external-secrets", {"app.kubernetes.io/name=onepassword-connect"});
const Ep kApp = Pod("business", {"app=odoo"});

TEST_F(Story, LoadsSevenPoliciesAndSkipsTheFluxKustomization) {
  EXPECT_EQ(result_.policies.size(), 7u);
  EXPECT_EQ(result_.skipped_documents, 1);
  bool flux_noted = false;
  for (const auto& d : result_.diagnostics) {
    flux_noted |= d.file.find("ks.yaml") != std::string::npos &&
                  d.message.find("Flux Kustomization") != std::string::npos;
  }
  EXPECT_TRUE(flux_noted);
}

TEST_F(Story, MetricsScrapingPutsKubeSystemIntoIngressDefaultDeny) {
  // §10(b): endpointSelector {} with an ingress section selects kube-system too, so CoreDNS
  // only accepts the scrapers... and allow-dns-ingress. A kube-system pod that is not DNS
  // loses ingress from everything but observability.
  // The source is in flux-system (Tier 0, egress open) so only the destination decides.
  Ep flux = Pod("flux-system", {"app=helm-controller"});
  Ep metrics_server = Pod("kube-system", {"k8s-app=metrics-server"});
  Evaluation v = V(flux, metrics_server, Q(Protocol::kTCP, 443));
  EXPECT_FALSE(v.egress.enforced);
  EXPECT_EQ(v.decision, Decision::kDenied);
  EXPECT_EQ(v.drop_reason, flow::kDropPolicyDenied);
  ASSERT_TRUE(v.denied_at.has_value());
  EXPECT_EQ(*v.denied_at, Direction::kIngress);
  EXPECT_EQ(Names(v.ingress.default_deny_by), std::vector<std::string>{"allow-metrics-scraping"});
  // The scrapers are admitted on 9153 (CoreDNS metrics)...
  EXPECT_EQ(V(kVmagent, kCoreDns, Q(Protocol::kTCP, 9153)).ingress.decision, Decision::kAllowed);
  // ...and the health endpoint is swept into ingress default-deny as well.
  Evaluation h = V(RemoteNode(), Health(), Q(Protocol::kTCP, 4240));
  EXPECT_EQ(h.decision, Decision::kDenied);
  EXPECT_EQ(Names(h.ingress.default_deny_by),
            (std::vector<std::string>{"allow-metrics-scraping", "default-deny-all"}));
}

TEST_F(Story, DnsWorksForOrdinaryPodsBecauseAllowDnsIngressAdmitsThem) {
  Evaluation v = V(kApp, kCoreDns, Q(Protocol::kUDP, 53));
  EXPECT_EQ(v.decision, Decision::kAllowed);
  EXPECT_EQ(Names(v.egress.allowed_by), std::vector<std::string>{"allow-dns-egress"});
  EXPECT_EQ(Names(v.ingress.allowed_by), std::vector<std::string>{"allow-dns-ingress"});
}

TEST_F(Story, ObservabilityEgressEmptyElementDeniesDns) {
  // §10(c): egress [{}] is deny-all egress, "full egress" notwithstanding; only
  // allow-dns-egress (which also selects observability) lets DNS out.
  Evaluation dns = V(kVmagent, kCoreDns, Q(Protocol::kUDP, 53));
  EXPECT_EQ(dns.egress.decision, Decision::kAllowed);  // allow-dns-egress
  Evaluation scrape = V(kVmagent, kApp, Q(Protocol::kTCP, 8080));
  EXPECT_EQ(scrape.decision, Decision::kDenied);
  EXPECT_EQ(*scrape.denied_at, Direction::kEgress);
  EXPECT_EQ(scrape.drop_reason, flow::kDropPolicyDenied);
  auto names = Names(scrape.egress.default_deny_by);
  EXPECT_NE(std::find(names.begin(), names.end(), "tier1-observability-egress"), names.end());
  Evaluation remote_write = V(kVmagent, World(), Q(Protocol::kTCP, 443));
  EXPECT_EQ(remote_write.decision, Decision::kDenied);

  // Without allow-dns-egress the {} element alone denies DNS too.
  PolicySet only;
  for (const auto& p : result_.policies.policies) {
    if (p.name == "tier1-observability-egress") only.policies.push_back(p);
  }
  Evaluation v = Check(only, kVmagent, kCoreDns, Q(Protocol::kUDP, 53));
  EXPECT_EQ(v.decision, Decision::kDenied);
  EXPECT_EQ(Names(v.egress.default_deny_by),
            std::vector<std::string>{"tier1-observability-egress"});
}

TEST_F(Story, CertManagerPatternDoesNotMatchAcmeEndpoint) {
  // §10(d): *.letsencrypt.org is one label; acme-v02.api.letsencrypt.org is two deep.
  Evaluation acme = V(kCertManager, World("172.65.32.248"),
                      Q(Protocol::kTCP, 443, {"acme-v02.api.letsencrypt.org"}));
  EXPECT_EQ(acme.decision, Decision::kDenied);
  EXPECT_EQ(*acme.denied_at, Direction::kEgress);
  EXPECT_TRUE(acme.egress.allowed_by.empty());
  Evaluation one_label =
      V(kCertManager, World("172.65.32.248"), Q(Protocol::kTCP, 443, {"www.letsencrypt.org"}));
  EXPECT_EQ(one_label.decision, Decision::kAllowed);
  ASSERT_EQ(one_label.egress.allowed_by.size(), 1u);
  EXPECT_EQ(one_label.egress.allowed_by[0].Path(), "spec.egress[0]");
  // DNS over TCP is not allowed by the cert-manager policy, but allow-dns-egress allows it.
  EXPECT_EQ(V(kCertManager, kCoreDns, Q(Protocol::kTCP, 53)).decision, Decision::kAllowed);
  // The apiserver is unreachable (no kube-apiserver egress).
  Evaluation api = V(kCertManager, KubeApiserver(), Q(Protocol::kTCP, 6443));
  EXPECT_EQ(api.decision, Decision::kDenied);
}

TEST_F(Story, ExternalSecretsToOnePasswordDroppedAtIngress) {
  // §10(e): egress allowed by tier1-external-secrets-egress, but onepassword-connect is in
  // ingress default-deny (default-deny-all and allow-metrics-scraping) with no allow.
  Evaluation v = V(kExternalSecrets, kOnePassword, Q(Protocol::kTCP, 8080));
  EXPECT_EQ(v.decision, Decision::kDenied);
  EXPECT_EQ(v.egress.decision, Decision::kAllowed);
  EXPECT_EQ(Names(v.egress.allowed_by), std::vector<std::string>{"tier1-external-secrets-egress"});
  ASSERT_TRUE(v.denied_at.has_value());
  EXPECT_EQ(*v.denied_at, Direction::kIngress);
  EXPECT_EQ(v.drop_reason, flow::kDropPolicyDenied);
  EXPECT_EQ(Names(v.ingress.default_deny_by),
            (std::vector<std::string>{"allow-metrics-scraping", "default-deny-all"}));
  EXPECT_TRUE(v.ingress.denied_by.empty());
}

TEST_F(Story, TierZeroEgressIsOpenButTheirIngressIsNot) {
  Ep flux = Pod("flux-system", {"app=source-controller"});
  EXPECT_EQ(V(flux, World(), Q(Protocol::kTCP, 443)).decision, Decision::kAllowed);
  EXPECT_FALSE(V(flux, World(), Q(Protocol::kTCP, 443)).egress.enforced);
  // Webhook/notification traffic into flux-system from another namespace is dropped by
  // allow-metrics-scraping's implicit default-deny (and the source's default-deny-all).
  Evaluation in = V(kApp, flux, Q(Protocol::kTCP, 9292));
  EXPECT_EQ(in.ingress.decision, Decision::kDenied);
}

}  // namespace
}  // namespace tw::policy::testing
