// Table-driven semantic tests of the evaluator. Each table reproduces a documented Cilium
// behaviour; the citation names the doc section, example file or upstream test it comes from
// (see docs/policy-engine.md and shared/reference/cilium-policy.md for the sources).
#include "policy/evaluator.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "policy/parser.h"
#include "policy_test_util.h"

namespace tw::policy::testing {
namespace {

using flow::Protocol;

struct Case {
  std::string what;
  Ep src;
  Ep dst;
  Query q;
  Decision want;
  uint32_t reason = 0;  // drop reason when DENIED
};

Query Tcp(uint16_t port) {
  Query q;
  q.protocol = Protocol::kTCP;
  q.port = port;
  return q;
}
Query Udp(uint16_t port) {
  Query q;
  q.protocol = Protocol::kUDP;
  q.port = port;
  return q;
}
Query Sctp(uint16_t port) {
  Query q;
  q.protocol = Protocol::kSCTP;
  q.port = port;
  return q;
}
Query Icmp(uint8_t type, bool v6 = false) {
  Query q;
  q.protocol = v6 ? Protocol::kICMPv6 : Protocol::kICMPv4;
  q.port = 0;
  q.icmp_type = type;
  return q;
}
Query TcpTo(uint16_t port, std::vector<std::string> names) {
  Query q = Tcp(port);
  q.names = std::move(names);
  return q;
}

constexpr Decision A = Decision::kAllowed;
constexpr Decision D = Decision::kDenied;
constexpr uint32_t k133 = flow::kDropPolicyDenied;
constexpr uint32_t k181 = flow::kDropPolicyDeny;

void RunTable(const std::string& citation, const std::string& yaml, const std::vector<Case>& cases,
              EvaluatorOptions opts = {}) {
  PolicySet set = MustParse(yaml);
  for (const Case& c : cases) {
    SCOPED_TRACE(citation + " — " + c.what);
    Evaluation v = Check(set, c.src, c.dst, c.q, opts);
    EXPECT_EQ(DecisionName(v.decision), DecisionName(c.want))
        << "egress=" << DecisionName(v.egress.decision)
        << " ingress=" << DecisionName(v.ingress.decision) << " reason=" << v.undecided_reason;
    if (c.want == Decision::kDenied) {
      EXPECT_EQ(v.drop_reason, c.reason);
    } else {
      EXPECT_EQ(v.drop_reason, 0u);
    }
  }
}

const Ep kFrontend = Pod("default", {"app=frontend"});
const Ep kBackend = Pod("default", {"app=backend"});
const Ep kOther = Pod("default", {"app=other"});
const Ep kOtherNs = Pod("other", {"app=frontend"});

// --- intro.rst "Endpoint default policy" ------------------------------------------------

TEST(Semantics, NoPolicyMeansAllowedAndNotEnforced) {
  // intro.rst: "Without such a rule, all traffic in that direction is allowed."
  PolicySet empty;
  Evaluation v = Check(empty, kFrontend, kBackend, Protocol::kTCP, 80);
  EXPECT_EQ(v.decision, Decision::kAllowed);
  EXPECT_FALSE(v.egress.enforced);
  EXPECT_FALSE(v.ingress.enforced);
}

TEST(Semantics, Layer3IngressFromEndpoints) {
  // layer3.rst "Endpoints Based" (examples/policies/l3/simple/l3.yaml): backend accepts
  // only frontend; the rule has an ingress section, so backend is ingress default-deny.
  RunTable("layer3.rst Endpoints Based / l3.yaml", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: l3-rule, namespace: default}
spec:
  endpointSelector:
    matchLabels: {role: backend, app: backend}
  ingress:
  - fromEndpoints:
    - matchLabels: {app: frontend}
)",
           {
               {"selected frontend", kFrontend, Pod("default", {"app=backend", "role=backend"}),
                Tcp(80), A},
               {"L3-only allows every port", kFrontend,
                Pod("default", {"app=backend", "role=backend"}), Udp(5353), A},
               {"L3-only allows ICMP", kFrontend, Pod("default", {"app=backend", "role=backend"}),
                Icmp(8), A},
               {"other pod dropped", kOther, Pod("default", {"app=backend", "role=backend"}),
                Tcp(80), D, k133},
               {"frontend of another namespace dropped (CNP peer scoped to its namespace)",
                kOtherNs, Pod("default", {"app=backend", "role=backend"}), Tcp(80), D, k133},
               {"egress of backend is not enforced",
                Pod("default", {"app=backend", "role=backend"}), kOther, Tcp(80), A},
               {"pod lacking role label is not selected", kOther, kBackend, Tcp(80), A},
           });
}

TEST(Semantics, EmptyIngressElementDeniesEverything) {
  // distillery_test.go rule____NoAllow = ingress [{}]: default-deny, nothing allowed;
  // cilium-policy.md §2.2. allow-localhost=always still admits the local host.
  RunTable("distillery_test rule____NoAllow", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny-ingress, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - {}
)",
           {
               {"pod to backend", kFrontend, kBackend, Tcp(80), D, k133},
               {"world to backend", World(), kBackend, Tcp(80), D, k133},
               {"remote node to backend", RemoteNode(), kBackend, Tcp(10250), D, k133},
               {"local host (kubelet probes) allowed: allow-localhost=always", Host(), kBackend,
                Tcp(8080), A},
               {"backend egress not enforced", kBackend, World(), Tcp(443), A},
           });
}

TEST(Semantics, AllowLocalhostPolicyModeDropsHost) {
  // intro.rst/daemon: --allow-localhost=policy disables the automatic host allow.
  EvaluatorOptions opts;
  opts.allow_localhost = false;
  RunTable("allow-localhost=policy", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny-ingress, namespace: default}
spec:
  endpointSelector: {}
  ingress:
  - {}
)",
           {{"host dropped", Host(), kBackend, Tcp(8080), D, k133}}, opts);
}

TEST(Semantics, EmptyEgressElementDeniesAllEgressIncludingDns) {
  // examples/policies/l3/egress-default-deny/egress-default-deny.yaml and cilium-cli
  // all_egress_deny.go: egress [{}] drops every pod's egress with POLICY_DENIED (133).
  RunTable("cilium-cli all_egress_deny.go / egress-default-deny.yaml", R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: all-egress-deny}
spec:
  endpointSelector: {}
  egress:
  - {}
)",
           {
               {"pod to pod", kFrontend, kBackend, Tcp(80), D, k133},
               {"pod to kube-dns", kFrontend, Pod("kube-system", {"k8s-app=kube-dns"}), Udp(53), D,
                k133},
               {"pod to world", kFrontend, World(), Tcp(443), D, k133},
               {"pod to local host (no localhost exception on egress)", kFrontend, Host(),
                Tcp(10250), D, k133},
               {"host to pod: host is never a subject and pod ingress not enforced", Host(),
                kBackend, Tcp(80), A},
           });
}

TEST(Semantics, EnableDefaultDenyFalseLeavesDirectionOpen) {
  // intro.rst "enableDefaultDeny" / repository_test TestDefaultAllow: a rule with
  // enableDefaultDeny false adds its allows but leaves everything else allowed.
  RunTable("intro.rst enableDefaultDeny / TestDefaultAllow", R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: intercept-all-dns}
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false, ingress: false}
  egress:
  - toEndpoints:
    - matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules:
        dns: [{matchPattern: "*"}]
)",
           {
               {"dns allowed", kFrontend, Pod("kube-system", {"k8s-app=kube-dns"}), Udp(53), A},
               {"anything else still allowed", kFrontend, World(), Tcp(443), A},
           });
  PolicySet set = MustParse(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: open}
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false}
  egress:
  - toEntities: [world]
)");
  Evaluation v = Check(set, kFrontend, kBackend);
  EXPECT_TRUE(v.egress.enforced);
  EXPECT_FALSE(v.egress.default_deny);
  EXPECT_TRUE(v.egress.default_deny_by.empty());
}

TEST(Semantics, AnyDefaultDenyRuleWins) {
  // rule.go EnableDefaultDeny comment: "that endpoint's default deny will be enabled if any
  // policy requests it".
  RunTable(
      "rule.go EnableDefaultDeny", R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: open-dns}
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false}
  egress:
  - toEntities: [world]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: strict, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: frontend}}
  egress:
  - toEndpoints: [{matchLabels: {app: backend}}]
)",
      {
          {"frontend to backend allowed by strict", kFrontend, kBackend, Tcp(80), A},
          {"frontend to world allowed by open-dns", kFrontend, World(), Tcp(443), A},
          {"frontend to other pod: default-deny from strict", kFrontend, kOther, Tcp(80), D, k133},
          {"other pods keep open egress", kOther, kBackend, Tcp(80), A},
      });
}

TEST(Semantics, EnableDefaultDenyFalseStillAppliesDenyRules) {
  // intro.rst: non-default-deny rules still contribute deny entries (deny.rst precedence).
  RunTable("intro.rst enableDefaultDeny + deny.rst", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny-81, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  enableDefaultDeny: {ingress: false}
  ingressDeny:
  - toPorts:
    - ports: [{port: "81", protocol: TCP}]
)",
           {
               {"81 denied", kFrontend, kBackend, Tcp(81), D, k181},
               {"80 open", kFrontend, kBackend, Tcp(80), A},
           });
}

TEST(Semantics, DenyOnlyPolicyAlsoTurnsOnDefaultDeny) {
  // cilium-policy.md §2.2: len(IngressDeny) > 0 counts for default-deny.
  RunTable("rule_validation.go Sanitize (ingressDeny counts)", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny-world, namespace: default}
spec:
  endpointSelector: {}
  ingressDeny:
  - fromEntities: [world]
)",
           {
               {"world denied by the deny rule", World(), kBackend, Tcp(80), D, k181},
               {"pods dropped by default-deny", kFrontend, kBackend, Tcp(80), D, k133},
           });
}

TEST(Semantics, FromWorldDenyPairedWithAllowAll) {
  // examples/policies/l3/entities/from_world_deny.yaml: ingressDeny world + ingress all.
  RunTable("examples/policies/l3/entities/from_world_deny.yaml", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: from-world-deny, namespace: default}
spec:
  endpointSelector: {}
  ingressDeny:
  - fromEntities: [world]
  ingress:
  - fromEntities: [all]
)",
           {
               {"world denied", World(), kBackend, Tcp(80), D, k181},
               {"pod allowed", kFrontend, kBackend, Tcp(80), A},
               {"remote node allowed", RemoteNode(), kBackend, Tcp(80), A},
           });
}

TEST(Semantics, DenyRstTable) {
  // deny.rst worked table: L3 allow for the client plus L4 allows, then an L4 deny on
  // 80/TCP: curl :80 is blocked, :81 and ping still work.
  RunTable("deny.rst L4 deny table", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: allow-client, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: frontend}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny-80, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingressDeny:
  - fromEndpoints: [{matchLabels: {app: frontend}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
)",
           {
               {"curl :80 denied", kFrontend, kBackend, Tcp(80), D, k181},
               {"curl :81 allowed", kFrontend, kBackend, Tcp(81), A},
               {"ping allowed", kFrontend, kBackend, Icmp(8), A},
               {"UDP 80 allowed (deny is TCP only)", kFrontend, kBackend, Udp(80), A},
           });
  RunTable("deny.rst L3 deny", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: allow-all-l4, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - toPorts:
    - ports: [{port: "80", protocol: TCP}]
  ingressDeny:
  - fromEndpoints: [{matchLabels: {app: frontend}}]
)",
           {
               {"client blocked on every port", kFrontend, kBackend, Tcp(80), D, k181},
               {"client ping blocked", kFrontend, kBackend, Icmp(8), D, k181},
               {"others allowed on 80", kOther, kBackend, Tcp(80), A},
           });
}

TEST(Semantics, KubeApiserverDenyTxtar) {
  // pkg/policy/test/testdata/kube-apiserver-deny.txtar: toEntities all + egressDeny
  // kube-apiserver -> apiserver:443 denied, world:80 allowed.
  RunTable("kube-apiserver-deny.txtar", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: allow-all-but-apiserver, namespace: default}
spec:
  endpointSelector: {}
  egress:
  - toEntities: [all]
  egressDeny:
  - toEntities: [kube-apiserver]
)",
           {
               {"apiserver 443 denied", kFrontend, KubeApiserver(), Tcp(443), D, k181},
               {"world 80 allowed", kFrontend, World(), Tcp(80), A},
               {"plain remote node allowed", kFrontend, RemoteNode(), Tcp(10250), A},
           });
}

// --- Namespace scoping (cilium-policy.md §3, utils.go getEndpointSelector) --------------

TEST(Semantics, CnpEmptyPeerSelectorMeansOwnNamespace) {
  // layer3.rst "Egress Allow All Endpoints": an empty EndpointSelector selects all egress
  // endpoints "based on the CiliumNetworkPolicy namespace".
  RunTable("layer3.rst Egress Allow All Endpoints", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: allow-all-to-victim, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: frontend}}
  egress:
  - toEndpoints: [{}]
)",
           {
               {"same namespace allowed", kFrontend, kBackend, Tcp(80), A},
               {"other namespace dropped", kFrontend, Pod("other", {"app=x"}), Tcp(80), D, k133},
               {"world dropped", kFrontend, World(), Tcp(443), D, k133},
               {"host dropped", kFrontend, Host(), Tcp(443), D, k133},
           });
}

TEST(Semantics, CcnpEmptyPeerSelectorMeansAllPodsOnly) {
  // examples/policies/kubernetes/clusterwide/wildcard-from-endpoints.yaml and commit
  // 905b8d41d0: CCNP {} peers get k8s:io.kubernetes.pod.namespace Exists.
  RunTable("clusterwide/wildcard-from-endpoints.yaml", R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: wildcard-from-endpoints}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints: [{}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
)",
           {
               {"pod of same namespace", kFrontend, kBackend, Tcp(80), A},
               {"pod of another namespace", kOtherNs, kBackend, Tcp(80), A},
               {"world is not a pod", World(), kBackend, Tcp(80), D, k133},
               {"remote node is not a pod", RemoteNode(), kBackend, Tcp(80), D, k133},
               {"health is not a pod", Health(), kBackend, Tcp(80), D, k133},
           });
}

TEST(Semantics, CnpPeerWithExplicitNamespace) {
  // kubernetes.rst "Namespaces" (namespace-policy examples): a peer naming
  // k8s:io.kubernetes.pod.namespace reaches across namespaces.
  RunTable("kubernetes.rst Namespaces", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: from-ops, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints:
    - matchLabels: {k8s:io.kubernetes.pod.namespace: ops}
)",
           {
               {"ops pod allowed", Pod("ops", {"app=agent"}), kBackend, Tcp(80), A},
               {"default pod dropped", kFrontend, kBackend, Tcp(80), D, k133},
           });
}

TEST(Semantics, CnpPeerWithNamespaceLabelsIsNotScoped) {
  // namespace-label-limits.txtar / commit b35017b01c: io.cilium.k8s.namespace.labels keys in
  // a CNP peer are honoured and suppress the implicit namespace.
  RunTable(
      "namespace-label-limits.txtar", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: from-team-a, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints:
    - matchLabels: {k8s:io.cilium.k8s.namespace.labels.team: a}
)",
      {
          {"pod in a team-a namespace", Pod("ns1", {"app=x"}, {"team=a"}), kBackend, Tcp(80), A},
          {"pod in a team-b namespace", Pod("ns2", {"app=x"}, {"team=b"}), kBackend, Tcp(80), D,
           k133},
      });
}

TEST(Semantics, CnpPeerWithReservedKeyIsNotScoped) {
  // utils.go getEndpointSelector: selectors with a reserved: key get no namespace.
  RunTable("utils.go getEndpointSelector reserved", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: from-host, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints:
    - matchLabels: {"reserved:remote-node": ""}
)",
           {
               {"remote node allowed", RemoteNode(), kBackend, Tcp(80), A},
               {"pod dropped", kFrontend, kBackend, Tcp(80), D, k133},
           });
}

TEST(Semantics, CcnpSubjectSelectsHealthAndIngressEndpoints) {
  // PR #12199 and servicemesh default-deny-ingress-policy.rst: a CCNP {} or NotIn subject
  // also selects the reserved health and ingress endpoints (NotIn holds on absent keys).
  RunTable("PR #12199 / default-deny-ingress-policy.rst", R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: default-deny}
spec:
  endpointSelector:
    matchExpressions:
    - {key: k8s:io.kubernetes.pod.namespace, operator: NotIn, values: [kube-system]}
  ingress:
  - {}
)",
           {
               {"remote node to health dropped", RemoteNode(), Health(), Tcp(4240), D, k133},
               {"world to Cilium ingress dropped", World(), IngressEp(), Tcp(80), D, k133},
               {"kube-system pod untouched", kFrontend, Pod("kube-system", {"app=x"}), Tcp(80), A},
           });
}

TEST(Semantics, CnpSubjectNeverSelectsReservedEndpoints) {
  // utils.go ParseToCiliumRule: a CNP subject always gets its namespace.
  RunTable("utils.go ParseToCiliumRule", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: all-in-ns, namespace: default}
spec:
  endpointSelector: {}
  ingress:
  - {}
)",
           {
               {"health untouched", RemoteNode(), Health(), Tcp(4240), A},
               {"pod of default selected", kFrontend, kBackend, Tcp(80), D, k133},
               {"pod of other namespace untouched", kFrontend, kOtherNs, Tcp(80), A},
           });
}

TEST(Semantics, HostIsNeverSelectedByEndpointSelector) {
  // rule.go matchesSubject: only nodeSelector selects the host; tierwatch assumes no host
  // firewall, so host policies are not enforced either.
  RunTable("rule.go matchesSubject (no host firewall)", R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: all}
spec:
  endpointSelector: {}
  ingress:
  - {}
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: host-fw}
spec:
  nodeSelector: {}
  ingress:
  - {}
)",
           {
               {"pod to host allowed", kFrontend, Host(), Tcp(10250), A},
               {"pod to remote node allowed", kFrontend, RemoteNode(), Tcp(10250), A},
           });
}

TEST(Semantics, LabelSources) {
  // selector.go Sanitize: unprefixed keys become any:; any: matches every source (array.go
  // Get); k8s: only k8s; `reserved: health` is any:reserved=health and matches nothing
  // (issue #14871), `reserved:health: ""` selects the health endpoint.
  RunTable(
      "labels array.go / issue #14871", R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: sources}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints: [{matchLabels: {k8s:role: a}}]
  - fromEndpoints: [{matchLabels: {role: b}}]
  - fromEndpoints: [{matchLabels: {container:role: c}}]
  - fromEndpoints: [{matchLabels: {reserved: health}}]
  - fromEndpoints: [{matchLabels: {"reserved:remote-node": ""}}]
)",
      {
          {"k8s:role=a via k8s: key", Pod("x", {"role=a"}), kBackend, Tcp(80), A},
          {"k8s:role=b via unprefixed (any:) key", Pod("x", {"role=b"}), kBackend, Tcp(80), A},
          {"k8s:role=c does not match container:role", Pod("x", {"role=c"}), kBackend, Tcp(80), D,
           k133},
          {"reserved: health matches nothing", Health(), kBackend, Tcp(80), D, k133},
          {"reserved:remote-node key selects remote nodes", RemoteNode(), kBackend, Tcp(80), A},
      });
}

TEST(Semantics, MatchExpressionsOperators) {
  // examples/policies/l3/match-expressions (and/or) and k8s selector semantics.
  RunTable("l3/match-expressions", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: exprs, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints:
    - matchExpressions:
      - {key: tier, operator: In, values: [web, api]}
      - {key: env, operator: NotIn, values: [dev]}
      - {key: team, operator: Exists}
      - {key: legacy, operator: DoesNotExist}
)",
           {
               {"all four hold", Pod("default", {"tier=web", "env=prod", "team=x"}), kBackend,
                Tcp(80), A},
               {"NotIn holds when env is absent", Pod("default", {"tier=api", "team=x"}), kBackend,
                Tcp(80), A},
               {"In fails", Pod("default", {"tier=db", "team=x"}), kBackend, Tcp(80), D, k133},
               {"NotIn fails", Pod("default", {"tier=web", "env=dev", "team=x"}), kBackend, Tcp(80),
                D, k133},
               {"Exists fails", Pod("default", {"tier=web"}), kBackend, Tcp(80), D, k133},
               {"DoesNotExist fails", Pod("default", {"tier=web", "team=x", "legacy=y"}), kBackend,
                Tcp(80), D, k133},
           });
}

TEST(Semantics, InitIdentityIsDefaultDeny) {
  // repository.go computePolicyEnforcementAndRules: reserved:init is enforced default-deny
  // in both directions even without rules; examples/policies/l4/init.yaml allows it.
  RunTable("repository.go init / l4/init.yaml", "",
           {
               {"init egress dropped without policy", Init(), World(), Udp(53), D, k133},
               {"ingress to init dropped", kFrontend, Init(), Tcp(80), D, k133},
           });
  RunTable("examples/policies/l4/init.yaml", R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: init}
spec:
  endpointSelector:
    matchLabels: {"reserved:init": ""}
  egress:
  - toEntities: [all]
    toPorts:
    - ports: [{port: "53", protocol: UDP}]
)",
           {
               {"init DNS allowed", Init(), World(), Udp(53), A},
               {"init other egress dropped", Init(), World(), Tcp(443), D, k133},
           });
}

TEST(Semantics, InitSubjectPeersAreNotNamespaceScoped) {
  // utils.go: a CCNP whose subject names reserved:init gets no namespace Exists on peers.
  PolicySet set = MustParse(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: init-peers}
spec:
  endpointSelector:
    matchLabels: {"reserved:init": ""}
  egress:
  - toEndpoints: [{}]
)");
  ASSERT_EQ(set.size(), 1u);
  EXPECT_TRUE(set.policies[0].rules[0].egress[0].peers.endpoints[0].SelectsAll());
  EXPECT_EQ(Check(set, Init(), World(), Protocol::kTCP, 443).decision, Decision::kAllowed);
}

// --- Peer fields (cilium-policy.md §1.1) -----------------------------------------------

TEST(Semantics, EmptyVersusOmittedPeerList) {
  // ingress.go comment: "an empty non-nil FromEndpoints does not select anything, nil
  // FromEndpoints is implicitly treated as a wildcard selector if ToPorts are also specified".
  RunTable("ingress.go FromEndpoints nil vs empty", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: empty-vs-nil, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints: []
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
  - toPorts:
    - ports: [{port: "81", protocol: TCP}]
)",
           {
               {"[] selects nothing", kFrontend, kBackend, Tcp(80), D, k133},
               {"omitted + toPorts is a wildcard (pods)", kFrontend, kBackend, Tcp(81), A},
               {"omitted + toPorts is a wildcard (world too)", World(), kBackend, Tcp(81), A},
           });
}

TEST(Semantics, PortRuleWithoutPortsAllowsNothing) {
  // rule.go mergeL4Filter iterates GetPortProtocols(): toPorts: [{}] adds no allow.
  RunTable("rule.go mergeL4Filter (no ports)", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: no-ports, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: frontend}}]
    toPorts:
    - {}
)",
           {{"nothing allowed", kFrontend, kBackend, Tcp(80), D, k133}});
}

TEST(Semantics, Entities) {
  // layer3.rst "Entities Based" / entity.go: each entity maps to reserved labels; cluster is
  // every in-cluster identity; all is the wildcard; none selects nothing.
  std::string base = R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: ENTITY, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: frontend}}
  egress:
  - toEntities: [ENTITY]
)";
  auto with = [&](const std::string& e) {
    std::string y = base;
    for (size_t p; (p = y.find("ENTITY")) != std::string::npos;) y.replace(p, 6, e);
    return y;
  };
  RunTable("layer3.rst Entities world", with("world"),
           {{"world", kFrontend, World(), Tcp(443), A},
            {"pod", kFrontend, kBackend, Tcp(80), D, k133},
            {"cidr identity with world label", kFrontend,
             [] {
               Ep e;
               e.labels = {"cidr:1.1.1.1/32", "reserved:world"};
               e.identity = 16777217;
               e.ip = "1.1.1.1";
               return e;
             }(),
             Udp(53), A}});
  RunTable("layer3.rst Entities cluster", with("cluster"),
           {{"pod", kFrontend, kOtherNs, Tcp(80), A},
            {"host", kFrontend, Host(), Tcp(10250), A},
            {"remote-node", kFrontend, RemoteNode(), Tcp(10250), A},
            {"kube-apiserver", kFrontend, KubeApiserver(), Tcp(6443), A},
            {"health", kFrontend, Health(), Tcp(4240), A},
            {"world", kFrontend, World(), Tcp(443), D, k133}});
  RunTable("layer3.rst Entities all", with("all"),
           {{"world", kFrontend, World(), Tcp(443), A}, {"pod", kFrontend, kBackend, Icmp(8), A}});
  RunTable("entity.go none", with("none"), {{"pod", kFrontend, kBackend, Tcp(80), D, k133}});
  RunTable("layer3.rst Entities host", with("host"),
           {{"host", kFrontend, Host(), Tcp(10250), A},
            {"remote-node", kFrontend, RemoteNode(), Tcp(10250), D, k133}});
  RunTable("layer3.rst Entities remote-node", with("remote-node"),
           {{"remote-node", kFrontend, RemoteNode(), Tcp(10250), A},
            {"host", kFrontend, Host(), Tcp(10250), D, k133}});
  RunTable("layer3.rst Entities kube-apiserver", with("kube-apiserver"),
           {{"apiserver (identity 7)", kFrontend, KubeApiserver(), Tcp(6443), A},
            {"plain remote node", kFrontend, RemoteNode(), Tcp(6443), D, k133}});
  RunTable("entity.go health", with("health"), {{"health", kFrontend, Health(), Tcp(4240), A}});
}

TEST(Semantics, CidrRulesOnlyMatchWorld) {
  // layer3.rst "IP/CIDR based": CIDR rules do not apply to traffic where both sides are
  // managed by Cilium or use a node IP; except removes addresses from its own entry.
  RunTable("layer3.rst CIDR based / cidr.yaml", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: cidr-rule, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: frontend}}
  egress:
  - toCIDR: [20.1.1.1/32]
  - toCIDRSet:
    - cidr: 10.0.0.0/8
      except: [10.96.0.0/12]
)",
           {
               {"world IP in toCIDR", kFrontend, World("20.1.1.1"), Tcp(443), A},
               {"world IP outside", kFrontend, World("20.1.1.2"), Tcp(443), D, k133},
               {"world IP in cidrSet", kFrontend, World("10.1.2.3"), Tcp(443), A},
               {"world IP in except", kFrontend, World("10.96.0.10"), Tcp(443), D, k133},
               {"pod IP inside the CIDR is not matched", kFrontend, kBackend.WithIp("10.0.1.20"),
                Tcp(80), D, k133},
               {"node IP inside the CIDR is not matched", kFrontend,
                RemoteNode().WithIp("10.0.0.5"), Tcp(10250), D, k133},
           });
  RunTable("Test_EnsureEntitiesSelectableByCIDR (0.0.0.0/0 selects world)", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: all-v4, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: frontend}}
  egress:
  - toCIDR: [0.0.0.0/0]
)",
           {{"world without IP", kFrontend, World(""), Tcp(443), A},
            {"ipv6 world not in 0.0.0.0/0", kFrontend, World("2001:db8::1"), Tcp(443), D, k133}});
}

TEST(Semantics, ToFqdns) {
  // layer3.rst "DNS based": matchName exact; in matchPattern * matches within one label;
  // ** prefix (PR #43420) spans labels; bare * matches every name. tierwatch matches the
  // flow's destination_names (what Cilium's DNS proxy learned).
  RunTable(
      "layer3.rst DNS based", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: fqdn, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: frontend}}
  egress:
  - toFQDNs:
    - matchName: api.github.com
    - matchPattern: "*.cilium.io"
    - matchPattern: "**.example.org"
    toPorts:
    - ports: [{port: "443", protocol: TCP}]
)",
      {
          {"matchName", kFrontend, World(), TcpTo(443, {"api.github.com."}), A},
          {"matchName case and dot insensitive", kFrontend, World(), TcpTo(443, {"API.GitHub.com"}),
           A},
          {"one label under *.cilium.io", kFrontend, World(), TcpTo(443, {"sub.cilium.io"}), A},
          {"apex not matched by *.cilium.io", kFrontend, World(), TcpTo(443, {"cilium.io"}), D,
           k133},
          {"two labels not matched by *.cilium.io", kFrontend, World(),
           TcpTo(443, {"a.b.cilium.io"}), D, k133},
          {"** spans labels", kFrontend, World(), TcpTo(443, {"a.b.example.org"}), A},
          {"** needs at least one label", kFrontend, World(), TcpTo(443, {"example.org"}), D, k133},
          {"no destination_names: not matched", kFrontend, World(), Tcp(443), D, k133},
          {"port must match too", kFrontend, World(), TcpTo(80, {"api.github.com"}), D, k133},
          {"a pod reached by name is not an FQDN identity", kFrontend, kBackend,
           TcpTo(443, {"api.github.com"}), D, k133},
      });
  FqdnSelector star;
  star.match_pattern = "*";
  EXPECT_TRUE(star.Matches("anything.example.com"));
  EXPECT_TRUE(star.Matches("localhost"));
  FqdnSelector mid;
  mid.match_pattern = "sub*.cilium.io";
  EXPECT_TRUE(mid.Matches("sub.cilium.io."));
  EXPECT_TRUE(mid.Matches("subdomain.cilium.io"));
  EXPECT_FALSE(mid.Matches("sub.x.cilium.io"));
}

TEST(Semantics, ToServices) {
  // layer3.rst "Services based": decidable when the flow says which service the
  // destination was reached through; otherwise UNDECIDED.
  PolicySet set = MustParse(R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: to-svc, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: frontend}}
  egress:
  - toServices:
    - k8sService: {serviceName: backend, namespace: default}
)");
  Query q = Tcp(80);
  q.service = "backend";
  q.service_ns = "default";
  EXPECT_EQ(Check(set, kFrontend, kBackend, q).decision, Decision::kAllowed);
  Evaluation v = Check(set, kFrontend, kBackend, Tcp(80));
  EXPECT_EQ(v.decision, Decision::kUndecided);
  EXPECT_NE(v.undecided_reason.find("toServices"), std::string::npos) << v.undecided_reason;
}

// --- Ports (cilium-policy.md §1.2) ------------------------------------------------------

TEST(Semantics, PortsAndProtocols) {
  // rule.go mergeL4Filter: ANY = TCP+UDP+SCTP (not ICMP); port 0 = every port;
  // endPort ranges (examples/policies/l4/l4_port_range.yaml); icmps by family and type
  // (examples/policies/l4/icmp.yaml); L3-only covers ICMP (layer4.rst).
  RunTable("rule.go mergeL4Filter / l4_port_range.yaml / icmp.yaml", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: ports, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: frontend}}]
    toPorts:
    - ports:
      - {port: "53", protocol: ANY}
      - {port: "0", protocol: UDP}
      - {port: "8000", endPort: 8100, protocol: TCP}
      - {port: "9000"}
  - fromEndpoints: [{matchLabels: {app: frontend}}]
    icmps:
    - fields:
      - {type: 8, family: IPv4}
      - {type: EchoRequest, family: IPv6}
)",
           {
               {"ANY covers TCP", kFrontend, kBackend, Tcp(53), A},
               {"ANY covers SCTP", kFrontend, kBackend, Sctp(53), A},
               {"port 0 UDP covers every UDP port", kFrontend, kBackend, Udp(31337), A},
               {"range start", kFrontend, kBackend, Tcp(8000), A},
               {"range end", kFrontend, kBackend, Tcp(8100), A},
               {"past the range", kFrontend, kBackend, Tcp(8101), D, k133},
               {"empty protocol is ANY", kFrontend, kBackend, Sctp(9000), A},
               {"ICMP echo v4", kFrontend, kBackend, Icmp(8), A},
               {"ICMP echo reply type not listed", kFrontend, kBackend, Icmp(0), D, k133},
               {"ICMPv6 echo request by name", kFrontend, kBackend, Icmp(128, true), A},
               {"ICMPv6 type 8 is not v4 type 8", kFrontend, kBackend, Icmp(8, true), D, k133},
           });
  RunTable("rule.go ANY excludes ICMP", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: any-port, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - toPorts:
    - ports: [{port: "0", protocol: ANY}]
)",
           {{"TCP any port", kFrontend, kBackend, Tcp(1234), A},
            {"ICMP not covered by port 0/ANY", kFrontend, kBackend, Icmp(8), D, k133}});
}

TEST(Semantics, NamedPortsAreUndecidable) {
  // l4.go PortName: names resolve against container ports, which flows do not carry.
  PolicySet set = MustParse(R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: named, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: frontend}}]
    toPorts:
    - ports: [{port: http-metrics, protocol: TCP}]
)");
  Evaluation v = Check(set, kFrontend, kBackend, Protocol::kTCP, 9090);
  EXPECT_EQ(v.decision, Decision::kUndecided);
  EXPECT_NE(v.undecided_reason.find("named port"), std::string::npos) << v.undecided_reason;
  // A peer the rule does not name is DENIED whatever the port name resolves to.
  EXPECT_EQ(Check(set, kOther, kBackend, Protocol::kTCP, 9090).decision, Decision::kDenied);
  // UDP never matches a TCP named port.
  EXPECT_EQ(Check(set, kFrontend, kBackend, Protocol::kUDP, 9090).decision, Decision::kDenied);
}

// --- Statefulness (cilium-policy.md §7) --------------------------------------------------

TEST(Semantics, RepliesAreNotEvaluated) {
  // bpf_lxc.c: CT_REPLY/CT_RELATED skip policy; cilium-cli all_ingress_deny.go.
  PolicySet set = MustParse(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: deny}
spec:
  endpointSelector: {}
  ingress: [{}]
  egress: [{}]
)");
  Query q = Tcp(80);
  q.is_reply = true;
  Evaluation v = Check(set, kFrontend, kBackend, q);
  EXPECT_EQ(v.decision, Decision::kUndecided);
  EXPECT_EQ(v.undecided_reason, "reply: policy is not applied to replies");
  q.is_reply = false;
  EXPECT_EQ(Check(set, kFrontend, kBackend, q).decision, Decision::kDenied);
}

TEST(Semantics, BothSidesMustAllow) {
  // layer3.rst: "policy must be configured on both sides"; egress at the source is checked
  // first, then ingress at the destination.
  PolicySet set = MustParse(R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: egress-ok, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: frontend}}
  egress:
  - toEndpoints: [{matchLabels: {app: backend}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: ingress-closed, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: other}}]
)");
  Evaluation v = Check(set, kFrontend, kBackend, Protocol::kTCP, 80);
  EXPECT_EQ(v.decision, Decision::kDenied);
  EXPECT_EQ(v.egress.decision, Decision::kAllowed);
  EXPECT_EQ(v.ingress.decision, Decision::kDenied);
  ASSERT_TRUE(v.denied_at.has_value());
  EXPECT_EQ(*v.denied_at, Direction::kIngress);
  EXPECT_EQ(Names(v.egress.allowed_by), std::vector<std::string>{"egress-ok"});
  EXPECT_EQ(Names(v.ingress.default_deny_by), std::vector<std::string>{"ingress-closed"});
}

TEST(Semantics, EnforcementModes) {
  // intro.rst "Policy Enforcement Modes": always = default-deny without rules; never =
  // nothing enforced, deny rules included.
  PolicySet deny = MustParse(R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny, namespace: default}
spec:
  endpointSelector: {}
  ingressDeny:
  - fromEntities: [all]
)");
  EvaluatorOptions never;
  never.enforcement_mode = EvaluatorOptions::EnforcementMode::kNever;
  Query q = Tcp(80);
  EXPECT_EQ(Check(deny, kFrontend, kBackend, q, never).decision, Decision::kAllowed);
  EvaluatorOptions always;
  always.enforcement_mode = EvaluatorOptions::EnforcementMode::kAlways;
  PolicySet none;
  Evaluation v = Check(none, kFrontend, kBackend, q, always);
  EXPECT_EQ(v.decision, Decision::kDenied);
  EXPECT_EQ(v.drop_reason, flow::kDropPolicyDenied);
  EXPECT_TRUE(v.egress.default_deny_by.empty());  // no policy is to blame: the mode is
}

// --- Kubernetes NetworkPolicy (cilium-policy.md §8) --------------------------------------

TEST(Semantics, KnpPodAndNamespaceSelectors) {
  // k8s e2e netpol "should enforce policy to allow traffic from pods within server namespace
  // based on PodSelector" and "...based on NamespaceSelector"; network_policy.go
  // parseNetworkPolicyPeer.
  RunTable(
      "k8s e2e netpol PodSelector/NamespaceSelector", R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client-a, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - podSelector: {matchLabels: {pod: b}}
    - namespaceSelector: {matchLabels: {ns: y}}
    - namespaceSelector: {matchLabels: {ns: z}}
      podSelector: {matchLabels: {pod: c}}
)",
      {
          {"x/b allowed", Pod("x", {"pod=b"}), Pod("x", {"pod=a"}), Tcp(80), A},
          {"y/b allowed by namespaceSelector", Pod("y", {"pod=b"}, {"ns=y"}), Pod("x", {"pod=a"}),
           Tcp(80), A},
          {"z/c allowed (ns AND pod)", Pod("z", {"pod=c"}, {"ns=z"}), Pod("x", {"pod=a"}), Tcp(81),
           A},
          {"z/b dropped", Pod("z", {"pod=b"}, {"ns=z"}), Pod("x", {"pod=a"}), Tcp(80), D, k133},
          {"x/c dropped", Pod("x", {"pod=c"}), Pod("x", {"pod=a"}), Tcp(80), D, k133},
          {"world dropped", World(), Pod("x", {"pod=a"}), Tcp(80), D, k133},
          {"x/b unaffected as destination", Pod("x", {"pod=c"}), Pod("x", {"pod=b"}), Tcp(80), A},
      });
}

TEST(Semantics, KnpEmptyNamespaceSelectorMeansAllPods) {
  // network_policy.go: namespaceSelector {} -> namespace label Exists (pods only).
  RunTable("network_policy.go allowAllNamespacesRequirement", R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: all-ns, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {}
)",
           {{"pod of another ns", Pod("y", {"pod=b"}), Pod("x", {"pod=a"}), Tcp(80), A},
            {"world", World(), Pod("x", {"pod=a"}), Tcp(80), D, k133},
            {"remote node", RemoteNode(), Pod("x", {"pod=a"}), Tcp(80), D, k133}});
}

TEST(Semantics, KnpIpBlockNeverMatchesPods) {
  // cilium#14497/#19601: ipBlock is a CIDR rule; it does not match pod IPs (the upstream
  // e2e "should allow egress access to server in CIDR block" does not hold on Cilium).
  RunTable("cilium#14497 (e2e CIDR block flipped)", R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: cidr, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.0.9.0/24]}
)",
           {
               {"pod IP inside the block dropped", Pod("x", {"pod=a"}),
                Pod("y", {"pod=b"}).WithIp("10.0.1.20"), Tcp(80), D, k133},
               {"external IP inside the block allowed", Pod("x", {"pod=a"}), World("10.200.0.1"),
                Tcp(80), A},
               {"except clause", Pod("x", {"pod=a"}), World("10.0.9.9"), Tcp(80), D, k133},
               {"ingress not isolated (policyTypes Egress)", Pod("y", {"pod=b"}),
                Pod("x", {"pod=a"}), Tcp(80), A},
           });
}

TEST(Semantics, KnpPolicyTypes) {
  // network_policy.go ParseNetworkPolicy: no policyTypes and no rules isolates ingress;
  // policyTypes [Egress] without rules isolates egress only. k8s e2e "should support a
  // 'default-deny-ingress' policy" and "default-deny-all".
  RunTable("k8s e2e default-deny-ingress", R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress, namespace: x}
spec:
  podSelector: {}
)",
           {{"ingress dropped", Pod("x", {"pod=b"}), Pod("x", {"pod=a"}), Tcp(80), D, k133},
            {"egress open", Pod("x", {"pod=a"}), World(), Tcp(80), A}});
  RunTable("k8s e2e default-deny egress", R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
)",
           {{"egress dropped", Pod("x", {"pod=a"}), Pod("y", {"pod=b"}), Tcp(80), D, k133},
            {"ingress open", Pod("y", {"pod=b"}), Pod("x", {"pod=a"}), Tcp(80), A}});
  PolicySet set = MustParse(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
)");
  Evaluation v = Check(set, Pod("x", {"pod=a"}), World(), Protocol::kTCP, 80);
  ASSERT_EQ(v.egress.default_deny_by.size(), 1u);
  EXPECT_EQ(v.egress.default_deny_by[0].rule_index, -1);
  EXPECT_EQ(v.egress.default_deny_by[0].kind(), PolicyKind::kNetworkPolicy);
}

TEST(Semantics, KnpPortsAndEmptyPeers) {
  // network_policy.go parsePorts: protocol defaults to TCP, missing port = every port,
  // endPort ranges; empty/missing from = every source incl. world and host
  // (types.WildcardSelectors). k8s e2e "should allow ingress access on one named port"
  // (named -> undecidable here) and "should support allow-all policy".
  RunTable(
      "network_policy.go parsePorts / e2e allow-all", R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ports, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - ports:
    - port: 80
    - protocol: UDP
    - {port: 30000, endPort: 30100, protocol: SCTP}
)",
      {
          {"80/TCP from world", World(), Pod("x", {"pod=a"}), Tcp(80), A},
          {"80/UDP allowed by the port-less UDP entry", Pod("y"), Pod("x", {"pod=a"}), Udp(80), A},
          {"any UDP port", Pod("y"), Pod("x", {"pod=a"}), Udp(9999), A},
          {"SCTP range", Pod("y"), Pod("x", {"pod=a"}), Sctp(30050), A},
          {"TCP 81 dropped", Pod("y"), Pod("x", {"pod=a"}), Tcp(81), D, k133},
      });
}

TEST(Semantics, KnpAllowAllIngress) {
  // k8s e2e "should support allow-all policy": ingress: [{}].
  RunTable("k8s e2e allow-all", R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all, namespace: x}
spec:
  podSelector: {}
  ingress:
  - {}
)",
           {{"pod", Pod("y"), Pod("x", {"pod=a"}), Tcp(80), A},
            {"world, ICMP", World(), Pod("x", {"pod=a"}), Icmp(8), A}});
}

// --- Attribution -------------------------------------------------------------------------

TEST(Attribution, DefaultDenyByNamesEveryImposingPolicy) {
  // cilium#42044: operators cannot tell which policy put an endpoint into default-deny.
  PolicySet set = MustParse(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: metrics}
spec:
  endpointSelector: {}
  ingress:
  - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: observability}}]
    toPorts: [{ports: [{port: "9090", protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: backend-in, namespace: default}
specs:
- endpointSelector: {matchLabels: {app: other}}
  ingress: [{}]
- endpointSelector: {matchLabels: {app: backend}}
  egress: [{toEntities: [world]}]
  ingress:
  - fromEndpoints: [{matchLabels: {app: nobody}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: open, namespace: default}
spec:
  endpointSelector: {}
  enableDefaultDeny: {ingress: false}
  ingress: [{fromEntities: [world]}]
)");
  Evaluation v = Check(set, kFrontend, kBackend, Protocol::kTCP, 80);
  EXPECT_EQ(v.decision, Decision::kDenied);
  EXPECT_EQ(v.drop_reason, flow::kDropPolicyDenied);
  EXPECT_EQ(v.ingress.drop_reason, flow::kDropPolicyDenied);
  ASSERT_EQ(v.ingress.default_deny_by.size(), 2u);
  EXPECT_EQ(v.ingress.default_deny_by[0].name(), "metrics");
  EXPECT_EQ(v.ingress.default_deny_by[0].Path(), "spec.ingress[0]");
  EXPECT_EQ(v.ingress.default_deny_by[0].kind(), PolicyKind::kCiliumClusterwideNetworkPolicy);
  EXPECT_EQ(v.ingress.default_deny_by[1].name(), "backend-in");
  EXPECT_EQ(v.ingress.default_deny_by[1].namespace_(), "default");
  EXPECT_EQ(v.ingress.default_deny_by[1].spec_index, 1);
  EXPECT_EQ(v.ingress.default_deny_by[1].Path(), "specs[1].ingress[0]");
  EXPECT_EQ(v.ingress.default_deny_by[1].line, 20);
  EXPECT_TRUE(v.ingress.denied_by.empty());
  EXPECT_TRUE(v.ingress.allowed_by.empty());
  EXPECT_FALSE(v.egress.enforced);

  Evaluation w = Check(set, World(), kBackend, Protocol::kTCP, 80);
  EXPECT_EQ(w.decision, Decision::kAllowed);
  ASSERT_EQ(w.ingress.allowed_by.size(), 1u);
  EXPECT_EQ(w.ingress.allowed_by[0].name(), "open");
  EXPECT_EQ(w.ingress.allowed_by[0].file(), "test.yaml");
}

TEST(Attribution, DeniedByPointsAtTheDenyElement) {
  PolicySet set = MustParse(R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: egress-rules, namespace: default}
specs:
- endpointSelector: {matchLabels: {app: frontend}}
  egress:
  - toEntities: [all]
- endpointSelector: {}
  egressDeny:
  - toEntities: [host]
  - toEntities: [world]
    toPorts:
    - ports: [{port: "25", protocol: TCP}]
)");
  Evaluation v = Check(set, kFrontend, World(), Protocol::kTCP, 25);
  EXPECT_EQ(v.decision, Decision::kDenied);
  EXPECT_EQ(v.drop_reason, flow::kDropPolicyDeny);
  ASSERT_TRUE(v.denied_at.has_value());
  EXPECT_EQ(*v.denied_at, Direction::kEgress);
  ASSERT_EQ(v.egress.denied_by.size(), 1u);
  const RuleRef& r = v.egress.denied_by[0];
  EXPECT_EQ(r.name(), "egress-rules");
  EXPECT_EQ(r.spec_index, 1);
  EXPECT_EQ(r.section, Section::kEgressDeny);
  EXPECT_EQ(r.rule_index, 1);
  EXPECT_EQ(r.Path(), "specs[1].egressDeny[1]");
  EXPECT_EQ(r.line, 12);
  // The allow matched too; deny wins and both are reported.
  ASSERT_EQ(v.egress.allowed_by.size(), 1u);
  EXPECT_EQ(v.egress.allowed_by[0].Path(), "specs[0].egress[0]");
  EXPECT_EQ(v.egress.default_deny_by.size(), 2u);
  EXPECT_EQ(Check(set, kFrontend, World(), Protocol::kTCP, 443).decision, Decision::kAllowed);
}

TEST(Attribution, SelectingRulesAndThreadSafeCache) {
  PolicySet set = MustParse(R"(
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: a}
spec:
  endpointSelector: {}
  egress: [{toEntities: [world]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: b, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: frontend}}
  ingress: [{}]
)");
  Evaluator eval(set);
  Ep f = kFrontend;
  EndpointView fv = f.View();
  auto eg = eval.SelectingRules(fv, Direction::kEgress);
  auto in = eval.SelectingRules(fv, Direction::kIngress);
  ASSERT_EQ(eg.size(), 1u);
  EXPECT_EQ(eg[0].policy->name, "a");
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].policy->name, "b");
  // Cached and uncached selection agree on repeated queries.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(eval.SelectingRules(fv, Direction::kIngress).size(), 1u);
    Ep o = Pod("default", {"app=other" + std::to_string(i)});
    EXPECT_TRUE(eval.SelectingRules(o.View(), Direction::kIngress).empty());
  }
}

}  // namespace
}  // namespace tw::policy::testing
