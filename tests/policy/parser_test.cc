// Parser tests: the model built from YAML (scoping, sources, elements, KNP translation) and
// schema errors with file:line and the policy name (rule_validation.go, CRD schema).
#include "policy/parser.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "policy_test_util.h"

namespace tw::policy::testing {
namespace {

namespace fs = std::filesystem;

// Finds the first diagnostic whose message contains `needle`.
const Diagnostic* Find(const LoadedPolicies& r, const std::string& needle) {
  for (const auto& d : r.diagnostics) {
    if (d.message.find(needle) != std::string::npos) return &d;
  }
  return nullptr;
}

std::string AllDiags(const LoadedPolicies& r) {
  std::string s;
  for (const auto& d : r.diagnostics) s += d.ToString() + "\n";
  return s;
}

struct ErrorCase {
  std::string what;  // rule_validation.go / CRD check reproduced
  std::string yaml;
  std::string needle;
  int line;
};

TEST(Parser, SchemaErrorsCarryLineAndPolicyName) {
  const std::vector<ErrorCase> cases = {
      {"unknown field in an element (CRD structural schema)", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  ingress:
  - fromEndpoint: [{}]
)",
       "unknown field \"fromEndpoint\"", 7},
      {"unknown field in spec", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  egres:
  - {}
)",
       "unknown field \"egres\"", 6},
      {"unknown field in a port", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  egress:
  - toPorts:
    - ports:
      - {port: "53", proto: UDP}
)",
       "unknown field \"proto\"", 9},
      {"both selectors (Sanitize)", R"(apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: p}
spec:
  endpointSelector: {}
  nodeSelector: {}
  ingress: [{}]
)",
       "cannot have both endpointSelector and nodeSelector", 5},
      {"neither selector (Sanitize)", R"(apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: p}
spec:
  ingress: [{}]
)",
       "must have one of endpointSelector or nodeSelector", 5},
      {"nodeSelector in a CNP (cnp_types.go)", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  nodeSelector: {}
  ingress: [{}]
)",
       "nodeSelector is only valid in a CiliumClusterwideNetworkPolicy", 5},
      {"empty rule (1.17+ PR #35904)", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  ingress: []
)",
       "at least one of ingress, ingressDeny, egress, egressDeny", 5},
      {"two L3 peer kinds", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  egress:
  - toEndpoints: [{}]
    toCIDR: [10.0.0.0/8]
)",
       "combining toEndpoints and toCIDR is not supported", 7},
      {"icmps with toPorts", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  ingress:
  - toPorts: [{ports: [{port: "80"}]}]
    icmps: [{fields: [{type: 8}]}]
)",
       "icmps block may only be present without toPorts", 8},
      {"bad port", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  ingress:
  - toPorts: [{ports: [{port: "70000"}]}]
)",
       "spec.ingress[0].toPorts[0].ports[0].port: expected a port number from 0 to 65535 or a port "
       "name, got \"70000\"",
       7},
      {"bad protocol", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  ingress:
  - toPorts:
    - ports:
      - port: "80"
        protocol: tcp
)",
       ".protocol: expected one of TCP, UDP, SCTP or ANY, got \"tcp\" (did you mean \"TCP\"?)", 10},
      {"endPort below port", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  ingress:
  - toPorts:
    - ports:
      - port: "8080"
        endPort: 8000
)",
       "endPort 8000 is lower than port 8080", 10},
      {"DNS rule without port 53", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  egress:
  - toPorts:
    - ports: [{port: "5353", protocol: UDP}]
      rules:
        dns: [{matchPattern: "*"}]
)",
       "DNS rules need port 53", 10},
      {"DNS rule without ports", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  egress:
  - toPorts:
    - rules:
        dns: [{matchPattern: "*"}]
)",
       "port 53 must be specified for DNS rules", 9},
      {"DNS rule on ingress", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  ingress:
  - toPorts:
    - ports: [{port: "53", protocol: UDP}]
      rules:
        dns: [{matchPattern: "*"}]
)",
       "DNS rules are not allowed on ingress", 10},
      {"DNS rule with a range", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  egress:
  - toPorts:
    - ports: [{port: "53", endPort: 60, protocol: UDP}]
      rules:
        dns: [{matchPattern: "*"}]
)",
       "DNS rules do not support port ranges", 10},
      {"toFQDNs in egressDeny (deny.rst)", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  egressDeny:
  - toFQDNs: [{matchName: example.com}]
)",
       "toFQDNs is not supported in egressDeny", 7},
      {"L7 in a deny rule", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  ingressDeny:
  - toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules: {http: [{}]}
)",
       "unknown field \"rules\"", 9},
      {"HTTP rule on non-TCP port", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  ingress:
  - toPorts:
    - ports: [{port: "80", protocol: UDP}]
      rules: {http: [{method: GET}]}
)",
       "L7 rules can only apply to TCP", 9},
      {"unsupported entity (CRD enum)", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  egress:
  - toEntities: [world-ipv4]
)",
       "expected one of all, world, cluster, cluster-mesh, host, remote-node, kube-apiserver, "
       "ingress, health, init, unmanaged or none, got \"world-ipv4\"",
       7},
      {"except outside its cidr", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  egress:
  - toCIDRSet:
    - cidr: 10.0.0.0/8
      except: [192.168.0.0/16]
)",
       "does not contain exclude CIDR prefix", 9},
      {"bad selector operator", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector:
    matchExpressions:
    - {key: app, operator: Equals, values: [x]}
  egress: [{}]
)",
       ".operator: expected one of In, NotIn, Exists or DoesNotExist, got \"Equals\"", 7},
      {"KNP peer with ipBlock and podSelector", R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  podSelector: {}
  ingress:
  - from:
    - ipBlock: {cidr: 10.0.0.0/8}
      podSelector: {}
)",
       "ipBlock may not be combined", 8},
      // Type errors and names in the wording of every tierwatch YAML reader (yaml::Reader).
      {"list where a mapping belongs", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector:
    matchLabels: [app]
  egress: [{}]
)",
       "spec.endpointSelector.matchLabels: expected a mapping of label to value, got a list", 6},
      {"scalar where a list belongs", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  ingress: x
)",
       "spec.ingress: expected a list, got \"x\"", 6},
      {"not a boolean", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  enableDefaultDeny: {ingress: "yes"}
  ingress: [{}]
)",
       "spec.enableDefaultDeny.ingress: expected true or false, got \"yes\"", 6},
      {"endPort out of range", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  ingress:
  - toPorts:
    - ports:
      - port: "80"
        endPort: 70000
)",
       "spec.ingress[0].toPorts[0].ports[0].endPort: expected an integer from 0 to 65535, got "
       "\"70000\"",
       10},
      {"ICMP family", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  ingress:
  - icmps:
    - fields: [{family: ipv6, type: 128}]
)",
       ".family: expected IPv4 or IPv6, got \"ipv6\" (did you mean \"IPv6\"?)", 8},
      {"authentication mode", R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  ingress:
  - authentication:
      mode: require
)",
       "spec.ingress[0].authentication.mode: expected disabled or required, got \"require\" (did "
       "you mean \"required\"?)",
       8},
      {"KNP policyTypes", R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  podSelector: {}
  policyTypes:
  - Ingres
)",
       "spec.policyTypes: expected Ingress or Egress, got \"Ingres\" (did you mean \"Ingress\"?)",
       7},
      {"KNP port 0", R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: 0
)",
       "spec.ingress[0].ports[0].port: expected a port number from 1 to 65535 or a port name, got "
       "\"0\"",
       8},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.what);
    LoadedPolicies r = ParseAll(c.yaml, "pol.yaml");
    const Diagnostic* d = Find(r, c.needle);
    ASSERT_NE(d, nullptr) << AllDiags(r);
    EXPECT_EQ(d->severity, Severity::kError);
    EXPECT_EQ(d->file, "pol.yaml");
    EXPECT_EQ(d->line, c.line) << d->ToString();
    EXPECT_TRUE(d->path == "ns/p" || d->path == "p") << d->path;
    EXPECT_TRUE(r.policies.empty()) << "a policy with errors is excluded";
    ASSERT_EQ(r.rejected.size(), 1u);
    EXPECT_NE(Find(r, "excluded from evaluation"), nullptr);
  }
}

TEST(Parser, OneBadDocumentDoesNotHideOthers) {
  LoadedPolicies r = ParseAll(R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: good-1, namespace: a}
spec:
  endpointSelector: {}
  egress: [{}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: broken-yaml, namespace: a}
spec:
  endpointSelector: {matchLabels: {app: [unclosed}
  egress: [{}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: bad-schema, namespace: a}
spec:
  endpointSelector: {}
  egress:
  - toPorts: [{ports: [{port: "x_y"}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: good-2, namespace: a}
spec:
  podSelector: {}
)",
                              "multi.yaml");
  ASSERT_EQ(r.policies.size(), 2u) << AllDiags(r);
  EXPECT_EQ(r.policies.policies[0].name, "good-1");
  EXPECT_EQ(r.policies.policies[1].name, "good-2");
  EXPECT_EQ(r.policies.policies[1].line, 23);
  const Diagnostic* syntax = Find(r, "YAML syntax error");
  ASSERT_NE(syntax, nullptr) << AllDiags(r);
  EXPECT_GE(syntax->line, 12);
  EXPECT_LE(syntax->line, 13);
  const Diagnostic* schema = Find(r, "x_y");
  ASSERT_NE(schema, nullptr) << AllDiags(r);
  EXPECT_EQ(schema->line, 21);
  EXPECT_EQ(schema->path, "a/bad-schema");
  EXPECT_EQ(r.documents, 4);
}

TEST(Parser, KustomizationsAndOtherKindsAreSkipped) {
  LoadedPolicies r = ParseAll(R"(---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: &name network-policies
  namespace: flux-system
spec:
  path: ./x
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
)",
                              "ks.yaml");
  EXPECT_TRUE(r.policies.empty());
  EXPECT_EQ(r.skipped_documents, 2);
  EXPECT_FALSE(r.HasErrors()) << AllDiags(r);
  const Diagnostic* flux = Find(r, "Flux Kustomization 'network-policies' skipped");
  ASSERT_NE(flux, nullptr) << AllDiags(r);
  EXPECT_EQ(flux->severity, Severity::kInfo);
  EXPECT_EQ(flux->line, 2);
  EXPECT_NE(Find(r, "skipped ConfigMap 'cm'"), nullptr);

  LoadedPolicies k = ParseAll("resources:\n  - a.yaml\n", "app/kustomization.yaml");
  EXPECT_EQ(k.skipped_documents, 1);
  EXPECT_NE(Find(k, "kustomize kustomization skipped"), nullptr) << AllDiags(k);
  LoadedPolicies k2 = ParseAll(
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n",
      "kust.yaml");
  EXPECT_EQ(k2.skipped_documents, 1);
}

TEST(Parser, ModelOfACnp) {
  PolicySet set = MustParse(R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  description: web tier
  endpointSelector:
    matchLabels: {app: web}
  enableDefaultDeny: {egress: false}
  ingress:
  - fromEndpoints:
    - matchLabels: {app: lb}
    - matchLabels: {k8s:io.kubernetes.pod.namespace: ops}
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
      rules:
        http: [{method: GET, path: "/"}]
  egress:
  - toFQDNs: [{matchPattern: "*.example.com"}]
  - toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules: {dns: [{matchPattern: "*"}]}
)");
  ASSERT_EQ(set.size(), 1u);
  const Policy& p = set.policies[0];
  EXPECT_EQ(p.kind, PolicyKind::kCiliumNetworkPolicy);
  EXPECT_EQ(p.DisplayName(), "shop/web");
  ASSERT_EQ(p.rules.size(), 1u);
  const Rule& r = p.rules[0];
  EXPECT_EQ(r.spec_index, -1);
  EXPECT_EQ(r.description, "web tier");
  ASSERT_TRUE(r.endpoint_selector.has_value());
  EXPECT_EQ(r.endpoint_selector->ToString(), "{any:app=web, k8s:io.kubernetes.pod.namespace=shop}");
  EXPECT_EQ(r.endpoint_selector->Written().size(), 1u);
  EXPECT_FALSE(r.DefaultDeny(Direction::kEgress));
  EXPECT_TRUE(r.DefaultDeny(Direction::kIngress));
  ASSERT_EQ(r.ingress.size(), 1u);
  const RuleElement& in = r.ingress[0];
  EXPECT_EQ(in.line, 10);
  EXPECT_FALSE(in.peers.wildcard);
  ASSERT_EQ(in.peers.endpoints.size(), 2u);
  EXPECT_EQ(in.peers.endpoints[0].ToString(), "{any:app=lb, k8s:io.kubernetes.pod.namespace=shop}");
  EXPECT_TRUE(in.peers.endpoints[0].requirements[1].implicit);
  EXPECT_EQ(in.peers.endpoints[1].ToString(), "{k8s:io.kubernetes.pod.namespace=ops}");
  EXPECT_TRUE(in.HasL7());
  ASSERT_EQ(in.to_ports.size(), 1u);
  EXPECT_EQ(in.to_ports[0].ports[0].ToString(), "8080/TCP");
  EXPECT_EQ(in.to_ports[0].rules.http[0].method, "GET");
  ASSERT_EQ(r.egress.size(), 2u);
  EXPECT_TRUE(r.egress[0].L3Only());
  EXPECT_EQ(r.egress[0].peers.fqdns[0].ToString(), "matchPattern: *.example.com");
  EXPECT_TRUE(r.egress[1].peers.wildcard);
  EXPECT_TRUE(r.egress[1].HasDnsRule());
  EXPECT_EQ(r.egress[1].to_ports[0].rules.dns[0].match_pattern, "*");
}

TEST(Parser, CcnpScopingAndSpecs) {
  PolicySet set = MustParse(R"(apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: cw}
specs:
- endpointSelector: {}
  egress:
  - toEndpoints: [{}]
  - toEndpoints: [{matchLabels: {"reserved:host": ""}}]
  - toEndpoints:
    - matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: NotIn, values: [a]}]
- endpointSelector: {matchLabels: {"reserved:init": ""}}
  egress:
  - toEndpoints: [{}]
)");
  ASSERT_EQ(set.size(), 1u);
  const Policy& p = set.policies[0];
  EXPECT_TRUE(p.namespace_.empty());
  ASSERT_EQ(p.rules.size(), 2u);
  EXPECT_EQ(p.rules[0].spec_index, 0);
  EXPECT_EQ(p.rules[1].spec_index, 1);
  EXPECT_TRUE(p.rules[0].endpoint_selector->SelectsAll());
  EXPECT_EQ(p.rules[0].egress[0].peers.endpoints[0].ToString(),
            "{k8s:io.kubernetes.pod.namespace Exists}");
  EXPECT_EQ(p.rules[0].egress[1].peers.endpoints[0].ToString(), "{reserved:host=}");
  EXPECT_EQ(p.rules[0].egress[2].peers.endpoints[0].ToString(),
            "{k8s:io.kubernetes.pod.namespace NotIn (a)}");
  EXPECT_TRUE(p.rules[1].egress[0].peers.endpoints[0].SelectsAll());
}

TEST(Parser, KnpTranslation) {
  PolicySet set = MustParse(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: k, namespace: x}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: a}}
      podSelector: {matchLabels: {app: api}}
    - ipBlock: {cidr: 192.168.0.0/16}
    ports:
    - {port: 5432}
    - {port: http, protocol: TCP}
)");
  ASSERT_EQ(set.size(), 1u);
  const Rule& r = set.policies[0].rules[0];
  EXPECT_EQ(r.endpoint_selector->ToString(), "{k8s:app=db, k8s:io.kubernetes.pod.namespace=x}");
  EXPECT_TRUE(r.knp_isolates_egress);
  EXPECT_FALSE(r.knp_isolates_ingress);
  EXPECT_TRUE(r.DefaultDeny(Direction::kEgress));
  ASSERT_EQ(r.ingress.size(), 1u);
  const RuleElement& el = r.ingress[0];
  ASSERT_EQ(el.peers.endpoints.size(), 1u);
  EXPECT_EQ(el.peers.endpoints[0].ToString(),
            "{k8s:io.cilium.k8s.namespace.labels.team=a, k8s:app=api}");
  ASSERT_EQ(el.peers.cidrs.size(), 1u);
  EXPECT_EQ(el.peers.cidrs[0].cidr.text, "192.168.0.0/16");
  ASSERT_EQ(el.to_ports.size(), 1u);
  EXPECT_EQ(el.to_ports[0].ports[0].ToString(), "5432/TCP");
  EXPECT_EQ(el.to_ports[0].ports[1].ToString(), "http/TCP");
}

TEST(Parser, WarningsDoNotExclude) {
  LoadedPolicies r = ParseAll(R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: w, namespace: ns}
spec:
  endpointSelector: {}
  egress:
  - toPorts:
    - ports: [{port: 53, protocol: UDP}]
)");
  EXPECT_EQ(r.policies.size(), 1u);
  const Diagnostic* d = Find(r, "is an integer");
  ASSERT_NE(d, nullptr) << AllDiags(r);
  EXPECT_EQ(d->severity, Severity::kWarning);
  EXPECT_EQ(d->line, 8);
  EXPECT_EQ(d->ToString(),
            "test.yaml:8: warning: ns/w: spec.egress[0].toPorts[0].ports[0].port 53 is "
            "an integer; the CRD declares a string: write \"53\"");
}

TEST(Parser, LoadPoliciesFromDirectories) {
  fs::path dir = fs::path(::testing::TempDir()) / "tw_policy_load";
  fs::remove_all(dir);
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "b.yaml") << "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n"
                                   "metadata: {name: b, namespace: n}\nspec:\n"
                                   "  endpointSelector: {}\n  egress: [{}]\n";
  std::ofstream(dir / "sub" / "a.yml") << "apiVersion: cilium.io/v2\nkind: "
                                          "CiliumClusterwideNetworkPolicy\nmetadata: {name: a}\n"
                                          "spec:\n  endpointSelector: {}\n  ingress: [{}]\n";
  std::ofstream(dir / "notes.txt") << "not yaml";
  auto r = LoadPolicies({dir.string()});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->files.size(), 2u);
  ASSERT_EQ(r->policies.size(), 2u);
  EXPECT_EQ(r->policies.policies[0].name, "b");  // sorted by path: b.yaml < sub/a.yml
  EXPECT_EQ(r->policies.policies[1].file, (dir / "sub" / "a.yml").string());
  auto missing = LoadPolicies({(dir / "nope.yaml").string()});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(missing.status().message()).find("nope.yaml"), std::string::npos);
  fs::remove_all(dir);
}

TEST(Labels, ParseLabelAndPrefixes) {
  Label l = ParseLabel("k8s:app.kubernetes.io/name=web");
  EXPECT_EQ(l.source, "k8s");
  EXPECT_EQ(l.key, "app.kubernetes.io/name");
  EXPECT_EQ(l.value, "web");
  l = ParseLabel("reserved:world");
  EXPECT_EQ(l.source, "reserved");
  EXPECT_EQ(l.key, "world");
  EXPECT_EQ(l.value, "");
  l = ParseLabel("cidr:10.0.0.0/8");
  EXPECT_EQ(l.source, "cidr");
  l = ParseLabel("app=x:y");
  EXPECT_EQ(l.source, "unspec");
  EXPECT_EQ(l.value, "x:y");

  auto p = ParsePrefix("10.0.0.0/8");
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->Contains(*ParsePrefix("10.255.1.1")));
  EXPECT_FALSE(p->Contains(*ParsePrefix("11.0.0.1")));
  auto v6 = ParsePrefix("fd00::/8");
  ASSERT_TRUE(v6.has_value());
  EXPECT_TRUE(v6->Contains(*ParsePrefix("fd12:3456::1")));
  EXPECT_FALSE(v6->Contains(*ParsePrefix("10.0.0.1")));
  EXPECT_TRUE(ParsePrefix("::ffff:1.2.3.4").has_value());
  EXPECT_FALSE(ParsePrefix("10.0.0.256").has_value());
  EXPECT_FALSE(ParsePrefix("10.0.0.0/33").has_value());
}

}  // namespace
}  // namespace tw::policy::testing

namespace tw::policy::testing {
namespace {

// A duplicate key used to be ignored (yaml-cpp returns the first): a second `ingress:`
// silently dropped rules the author meant.
TEST(ParserYamlTree, DuplicateKeysAreErrorsUnderThePolicyName) {
  LoadedPolicies r = ParsePolicyText(R"(---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  endpointSelector: {}
  ingress: [{fromEntities: [world]}]
  ingress: [{fromEntities: [cluster]}]
)",
                                     "dup.yaml");
  const Diagnostic* d = Find(r, "duplicate key");
  ASSERT_NE(d, nullptr) << AllDiags(r);
  EXPECT_EQ(d->severity, Severity::kError);
  EXPECT_EQ(d->line, 8);
  EXPECT_EQ(d->path, "ns/p");
  EXPECT_EQ(d->message, "spec.ingress: duplicate key (first given at line 7)");
  EXPECT_TRUE(r.policies.policies.empty());
  EXPECT_EQ(r.rejected.size(), 1u);
}

TEST(ParserYamlTree, DuplicateKeysInANonPolicyDocumentAreReported) {
  LoadedPolicies r = ParsePolicyText("apiVersion: v1\nkind: ConfigMap\nkind: Secret\n", "cm.yaml");
  const Diagnostic* d = Find(r, "kind: duplicate key (first given at line 2)");
  ASSERT_NE(d, nullptr) << AllDiags(r);
  EXPECT_EQ(d->line, 3);
}

// The probe's 14 KB policy made of aliases took lint to 2 GB and 60 s.
TEST(ParserYamlTree, AliasBombIsRefusedAtItsLine) {
  std::string y =
      "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: "
      "ns}\nx0: &x0 [{port: \"80\"}]\n";
  for (int i = 1; i <= 9; ++i) {
    y += "x" + std::to_string(i) + ": &x" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) y += std::string(j ? "," : "") + "*x" + std::to_string(i - 1);
    y += "]\n";
  }
  y += "spec:\n  endpointSelector: {}\n  egress: [{toPorts: [{ports: *x9}]}]\n";
  LoadedPolicies r = ParsePolicyText("---\n" + y + "---\n" + y, "bomb.yaml");
  std::vector<const Diagnostic*> bombs;
  for (const auto& d : r.diagnostics) {
    if (d.message.find("expands to more than 100000 YAML nodes") != std::string::npos) {
      bombs.push_back(&d);
    }
  }
  ASSERT_EQ(bombs.size(), 2u) << AllDiags(r);
  EXPECT_EQ(bombs[0]->severity, Severity::kError);
  EXPECT_EQ(bombs[0]->file, "bomb.yaml");
  EXPECT_GT(bombs[0]->line, 1);
  EXPECT_GT(bombs[1]->line, bombs[0]->line + 10);  // each document at its own lines
  EXPECT_TRUE(r.policies.policies.empty());
}

}  // namespace
}  // namespace tw::policy::testing
