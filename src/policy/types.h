// The Cilium policy model: CiliumNetworkPolicy (CNP), CiliumClusterwideNetworkPolicy (CCNP)
// and Kubernetes NetworkPolicy (KNP), normalised the way the Cilium agent sees them, so that
// the evaluator (evaluator.h), the linter and the simulator reason over one representation.
//
//   tw::policy::LoadedPolicies r = *tw::policy::LoadPolicies({"deploy/network-policies"});
//   for (const tw::policy::Policy& p : r.policies.policies)
//     for (const tw::policy::Rule& rule : p.rules)
//       if (rule.DefaultDeny(tw::policy::Direction::kIngress)) ...
//
// What "normalised" means (docs/policy-engine.md has the sources):
//  - Selector keys carry their label source: "k8s:app", "reserved:health"; a key written
//    without a source becomes "any:<key>" (matches that key from any source). KNP keys get
//    "k8s:" and KNP namespaceSelector keys "k8s:io.cilium.k8s.namespace.labels.<key>".
//  - Implicit namespace scoping is already applied and marked `implicit` on the requirement:
//    a CNP/KNP subject gets k8s:io.kubernetes.pod.namespace=<ns>; CNP peers get the same
//    unless they name the namespace key, a namespace-labels key or a reserved: key; CCNP
//    peers get k8s:io.kubernetes.pod.namespace Exists unless they name the namespace key or
//    a reserved: key, or the rule's subject names reserved:init.
//  - Entities stay entities (Entity); CIDR peers stay CIDRs: they only ever match world /
//    CIDR identities, never pods or nodes.
//  - Every element of ingress/ingressDeny/egress/egressDeny is one RuleElement (Cilium's
//    "one policy entry per element"), with its file:line.
//
// Lines are 1-based (yaml-cpp's 0-based Mark().line + 1). 0 means unknown.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tw::policy {

enum class PolicyKind : uint8_t {
  kCiliumNetworkPolicy = 0,
  kCiliumClusterwideNetworkPolicy = 1,
  kNetworkPolicy = 2,
};
// "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "NetworkPolicy".
absl::string_view PolicyKindName(PolicyKind k);

enum class Direction : uint8_t { kIngress = 0, kEgress = 1 };
absl::string_view DirectionName(Direction d);  // "ingress" / "egress"

enum class Action : uint8_t { kAllow = 0, kDeny = 1 };

// The four rule lists of a spec; KNP ingress/egress map to kIngress/kEgress.
enum class Section : uint8_t { kIngress = 0, kIngressDeny = 1, kEgress = 2, kEgressDeny = 3 };
absl::string_view SectionName(Section s);  // "ingress", "ingressDeny", "egress", "egressDeny"
Direction SectionDirection(Section s);
Action SectionAction(Section s);

struct SourceLocation {
  std::string file;
  int line = 0;  // 1-based; 0 = unknown
};

// ---------------------------------------------------------------------------------------
// Labels and selectors

// One identity label split into its parts: "k8s:app=odoo" -> {k8s, app, odoo};
// "reserved:world" -> {reserved, world, ""}. A label without a source gets source "unspec".
struct Label {
  absl::string_view source;
  absl::string_view key;
  absl::string_view value;
};
Label ParseLabel(absl::string_view s);

enum class SelectorOp : uint8_t { kIn = 0, kNotIn = 1, kExists = 2, kDoesNotExist = 3 };
absl::string_view SelectorOpName(SelectorOp op);  // "In", "NotIn", "Exists", "DoesNotExist"

// One label requirement. matchLabels {k: v} becomes {k In [v]}.
struct Requirement {
  std::string source;  // "k8s", "any", "reserved", ... ("any" matches every source)
  std::string key;     // without the source, e.g. "io.kubernetes.pod.namespace"
  SelectorOp op = SelectorOp::kExists;
  std::vector<std::string> values;  // sorted, unique (In/NotIn)
  // Added by Cilium's implicit scoping, not written by the author.
  bool implicit = false;

  std::string QualifiedKey() const { return source + ":" + key; }  // "k8s:app"
  // k8s selector semantics: NotIn and DoesNotExist hold when the key is absent.
  bool Matches(absl::Span<const Label> labels) const;
  std::string ToString() const;  // "k8s:app In (a,b)", "any:x Exists"
};

// A label selector (endpointSelector, fromEndpoints[i], podSelector, ...): the AND of its
// requirements. No requirements = selects every identity.
struct Selector {
  std::vector<Requirement> requirements;
  int line = 0;

  bool SelectsAll() const { return requirements.empty(); }
  bool Matches(absl::Span<const Label> labels) const;
  // Whether some requirement names this qualified key ("k8s:app") or, when `any_source`,
  // the key from any source (compares Requirement::key only).
  bool HasKey(absl::string_view source, absl::string_view key) const;
  bool HasKeyWithPrefix(absl::string_view source, absl::string_view key_prefix) const;
  bool HasSource(absl::string_view source) const;
  // The requirements the author wrote (without implicit ones).
  std::vector<const Requirement*> Written() const;
  std::string ToString() const;  // "{k8s:app In (a), any:x Exists}" or "{}"
};

// ---------------------------------------------------------------------------------------
// Peers

enum class Entity : uint8_t {
  kAll,
  kWorld,
  kWorldIpv4,
  kWorldIpv6,
  kCluster,
  kClusterMesh,
  kHost,
  kRemoteNode,
  kKubeApiserver,
  kIngress,
  kHealth,
  kInit,
  kUnmanaged,
  kNone,
};
absl::string_view EntityName(Entity e);  // as written in policies: "kube-apiserver", ...
std::optional<Entity> EntityFromName(absl::string_view name);

// An IPv4 or IPv6 prefix. Parsed once so matching is integer arithmetic.
struct Prefix {
  bool v6 = false;
  uint8_t bits = 0;
  uint8_t addr[16] = {};  // network byte order; v4 uses the first 4 bytes
  std::string text;       // as written

  bool Contains(const Prefix& ip) const;  // ip: a host prefix (/32, /128) or any prefix
};
// "10.0.0.0/8", "10.1.2.3" (host), "fd00::/64". Error text says what is wrong.
std::optional<Prefix> ParsePrefix(absl::string_view s, std::string* error = nullptr);

struct CidrRule {
  Prefix cidr;
  std::vector<Prefix> except;
  // cidrGroupRef / cidrGroupSelector: CiliumCIDRGroup objects are not read, so such a rule
  // is undecidable.
  std::string cidr_group_ref;
  bool cidr_group_selector = false;
  int line = 0;
};

// toFQDNs / DNS L7 rule matcher. matchName is exact (case-insensitive, trailing dot
// optional); in matchPattern `*` matches zero or more DNS characters within one label,
// a bare `*` matches every name, and a leading `**.` matches one or more labels.
struct FqdnSelector {
  std::string match_name;
  std::string match_pattern;
  int line = 0;

  bool Matches(absl::string_view dns_name) const;
  std::string ToString() const;  // "matchName: x" / "matchPattern: *.x"
};

// toServices entry.
struct ServiceSelector {
  std::string service_name;          // k8sService.serviceName
  std::string namespace_;            // k8sService.namespace / k8sServiceSelector.namespace
  std::optional<Selector> selector;  // k8sServiceSelector.selector (service labels)
  int line = 0;
};

enum class PeerField : uint8_t {
  kEndpoints,  // fromEndpoints/toEndpoints, KNP podSelector/namespaceSelector
  kEntities,
  kCidr,  // fromCIDR/toCIDR
  kCidrSet,
  kFqdn,
  kServices,
  kNodes,
  kGroups,
  kRequires,  // fromRequires/toRequires (deprecated, not evaluated)
  kIpBlock,   // KNP
};
absl::string_view PeerFieldName(PeerField k);  // the YAML field, direction-neutral: "Endpoints"

// The L3 part of an element. Cilium's distinction matters:
//  - no L3 field written and toPorts/icmps present: every peer (wildcard);
//  - an L3 field written as an empty list (`fromEndpoints: []`): no peer at all;
//  - `fromEndpoints: [{}]`: every endpoint of the scope (namespace for CNP, all pods for
//    CCNP — never host/world, see Selector scoping above).
struct PeerSet {
  bool wildcard = false;         // matches every identity (see above; KNP empty from/to)
  std::vector<PeerField> kinds;  // fields written, in order (parser rejects >1 for Cilium)
  std::vector<Selector> endpoints;
  std::vector<Entity> entities;
  std::vector<CidrRule> cidrs;  // fromCIDR, fromCIDRSet, KNP ipBlock
  std::vector<FqdnSelector> fqdns;
  std::vector<ServiceSelector> services;
  std::vector<Selector> nodes;         // fromNodes/toNodes (node labels)
  bool groups = false;                 // toGroups/fromGroups: cloud lookups, undecidable
  std::vector<std::string> requires_;  // fromRequires/toRequires raw keys (not evaluated)

  // True when nothing can match (no wildcard, no peers of any kind).
  bool Empty() const {
    return !wildcard && endpoints.empty() && entities.empty() && cidrs.empty() && fqdns.empty() &&
           services.empty() && nodes.empty() && !groups;
  }
};

// ---------------------------------------------------------------------------------------
// Ports, ICMP, L7

enum class L4Proto : uint8_t { kAny = 0, kTCP = 1, kUDP = 2, kSCTP = 3 };
absl::string_view L4ProtoName(L4Proto p);  // "ANY", "TCP", "UDP", "SCTP"

struct PortProtocol {
  uint16_t port = 0;      // 0 = every port of the protocol
  uint16_t end_port = 0;  // 0 = no range; else port..end_port inclusive
  std::string name;       // named port (IANA service name): resolved per pod, undecidable
  L4Proto protocol = L4Proto::kAny;  // ANY (or empty) = TCP+UDP+SCTP, never ICMP
  int line = 0;

  bool IsNamed() const { return !name.empty(); }
  bool IsRange() const { return end_port != 0 && end_port != port; }
  std::string ToString() const;  // "53/UDP", "8000-8100/TCP", "http/ANY", "0/ANY"
};

struct DnsRule {  // toPorts.rules.dns[i]
  std::string match_name;
  std::string match_pattern;
  int line = 0;
};

struct HttpRule {  // toPorts.rules.http[i] (kept for lint and display, not enforced)
  std::string method;
  std::string path;
  std::string host;
  std::vector<std::string> headers;
  int line = 0;
};

struct L7Rules {
  std::vector<DnsRule> dns;
  std::vector<HttpRule> http;
  bool other = false;  // kafka, l7proto: present but not modelled
  int line = 0;
  bool Empty() const { return dns.empty() && http.empty() && !other; }
};

// One toPorts entry. A PortRule without ports allows nothing (Cilium iterates its ports).
struct PortRule {
  std::vector<PortProtocol> ports;
  L7Rules rules;
  std::vector<std::string> server_names;
  int line = 0;
};

enum class IcmpFamily : uint8_t { kIPv4 = 0, kIPv6 = 1 };
struct IcmpField {
  IcmpFamily family = IcmpFamily::kIPv4;
  uint8_t type = 0;
  std::string type_name;  // as written when a CamelCase name was used ("EchoRequest")
  int line = 0;
};

// ---------------------------------------------------------------------------------------
// Rules

// One element of ingress/ingressDeny/egress/egressDeny (one Cilium policy entry).
struct RuleElement {
  Section section = Section::kIngress;
  int index = 0;  // position within its section list
  int line = 0;
  PeerSet peers;
  // Port part. When neither toPorts nor icmps is written the element is "L3-only" and
  // covers every IP protocol, ICMP included. When written, only what they list matches
  // (a toPorts entry without ports contributes nothing).
  bool has_to_ports = false;
  std::vector<PortRule> to_ports;
  bool has_icmps = false;
  std::vector<IcmpField> icmps;
  std::string auth_mode;  // authentication.mode ("", "disabled", "required", ...)

  Direction direction() const { return SectionDirection(section); }
  Action action() const { return SectionAction(section); }
  bool L3Only() const { return !has_to_ports && !has_icmps; }
  bool HasL7() const;
  bool HasDnsRule() const;
};

// One CNP/CCNP `spec` or `specs[i]` entry, or the single rule of a KNP.
struct Rule {
  int spec_index = -1;  // -1: `spec`; i >= 0: `specs[i]` (KNP: -1)
  int line = 0;         // line of the spec (or specs[i]) mapping

  // Subject. Exactly one of endpoint_selector / node_selector is set (parser enforces).
  // endpoint_selector already carries the CNP/KNP namespace requirement.
  std::optional<Selector> endpoint_selector;
  std::optional<Selector> node_selector;

  // enableDefaultDeny as written (nullopt = not written).
  std::optional<bool> enable_default_deny_ingress;
  std::optional<bool> enable_default_deny_egress;
  std::string description;
  std::string log;

  std::vector<RuleElement> ingress;
  std::vector<RuleElement> ingress_deny;
  std::vector<RuleElement> egress;
  std::vector<RuleElement> egress_deny;

  // KNP only: policyTypes isolates a direction even without rules (an entry with
  // default-deny and nothing allowed).
  bool knp_isolates_ingress = false;
  bool knp_isolates_egress = false;

  const std::vector<RuleElement>& Elements(Section s) const;
  // Whether this rule creates policy entries for the direction (Cilium: a non-empty allow or
  // deny list; KNP: also policyTypes isolation). A rule without entries cannot influence
  // that direction at all, whatever enableDefaultDeny says.
  bool HasEntries(Direction d) const;
  // Whether the rule switches the direction to default-deny for what it selects:
  // HasEntries(d) && enableDefaultDeny.<d> != false (Cilium's Sanitize with
  // enable-non-default-deny-policies=true, the default).
  bool DefaultDeny(Direction d) const;
};

// One Kubernetes object.
struct Policy {
  PolicyKind kind = PolicyKind::kCiliumNetworkPolicy;
  std::string name;
  std::string namespace_;  // "" for CCNP
  std::string file;
  int line = 0;             // line of the document's first key
  int document_index = 0;   // position of the document in its file (0-based)
  std::vector<Rule> rules;  // `spec` first (if any), then `specs` in order

  bool IsClusterwide() const { return kind == PolicyKind::kCiliumClusterwideNetworkPolicy; }
  // "ns/name" for namespaced kinds, "name" for CCNP.
  std::string DisplayName() const;
};

// The policies that are evaluated together (only those that parsed without errors).
// Evaluators keep pointers into it: do not modify a PolicySet while an Evaluator uses it.
struct PolicySet {
  std::vector<Policy> policies;
  size_t size() const { return policies.size(); }
  bool empty() const { return policies.empty(); }
};

}  // namespace tw::policy
