// The linter on GitOps-sized sets (issue 12): the indexed model finds exactly what matching
// every representative against every selector finds, its work grows linearly with the
// number of namespaces, and the findings of a generated 2k-policy set are those the
// quadratic linter gave (a fingerprint recorded before the index existed). Timings are
// measured in bench/lint_bench.cc, never here.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lint_test_util.h"
#include "policy/lint.h"
#include "policy/lint_model.h"
#include "policy/parser.h"

namespace tw::policy {
namespace {

using lint_internal::LintModel;
using lint_internal::Rep;
using lint_internal::RuleRefLite;

constexpr const char* kClusterwide = R"(---
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: default-deny-all
spec:
  endpointSelector:
    matchExpressions:
      - key: k8s:io.kubernetes.pod.namespace
        operator: NotIn
        values: [kube-system, flux-system, cilium, cilium-secrets]
  ingress:
    - {}
  egress:
    - {}
---
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: allow-dns-ingress
spec:
  endpointSelector:
    matchLabels:
      k8s:io.kubernetes.pod.namespace: kube-system
      k8s-app: kube-dns
  ingress:
    - fromEndpoints:
        - {}
      toPorts:
        - ports:
            - {port: "53", protocol: UDP}
            - {port: "53", protocol: TCP}
---
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: tier1-observability-egress
spec:
  endpointSelector:
    matchLabels:
      k8s:io.kubernetes.pod.namespace: observability
  egress:
    - {}
---
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: cert-manager-apiserver
spec:
  endpointSelector:
    matchLabels:
      k8s:io.kubernetes.pod.namespace: cert-manager
  egress:
    - toEntities: [kube-apiserver]
      toPorts:
        - ports:
            - {port: "6443", protocol: TCP}
)";

// Selectors of every shape the index files differently: no In/Exists at all, Exists on
// an app label, In on the namespace-name label, `any:` and reserved keys.
constexpr const char* kOddClusterwide = R"(---
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: labelled-apps
spec:
  endpointSelector:
    matchExpressions:
      - {key: app, operator: Exists}
      - {key: policy.cilium.io/enforce, operator: DoesNotExist}
  egress:
    - toEntities: [cluster]
      toPorts:
        - ports:
            - {port: "8443", protocol: TCP}
---
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: not-batch
spec:
  endpointSelector:
    matchExpressions:
      - {key: tier, operator: NotIn, values: [batch]}
      - {key: k8s:io.kubernetes.pod.namespace, operator: Exists}
  ingress:
    - fromEndpoints:
        - matchLabels:
            k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name: observability
---
apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: health
spec:
  endpointSelector:
    matchLabels:
      reserved:health: ""
  ingress:
    - fromEntities: [remote-node]
  egress:
    - toEntities: [remote-node]
)";

// One app namespace as the bench generates it (bench/lint_bench.cc), in four policies.
std::string AppNamespace(int i) {
  const std::string ns = absl::StrCat("app-", i);
  std::string y = absl::StrCat(R"(---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: default-deny, namespace: )",
                               ns, R"(}
spec:
  endpointSelector: {}
  ingress:
    - {}
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s-app: kube-dns
      toPorts:
        - ports:
            - {port: "53", protocol: UDP}
)",
                               i % 7 != 0 ? R"(            - {port: "53", protocol: TCP}
)"
                                          : "",
                               R"(---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api, namespace: )",
                               ns, R"(}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
    - fromEndpoints: [{matchLabels: {app: frontend}}]
      toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
  egress:
    - toEndpoints: [{matchLabels: {app: db}}]
      toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: db, namespace: )",
                               ns, R"(}
spec:
  endpointSelector: {matchLabels: {app: db}}
  ingress:
    - fromEndpoints: [{matchLabels: {app: )",
                               i % 5 == 0 ? "worker" : "api", R"(}}]
      toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: metrics, namespace: )",
                               ns, R"(}
spec:
  endpointSelector: {}
  ingress:
    - fromEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: observability
            app.kubernetes.io/name: prometheus
      toPorts: [{ports: [{port: ")",
                               i % 2 == 0 ? "9090" : "8081", R"(", protocol: TCP}]}]
)");
  return y;
}

// Extra per-namespace shapes for the equivalence test: multi-valued In, Exists, NotIn,
// a namespace-wide peer, toFQDNs, a Kubernetes NetworkPolicy.
std::string OddNamespace(int i) {
  const std::string ns = absl::StrCat("app-", i);
  std::string y;
  if (i % 3 == 0) {
    absl::StrAppend(&y, R"(---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-out, namespace: )",
                    ns, R"(}
spec:
  endpointSelector:
    matchExpressions:
      - {key: tier, operator: In, values: [web, edge]}
  egress:
    - toFQDNs: [{matchPattern: "*.example.com"}]
      toPorts: [{ports: [{port: "443", protocol: TCP}]}]
    - toEndpoints:
        - matchExpressions:
            - {key: k8s:io.kubernetes.pod.namespace, operator: Exists}
            - {key: team, operator: NotIn, values: [red]}
)");
  }
  if (i % 4 == 1) {
    absl::StrAppend(&y, R"(---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-in, namespace: )",
                    ns, R"(}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: observability}}
        - podSelector: {matchExpressions: [{key: role, operator: Exists}]}
)");
  }
  return y;
}

LoadedPolicies Generate(int namespaces, bool odd) {
  LoadedPolicies r;
  ParsePolicyText(kClusterwide, "clusterwide.yaml", r);
  if (odd) ParsePolicyText(kOddClusterwide, "odd.yaml", r);
  for (int i = 0; i < namespaces; ++i) {
    std::string y = AppNamespace(i);
    if (odd) y += OddNamespace(i);
    ParsePolicyText(y, absl::StrCat("app-", i, ".yaml"), r);
  }
  return r;
}

// What the model answered before it had an index: every selector tried on every
// representative.
TEST(LintScale, IndexedModelAgreesWithMatchingEverything) {
  const LoadedPolicies set = Generate(40, /*odd=*/true);
  ASSERT_TRUE(std::none_of(set.diagnostics.begin(), set.diagnostics.end(),
                           [](const Diagnostic& d) { return d.severity == Severity::kError; }));
  const LintModel m(set.policies, LintOptions{});
  const std::vector<Rep>& reps = m.reps();
  ASSERT_GT(reps.size(), 40u * 4);

  for (const Policy& p : set.policies.policies) {
    for (const Rule& r : p.rules) {
      std::vector<const Rep*> want;
      if (r.endpoint_selector)
        for (const Rep& rep : reps)
          if (rep.SubjectCapable() && r.endpoint_selector->Matches(rep.parsed))
            want.push_back(&rep);
      EXPECT_EQ(m.Subjects(r), want) << p.DisplayName();
      for (Section s :
           {Section::kIngress, Section::kIngressDeny, Section::kEgress, Section::kEgressDeny}) {
        for (const RuleElement& e : r.Elements(s)) {
          size_t item = 0;
          for (const Selector& sel : e.peers.endpoints) {
            std::vector<const Rep*> peers;
            for (const Rep& rep : reps)
              if (rep.SubjectCapable() && sel.Matches(rep.parsed)) peers.push_back(&rep);
            const auto items = m.PeerItems(e);
            ASSERT_LT(item, items.size());
            EXPECT_EQ(*items[item++].matched, peers) << p.DisplayName() << " " << sel.ToString();
          }
        }
      }
    }
  }

  // Selecting rules, and classes: representatives are alike iff every selector says so.
  std::vector<const Selector*> selectors;
  for (const Policy& p : set.policies.policies) {
    for (const Rule& r : p.rules) {
      if (r.endpoint_selector) selectors.push_back(&*r.endpoint_selector);
      for (Section s :
           {Section::kIngress, Section::kIngressDeny, Section::kEgress, Section::kEgressDeny})
        for (const RuleElement& e : r.Elements(s))
          for (const Selector& sel : e.peers.endpoints) selectors.push_back(&sel);
    }
  }
  std::map<std::string, int> classes;
  for (const Rep& rep : reps) {
    std::vector<std::pair<const Policy*, const Rule*>> want;
    if (rep.SubjectCapable())
      for (const Policy& p : set.policies.policies)
        for (const Rule& r : p.rules)
          if (r.endpoint_selector && r.endpoint_selector->Matches(rep.parsed))
            want.push_back({&p, &r});
    std::vector<std::pair<const Policy*, const Rule*>> got;
    for (const RuleRefLite& ref : m.SelectingRules(rep)) got.push_back({ref.policy, ref.rule});
    EXPECT_EQ(got, want) << rep.Describe();

    std::string sig = absl::StrCat(static_cast<int>(rep.kind), ":");
    for (const Selector* s : selectors) sig.push_back(s->Matches(rep.parsed) ? '1' : '0');
    auto it = classes.emplace(sig, static_cast<int>(classes.size())).first;
    EXPECT_EQ(rep.klass, it->second) << rep.Describe();
  }
}

// Twice the namespaces, about twice the selector tests — not four times, as when every
// representative met every selector. A count, not a timing.
TEST(LintScale, SelectorTestsGrowLinearly) {
  const LoadedPolicies small = Generate(100, /*odd=*/true);
  const LoadedPolicies large = Generate(400, /*odd=*/true);
  const LintModel a(small.policies, LintOptions{});
  const LintModel b(large.policies, LintOptions{});
  ASSERT_GT(a.selector_tests(), 0u);
  EXPECT_GT(b.reps().size(), 3 * a.reps().size());
  EXPECT_LT(b.selector_tests(), 5 * a.selector_tests())
      << a.selector_tests() << " tests for " << a.reps().size() << " representatives, "
      << b.selector_tests() << " for " << b.reps().size();
  // Repeated selectors (every namespace's DNS peer) are matched once.
  EXPECT_LT(b.distinct_selectors(), 5 * a.distinct_selectors());
}

uint64_t Fnv1a(const std::string& s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// 500 app namespaces, 2004 policies. The counts and fingerprint (FNV-1a over every
// finding's ToString() and a newline) are those of the linter at 3f876bf, before the
// index (faster must not mean different), except that TW010 now names at most three of
// the other default-deny policies ("... and 499 more"), as decided after the index.
TEST(LintScale, FindingsOfTwoThousandPoliciesAreUnchanged) {
  const LoadedPolicies set = Generate(500, /*odd=*/false);
  ASSERT_EQ(set.policies.policies.size(), 2004u);
  const LintFindings f = Lint(set);
  std::map<std::string, int> per_rule;
  uint64_t h = 14695981039346656037ull;
  for (const Diagnostic& x : f) {
    ++per_rule[absl::StrCat(x.code, " ", SeverityName(x.severity))];
    h = Fnv1a(x.ToString() + "\n", h);
  }
  const std::map<std::string, int> want = {
      {"TW001 error", 501}, {"TW002 error", 1}, {"TW004 error", 1200}, {"TW005 warning", 72},
      {"TW007 warning", 1}, {"TW008 info", 1},  {"TW008 warning", 1},  {"TW010 warning", 2002}};
  EXPECT_EQ(per_rule, want);
  EXPECT_EQ(h, 0xa39ee4fd82ef0b2full);
}

}  // namespace
}  // namespace tw::policy
