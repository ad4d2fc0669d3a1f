// One rule at a time: a case that must fire and cases that must not, on small inline sets.
// Cilium semantics each case relies on are cited (cilium-policy.md sections / Cilium docs).
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lint_test_util.h"

namespace tw::policy {
namespace {

using lint_testing::Dump;
using lint_testing::Has;
using lint_testing::LintYaml;
using lint_testing::With;
using ::testing::HasSubstr;

// The corrected default-deny: Tier 0 excluded, namespace label required, bypass excluded.
const char* kDefaultDeny = R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: dd
spec:
  endpointSelector:
    matchExpressions:
      - {key: k8s:io.kubernetes.pod.namespace, operator: Exists}
      - key: k8s:io.kubernetes.pod.namespace
        operator: NotIn
        values: [kube-system, flux-system, cilium, cilium-secrets]
      - {key: k8s:policy.cilium.io/enforce, operator: NotIn, values: ["false"]}
  ingress: [{}]
  egress: [{}]
)";

// DNS for everyone, with the L7 rule, imposing nothing.
const char* kDns = R"(
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: dns
spec:
  endpointSelector:
    matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: Exists}]
  enableDefaultDeny: {egress: false}
  egress:
    - toEndpoints:
        - matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}
      toPorts:
        - ports: [{port: "53", protocol: UDP}, {port: "53", protocol: TCP}]
          rules:
            dns: [{matchPattern: "*"}]
)";

// 1-based line of the first line containing `needle`.
int LineOf(const std::string& yaml, const std::string& needle) {
  int line = 1;
  size_t pos = yaml.find(needle);
  for (size_t i = 0; i < pos && i < yaml.size(); ++i)
    if (yaml[i] == '\n') ++line;
  return line;
}

std::string Set(std::initializer_list<std::string> docs) {
  std::string s;
  for (const auto& d : docs) s += "\n---\n" + d;
  return s;
}

// ---------------------------------------------------------------------------------------
// TW001 allow-nothing. `egress: [{}]` is Cilium's deny-all idiom (cilium-policy.md §2.2,
// examples/policies/l3/egress-default-deny).

TEST(LintTW001, DescriptionSaysAllowsButRuleIsEmpty) {
  auto f = LintYaml(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: obs}
spec:
  description: "Allow observability full egress"
  endpointSelector:
    matchLabels: {k8s:io.kubernetes.pod.namespace: observability}
  egress:
    - {}
)");
  auto x = With(f, "TW001", "obs");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_EQ(x[0]->severity, Severity::kError);
  EXPECT_EQ(x[0]->line, 10);
  EXPECT_THAT(x[0]->message, HasSubstr("toEntities: [all]"));
}

TEST(LintTW001, EmptyRuleAlreadyCoveredByAnotherDenyAll) {
  // No description at all: the redundancy alone is the sign.
  auto f = LintYaml(Set({kDefaultDeny, R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: obs}
spec:
  endpointSelector:
    matchLabels: {k8s:io.kubernetes.pod.namespace: observability}
  egress: [{}]
)"}));
  ASSERT_TRUE(Has(f, "TW001", "obs")) << Dump(f);
  EXPECT_THAT(With(f, "TW001", "obs")[0]->message,
              HasSubstr("already in egress default-deny by dd"));
  // The default-deny policy itself is what it should be.
  EXPECT_FALSE(Has(f, "TW001", "dd")) << Dump(f);
}

TEST(LintTW001, EmptyRuleWithDefaultDenyOffDoesNothing) {
  auto f = LintYaml(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: noop}
spec:
  endpointSelector:
    matchLabels: {k8s:io.kubernetes.pod.namespace: observability}
  enableDefaultDeny: {egress: false}
  egress: [{}]
)");
  ASSERT_TRUE(Has(f, "TW001", "noop")) << Dump(f);
  EXPECT_THAT(With(f, "TW001", "noop")[0]->message, HasSubstr("does nothing"));
}

TEST(LintTW001, LoneDefaultDenyAndRealAllowsAreFine) {
  auto f = LintYaml(Set({kDefaultDeny, R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: obs}
spec:
  description: "Allow observability full egress"
  endpointSelector:
    matchLabels: {k8s:io.kubernetes.pod.namespace: observability}
  enableDefaultDeny: {egress: false}
  egress:
    - toEntities: [all]
)"}));
  EXPECT_FALSE(Has(f, "TW001")) << Dump(f);
}

// ---------------------------------------------------------------------------------------
// TW002 tier0-default-deny. A section without enableDefaultDeny false switches the
// direction to default-deny for everything selected (cilium-policy.md §2.1).

TEST(LintTW002, EmptySelectorWithIngressPolicesKubeSystem) {
  auto f = LintYaml(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: scrape}
spec:
  endpointSelector: {}
  ingress:
    - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: observability}}]
      toPorts: [{ports: [{port: "9090", protocol: TCP}]}]
)");
  auto x = With(f, "TW002", "scrape");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_EQ(x[0]->severity, Severity::kError);
  EXPECT_THAT(x[0]->message, HasSubstr("kube-system"));
  EXPECT_THAT(x[0]->message, HasSubstr("enableDefaultDeny: {ingress: false}"));
}

TEST(LintTW002, ShortExclusionListLeavesATier0NamespacePoliced) {
  auto f = LintYaml(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: dns}
spec:
  endpointSelector:
    matchExpressions:
      - {key: k8s:io.kubernetes.pod.namespace, operator: NotIn, values: [kube-system, flux-system, cilium]}
  egress:
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}]
      toPorts: [{ports: [{port: "53", protocol: ANY}]}]
)");
  auto x = With(f, "TW002", "dns");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_THAT(x[0]->message, HasSubstr("cilium-secrets"));
  EXPECT_THAT(x[0]->message, ::testing::Not(HasSubstr("kube-system and")));
}

TEST(LintTW002, NamespacedPolicyInsideTier0) {
  // A CNP is scoped to its namespace (cilium-policy.md §3): one in kube-system polices it.
  auto f = LintYaml(R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: lockdown, namespace: kube-system}
spec:
  endpointSelector: {matchLabels: {app: hubble-relay}}
  ingress:
    - fromEndpoints: [{}]
)");
  EXPECT_TRUE(Has(f, "TW002", "kube-system/lockdown")) << Dump(f);
}

TEST(LintTW002, TierPatternsCountAsTier0) {
  LintOptions opts;
  opts.tier0_patterns = {"cilium-*"};
  opts.tier0_namespaces = {"kube-system"};
  auto f = LintYaml(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: dd}
spec:
  endpointSelector:
    matchExpressions:
      - {key: k8s:io.kubernetes.pod.namespace, operator: NotIn, values: [kube-system]}
  ingress: [{}]
)",
                    opts);
  auto x = With(f, "TW002", "dd");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_THAT(x[0]->message, HasSubstr("cilium-x"));
}

TEST(LintTW002, NotFiredWhenDefaultDenyIsOffOrTier0Excluded) {
  auto f = LintYaml(Set({kDefaultDeny, kDns, R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: scrape}
spec:
  endpointSelector: {matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: Exists}]}
  enableDefaultDeny: {ingress: false}
  ingress:
    - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: observability}}]
      toPorts: [{ports: [{port: "9090", protocol: TCP}]}]
)",
                         R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: app, namespace: business}
spec:
  endpointSelector: {}
  ingress: [{fromEndpoints: [{}]}]
)"}));
  EXPECT_FALSE(Has(f, "TW002")) << Dump(f);
}

// ---------------------------------------------------------------------------------------
// TW003 fqdn-no-dns-visibility. toFQDNs learns IPs only through the DNS proxy, engaged by
// an L7 DNS rule on the endpoint's egress (cilium-policy.md §1.1 toFQDNs; layer3.rst).

const char* kCertManagerFqdn = R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: acme}
spec:
  endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: cert-manager}}
  enableDefaultDeny: {egress: false}
  egress:
    - toFQDNs: [{matchName: acme-v02.api.letsencrypt.org}]
      toPorts: [{ports: [{port: "443", protocol: TCP}]}]
)";

TEST(LintTW003, NoDnsRuleAnywhere) {
  const std::string yaml = Set({kCertManagerFqdn, R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: plain-dns}
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false}
  egress:
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}]
      toPorts: [{ports: [{port: "53", protocol: UDP}, {port: "53", protocol: TCP}]}]
)"});
  auto f = LintYaml(yaml);
  auto x = With(f, "TW003", "acme");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_EQ(x[0]->severity, Severity::kError);
  EXPECT_EQ(x[0]->line, LineOf(yaml, "toFQDNs"));  // the toFQDNs element
}

TEST(LintTW003, DnsRuleInAnotherPolicySelectingTheSamePodsIsEnough) {
  auto f = LintYaml(Set({kCertManagerFqdn, kDns}));
  EXPECT_FALSE(Has(f, "TW003")) << Dump(f);
}

TEST(LintTW003, DnsRuleThatRefusesTheNameDoesNotCount) {
  auto f = LintYaml(Set({kCertManagerFqdn, R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: narrow-dns}
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false}
  egress:
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}]
      toPorts:
        - ports: [{port: "53", protocol: ANY}]
          rules: {dns: [{matchPattern: "*.example.com"}]}
)"}));
  EXPECT_TRUE(Has(f, "TW003", "acme")) << Dump(f);
}

TEST(LintTW003, DnsRuleForOnlySomeOfTheSubjectsIsAWarning) {
  auto f = LintYaml(Set({R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: acme}
spec:
  endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: cert-manager}}
  enableDefaultDeny: {egress: false}
  egress:
    - toFQDNs: [{matchPattern: "*.api.letsencrypt.org"}]
      toPorts: [{ports: [{port: "443", protocol: TCP}]}]
)",
                         R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: controller-dns}
spec:
  endpointSelector:
    matchLabels: {k8s:io.kubernetes.pod.namespace: cert-manager, k8s:app.kubernetes.io/name: cert-manager}
  enableDefaultDeny: {egress: false}
  egress:
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}]
      toPorts:
        - ports: [{port: "53", protocol: ANY}]
          rules: {dns: [{matchPattern: "*"}]}
)"}));
  auto x = With(f, "TW003", "acme");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_EQ(x[0]->severity, Severity::kWarning);
}

// ---------------------------------------------------------------------------------------
// TW004 one-way. Both ends must allow (cilium-policy.md §7; layer3.rst "policy must be
// configured on both sides").

const char* kEsoEgress = R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: eso}
spec:
  endpointSelector:
    matchLabels: {k8s:io.kubernetes.pod.namespace: external-secrets, k8s:app.kubernetes.io/name: external-secrets}
  enableDefaultDeny: {egress: false}
  egress:
    - toEndpoints:
        - matchLabels: {k8s:io.kubernetes.pod.namespace: external-secrets, k8s:app.kubernetes.io/name: onepassword-connect}
      toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
)";

TEST(LintTW004, EgressToAPeerWhoseIngressAdmitsNobody) {
  auto f = LintYaml(Set({kDefaultDeny, kEsoEgress}));
  auto x = With(f, "TW004", "eso");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_EQ(x[0]->severity, Severity::kError);
  EXPECT_THAT(x[0]->message, HasSubstr("ingress default-deny (by dd)"));
}

TEST(LintTW004, CompletedByAnIngressAllowOnThePeer) {
  auto f = LintYaml(Set({kDefaultDeny, kEsoEgress, R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: opc}
spec:
  endpointSelector:
    matchLabels: {k8s:io.kubernetes.pod.namespace: external-secrets, k8s:app.kubernetes.io/name: onepassword-connect}
  enableDefaultDeny: {ingress: false}
  ingress:
    - fromEndpoints:
        - matchLabels: {k8s:io.kubernetes.pod.namespace: external-secrets, k8s:app.kubernetes.io/name: external-secrets}
      toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
)"}));
  EXPECT_FALSE(Has(f, "TW004")) << Dump(f);
}

TEST(LintTW004, IngressAllowOnTheWrongPortStillOneWay) {
  auto f = LintYaml(Set({kDefaultDeny, kEsoEgress, R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: opc}
spec:
  endpointSelector:
    matchLabels: {k8s:io.kubernetes.pod.namespace: external-secrets, k8s:app.kubernetes.io/name: onepassword-connect}
  enableDefaultDeny: {ingress: false}
  ingress:
    - fromEndpoints:
        - matchLabels: {k8s:io.kubernetes.pod.namespace: external-secrets}
      toPorts: [{ports: [{port: "8081", protocol: TCP}]}]
)"}));
  EXPECT_TRUE(Has(f, "TW004", "eso")) << Dump(f);
}

TEST(LintTW004, IngressFromPeersThatCannotLeave) {
  auto f = LintYaml(Set({kDefaultDeny, R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: scrape}
spec:
  endpointSelector: {matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: Exists}]}
  enableDefaultDeny: {ingress: false}
  ingress:
    - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: observability}}]
      toPorts: [{ports: [{port: "9090", protocol: TCP}]}]
)"}));
  auto x = With(f, "TW004", "scrape");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_EQ(x[0]->severity, Severity::kError);
  EXPECT_THAT(x[0]->message, HasSubstr("egress default-deny (by dd)"));
}

TEST(LintTW004, OnePeerOfTwoBlockedIsAWarning) {
  // From the scrapers (who may leave) and from grafana (who may not).
  auto f = LintYaml(Set({kDefaultDeny, R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: scrape}
spec:
  endpointSelector: {matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: Exists}]}
  enableDefaultDeny: {ingress: false}
  ingress:
    - fromEndpoints:
        - matchLabels: {k8s:io.kubernetes.pod.namespace: observability, k8s:app.kubernetes.io/name: vmagent}
        - matchLabels: {k8s:io.kubernetes.pod.namespace: observability, k8s:app.kubernetes.io/name: grafana}
      toPorts: [{ports: [{port: "9090", protocol: TCP}]}]
)",
                         R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: vmagent-out}
spec:
  endpointSelector:
    matchLabels: {k8s:io.kubernetes.pod.namespace: observability, k8s:app.kubernetes.io/name: vmagent}
  enableDefaultDeny: {egress: false}
  egress:
    - toEndpoints: [{}]
      toPorts: [{ports: [{port: "9090", protocol: TCP}]}]
)"}));
  auto x = With(f, "TW004", "scrape");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_EQ(x[0]->severity, Severity::kWarning);
  EXPECT_THAT(x[0]->message, HasSubstr("grafana"));
  EXPECT_FALSE(Has(f, "TW004", "vmagent-out")) << Dump(f);
}

TEST(LintTW004, PeersOutsideDefaultDenyAndEntitiesAreFine) {
  auto f = LintYaml(Set({kDefaultDeny, R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: out}
spec:
  endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: cert-manager}}
  enableDefaultDeny: {egress: false}
  egress:
    - toEntities: [kube-apiserver, world]
      toPorts: [{ports: [{port: "443", protocol: TCP}]}]
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system}}]
)"}));
  EXPECT_FALSE(Has(f, "TW004")) << Dump(f);
}

// ---------------------------------------------------------------------------------------
// TW005 dns-tcp-missing.

TEST(LintTW005, UdpOnlyDnsPerPolicy) {
  auto f = LintYaml(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: udp-only}
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false}
  egress:
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}]
      toPorts:
        - ports:
            - port: "53"
              protocol: UDP
)");
  auto x = With(f, "TW005", "udp-only");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_EQ(x[0]->severity, Severity::kWarning);
  EXPECT_EQ(x[0]->line, 12);  // the `port: "53"` entry
}

TEST(LintTW005, TcpAnywhereInThePolicyOrAnyOrL3OnlyIsEnough) {
  auto f = LintYaml(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: split}
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false}
  egress:
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}]
      toPorts: [{ports: [{port: "53", protocol: UDP}]}]
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}]
      toPorts: [{ports: [{port: "53", protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: any}
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false}
  egress:
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}]
      toPorts: [{ports: [{port: "53", protocol: ANY}]}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: l3}
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false}
  egress:
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system}}]
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}]
      toPorts: [{ports: [{port: "53", protocol: UDP}]}]
)");
  EXPECT_FALSE(Has(f, "TW005")) << Dump(f);
}

// ---------------------------------------------------------------------------------------
// TW006 tier0-exclusions-inconsistent.

std::string ExcludingPolicy(const std::string& name, const std::string& values) {
  return R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: )" +
         name + R"(}
spec:
  endpointSelector:
    matchExpressions:
      - {key: k8s:io.kubernetes.pod.namespace, operator: NotIn, values: )" +
         values + R"(}
  enableDefaultDeny: {egress: false}
  egress: [{toEntities: [world]}]
)";
}

TEST(LintTW006, ListDifferingFromTheTierModel) {
  auto f = LintYaml(Set(
      {ExcludingPolicy("a", "[kube-system, flux-system, cilium, cilium-secrets]"),
       ExcludingPolicy("b", "[kube-system, flux-system, cilium]"),
       ExcludingPolicy("c", "[cilium, kube-system, flux-system, cilium-secrets, monitoring]")}));
  EXPECT_FALSE(Has(f, "TW006", "a")) << Dump(f);
  ASSERT_TRUE(Has(f, "TW006", "b")) << Dump(f);
  EXPECT_THAT(With(f, "TW006", "b")[0]->message, HasSubstr("leaves out cilium-secrets"));
  ASSERT_TRUE(Has(f, "TW006", "c")) << Dump(f);
  EXPECT_THAT(With(f, "TW006", "c")[0]->message, HasSubstr("also excludes monitoring"));
}

TEST(LintTW006, WithoutATierModelTheMajorityListIsTheReference) {
  LintOptions opts;
  opts.tier0_namespaces.clear();
  auto f = LintYaml(Set({ExcludingPolicy("a", "[kube-system, flux-system]"),
                         ExcludingPolicy("b", "[flux-system, kube-system]"),
                         ExcludingPolicy("c", "[kube-system]")}),
                    opts);
  EXPECT_FALSE(Has(f, "TW006", "a")) << Dump(f);
  EXPECT_FALSE(Has(f, "TW006", "b")) << Dump(f);
  EXPECT_TRUE(Has(f, "TW006", "c")) << Dump(f);
}

// ---------------------------------------------------------------------------------------
// TW007 health-and-ingress-endpoints. NotIn matches an absent label, and the reserved
// health/ingress endpoints carry no namespace label (cilium-policy.md §3, §10(a)).

TEST(LintTW007, NotInSelectorReachesTheReservedEndpoints) {
  auto f = LintYaml(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: dd}
spec:
  endpointSelector:
    matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: NotIn, values: [kube-system]}]
  ingress: [{}]
)");
  auto x = With(f, "TW007", "dd");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_THAT(x[0]->message, HasSubstr("health"));
  EXPECT_THAT(x[0]->message, HasSubstr("ingress endpoint"));
}

TEST(LintTW007, RequiringTheNamespaceLabelOrDefaultDenyOffAvoidsIt) {
  auto f = LintYaml(Set({kDefaultDeny, kDns, R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: visibility}
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false, ingress: false}
  egress:
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}]
      toPorts: [{ports: [{port: "53", protocol: ANY}], rules: {dns: [{matchPattern: "*"}]}}]
)"}));
  EXPECT_FALSE(Has(f, "TW007")) << Dump(f);
}

TEST(LintTW007, AHealthPolicyAllowsHealthTrafficButNotIngressEndpointTraffic) {
  // examples/policies/kubernetes/clusterwide/health.yaml
  auto f = LintYaml(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: dd}
spec:
  endpointSelector:
    matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: NotIn, values: [kube-system]}]
  ingress: [{}]
  egress: [{}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: cilium-health-checks}
spec:
  endpointSelector:
    matchLabels:
      'reserved:health': ''
  ingress:
    - fromEntities: [remote-node]
  egress:
    - toEntities: [remote-node]
)");
  auto x = With(f, "TW007", "dd");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_THAT(x[0]->message, ::testing::Not(HasSubstr("health endpoint")));
  EXPECT_THAT(x[0]->message, HasSubstr("ingress endpoint"));
}

TEST(LintTW007, NamespacedPoliciesNeverSelectReservedEndpoints) {
  auto f = LintYaml(R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: dd, namespace: business}
spec:
  endpointSelector: {}
  ingress: [{}]
)");
  EXPECT_FALSE(Has(f, "TW007")) << Dump(f);
}

// ---------------------------------------------------------------------------------------
// TW008 apiserver-egress-missing.

TEST(LintTW008, ControllerNamespaceWithoutApiserverEgress) {
  auto f = LintYaml(Set({kDefaultDeny, kDns}));
  // cert-manager and external-secrets are in default-deny; flux-system is Tier 0.
  auto x = With(f, "TW008");
  ASSERT_EQ(x.size(), 2u) << Dump(f);
  EXPECT_THAT(x[0]->message + x[1]->message, HasSubstr("cert-manager"));
  EXPECT_THAT(x[0]->message + x[1]->message, HasSubstr("external-secrets"));
  EXPECT_FALSE(Has(f, "TW008") && Dump(f).find("namespace flux-system") != std::string::npos);
}

TEST(LintTW008, PointsAtTheNamespacesOwnPolicyAndIsInfoForOnePortOnly) {
  auto f = LintYaml(Set({kDefaultDeny, kDns, R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: cm-api}
spec:
  endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: cert-manager}}
  enableDefaultDeny: {egress: false}
  egress:
    - toEntities: [kube-apiserver]
      toPorts: [{ports: [{port: "443", protocol: TCP}]}]
)"}),
                    [] {
                      LintOptions o;
                      o.controller_namespaces = {"cert-manager"};
                      return o;
                    }());
  auto x = With(f, "TW008");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_EQ(x[0]->severity, Severity::kInfo);
  EXPECT_THAT(x[0]->message, HasSubstr("6443/TCP"));
}

TEST(LintTW008, BothPortsAllowedIsClean) {
  auto f = LintYaml(Set({kDefaultDeny, kDns, R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: api}
spec:
  endpointSelector:
    matchExpressions:
      - {key: k8s:io.kubernetes.pod.namespace, operator: In, values: [cert-manager, external-secrets]}
  enableDefaultDeny: {egress: false}
  egress:
    - toEntities: [kube-apiserver]
      toPorts: [{ports: [{port: "6443", protocol: TCP}, {port: "443", protocol: TCP}]}]
)"}));
  EXPECT_FALSE(Has(f, "TW008")) << Dump(f);
}

// ---------------------------------------------------------------------------------------
// TW009 schema.

TEST(LintTW009, ParserErrorsBecomeSchemaFindingsAndTheRestIsStillLinted) {
  auto f = LintYaml(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: broken}
spec:
  endpointSelector: {}
  egress:
    - toPorts: [{ports: [{port: "53", protocol: QUIC}]}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: obs}
spec:
  description: "Allow full egress"
  endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: observability}}
  egress: [{}]
)");
  auto x = With(f, "TW009");
  ASSERT_FALSE(x.empty()) << Dump(f);
  EXPECT_EQ(x[0]->severity, Severity::kError);
  EXPECT_EQ(x[0]->file, "test.yaml");
  EXPECT_GT(x[0]->line, 0);
  EXPECT_EQ(x[0]->path, "broken");
  EXPECT_TRUE(Has(f, "TW001", "obs")) << Dump(f);
}

TEST(LintTW009, PolicySetOverloadHasNoSchemaFindings) {
  LoadedPolicies r = ParsePolicyText("kind: Nonsense\n: : :\n", "bad.yaml");
  EXPECT_FALSE(Has(Lint(r.policies), "TW009"));
}

// ---------------------------------------------------------------------------------------
// TW010 reimposes-default-deny.

TEST(LintTW010, AllowPolicyWithoutEnableDefaultDenyFalseNextToADefaultDeny) {
  auto f = LintYaml(Set({kDefaultDeny, R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: dns}
spec:
  endpointSelector: {matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: Exists}]}
  egress:
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}]
      toPorts: [{ports: [{port: "53", protocol: ANY}], rules: {dns: [{matchPattern: "*"}]}}]
)"}));
  auto x = With(f, "TW010", "dns");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_EQ(x[0]->severity, Severity::kWarning);
  EXPECT_THAT(x[0]->message, HasSubstr("debug-bypass"));
  EXPECT_THAT(x[0]->message, HasSubstr("enableDefaultDeny: {egress: false}"));
}

TEST(LintTW010, KubernetesNetworkPolicyGetsTheCnpAdvice) {
  auto f = LintYaml(Set({kDefaultDeny, R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: business}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - from: [{podSelector: {}}]
)"}));
  auto x = With(f, "TW010", "business/web");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_THAT(x[0]->message, HasSubstr("CiliumNetworkPolicy"));
}

TEST(LintTW010, NotFiredWithoutADefaultDenyPolicyOrWithDefaultDenyOff) {
  const char* allow = R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: app, namespace: business}
spec:
  endpointSelector: {}
  ingress: [{fromEndpoints: [{}]}]
)";
  EXPECT_FALSE(Has(LintYaml(allow), "TW010"));
  EXPECT_FALSE(Has(LintYaml(Set({kDefaultDeny, kDns})), "TW010"));
}

// Only a default-deny in the same direction counts: an ingress-only policy next to an
// egress-only default-deny re-imposes nothing, and is not told it does.
TEST(LintTW010, OnlyTheSameDirectionCounts) {
  const char* egress_only_dd = R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: egress-dd}
spec:
  endpointSelector: {matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: Exists}]}
  egress: [{}]
)";
  const char* ingress_allow = R"(
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: business}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress: [{fromEndpoints: [{matchLabels: {app: lb}}]}]
)";
  EXPECT_FALSE(Has(LintYaml(Set({egress_only_dd, ingress_allow})), "TW010"))
      << Dump(LintYaml(Set({egress_only_dd, ingress_allow})));
  // With an ingress default-deny too, only that one is named.
  const char* ingress_only_dd = R"(
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: ingress-dd}
spec:
  endpointSelector: {matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: Exists}]}
  ingress: [{}]
)";
  auto f = LintYaml(Set({egress_only_dd, ingress_allow, ingress_only_dd}));
  auto x = With(f, "TW010", "business/web");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_THAT(x[0]->message, HasSubstr("ingress-dd"));
  EXPECT_THAT(x[0]->message, ::testing::Not(HasSubstr("egress-dd")));
}

// A misspelled kind in a policy directory is a warning naming the file and the kinds
// tierwatch understands, not a silent skip.
TEST(LintTW009, MisspelledKindIsAWarningNotASilentSkip) {
  LoadedPolicies r = ParsePolicyText(R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicyy
metadata: {name: typo, namespace: business}
spec:
  endpointSelector: {}
  ingress: [{}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unrelated}
)",
                                 "policies/typo.yaml");
  LintFindings f = Lint(r);
  auto x = With(f, "TW009");
  ASSERT_EQ(x.size(), 1u) << Dump(f);
  EXPECT_EQ(x[0]->severity, Severity::kWarning);
  EXPECT_EQ(x[0]->file, "policies/typo.yaml");
  EXPECT_EQ(x[0]->line, 1);
  EXPECT_THAT(x[0]->message, HasSubstr("\"CiliumNetworkPolicyy\""));
  EXPECT_THAT(x[0]->message, HasSubstr("CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy"));
  EXPECT_THAT(x[0]->message, HasSubstr("NetworkPolicy"));
  EXPECT_FALSE(HasErrors(f));  // a warning: the gate is the user's call
}

// ---------------------------------------------------------------------------------------
// Across rules.

TEST(LintTest, FindingsAreSortedAndFormatted) {
  auto f = LintYaml(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: scrape}
spec:
  endpointSelector: {}
  ingress:
    - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: observability}}]
      toPorts: [{ports: [{port: "53", protocol: UDP}]}]
)");
  ASSERT_GE(f.size(), 2u);
  for (size_t i = 1; i < f.size(); ++i)
    EXPECT_LE(std::tie(f[i - 1].file, f[i - 1].line), std::tie(f[i].file, f[i].line));
  ASSERT_TRUE(Has(f, "TW002"));
  const Diagnostic* tw002 = With(f, "TW002")[0];
  EXPECT_EQ(tw002->ToString().rfind("test.yaml:6: error: [TW002 tier0-default-deny] scrape: ", 0),
            0u)
      << tw002->ToString();
  EXPECT_EQ(tw002->code, "TW002");
  EXPECT_EQ(tw002->code_name, "tier0-default-deny");
  EXPECT_EQ(tw002->line, 6);
}

TEST(LintTest, RuleCatalogueHasTenRulesInOrder) {
  const auto& rules = LintRules();
  ASSERT_EQ(rules.size(), 10u);
  EXPECT_EQ(rules[0].id, "TW001");
  EXPECT_EQ(rules[3].name, "one-way");
  EXPECT_EQ(rules[4].severity, Severity::kWarning);
  EXPECT_EQ(rules[8].name, "schema");
  EXPECT_EQ(rules[9].id, "TW010");
}

TEST(LintTest, EmptySetHasNoFindings) { EXPECT_TRUE(Lint(PolicySet{}).empty()); }

}  // namespace
}  // namespace tw::policy
