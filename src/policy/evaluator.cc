#include "policy/evaluator.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace tw::policy {

absl::string_view DecisionName(Decision d) {
  switch (d) {
    case Decision::kAllowed:
      return "ALLOWED";
    case Decision::kDenied:
      return "DENIED";
    case Decision::kUndecided:
      return "UNDECIDED";
  }
  return "";
}

std::string RuleRef::Path() const {
  std::string out = spec_index < 0 ? "spec" : absl::StrCat("specs[", spec_index, "]");
  if (rule_index >= 0) absl::StrAppend(&out, ".", SectionName(section), "[", rule_index, "]");
  return out;
}

std::string RuleRef::ToString() const {
  if (!policy) return "(none)";
  return absl::StrCat(PolicyKindName(policy->kind), " ", policy->DisplayName(), " ", Path(), " (",
                      policy->file, ":", line, ")");
}

namespace {

using flow::Protocol;

constexpr absl::string_view kNsKey = "io.kubernetes.pod.namespace";
constexpr absl::string_view kClusterKey = "io.cilium.k8s.policy.cluster";

// Tri-state match: a rule element matches, does not, or cannot be decided offline.
enum class Tri : uint8_t { kNo, kYes, kUnknown };

struct Match {
  Tri tri = Tri::kNo;
  const char* reason = nullptr;  // for kUnknown
};

Match Yes() { return {Tri::kYes, nullptr}; }
Match No() { return {Tri::kNo, nullptr}; }
Match Unknown(const char* why) { return {Tri::kUnknown, why}; }

// An endpoint prepared for matching: labels split once, reserved labels synthesised from
// the reserved mask (an identity number alone says "world" even without labels).
struct Prepared {
  absl::InlinedVector<Label, 24> labels;
  uint16_t reserved = 0;
  bool world_like = false;  // world / CIDR / FQDN identity (outside the cluster)
  absl::string_view ns;
  absl::string_view ip;
  const EndpointView* view = nullptr;
  mutable bool ip_parsed = false;
  mutable std::optional<Prefix> ip_prefix;

  const std::optional<Prefix>& Ip() const {
    if (!ip_parsed) {
      ip_parsed = true;
      if (!ip.empty()) ip_prefix = ParsePrefix(ip);
    }
    return ip_prefix;
  }
  bool Has(uint16_t bit) const { return (reserved & bit) != 0; }
};

struct ReservedName {
  uint16_t bit;
  absl::string_view key;
};
constexpr ReservedName kReservedNames[] = {
    {flow::kReservedHost, "host"},
    {flow::kReservedWorld, "world"},
    {flow::kReservedUnmanaged, "unmanaged"},
    {flow::kReservedHealth, "health"},
    {flow::kReservedInit, "init"},
    {flow::kReservedRemoteNode, "remote-node"},
    {flow::kReservedKubeApiserver, "kube-apiserver"},
    {flow::kReservedIngress, "ingress"},
    {flow::kReservedUnknown, "unknown"},
};

void Prepare(const EndpointView& v, Prepared& p) {
  p.view = &v;
  p.ip = v.ip;
  p.reserved = v.reserved;
  for (absl::string_view s : v.labels) {
    Label l = ParseLabel(s);
    p.labels.push_back(l);
    if (l.source == "reserved") {
      if (l.key == "world-ipv4" || l.key == "world-ipv6") {
        p.reserved |= flow::kReservedWorld;
      } else {
        p.reserved |= flow::ReservedFromEntityName(l.key);
      }
    } else if (l.source == "cidr" || l.source == "fqdn" || l.source == "cidrgroup") {
      p.world_like = true;
    } else if (p.ns.empty() && l.source == "k8s" && l.key == kNsKey) {
      p.ns = l.value;
    }
  }
  if (v.identity >= (1u << 24) && v.identity < (2u << 24)) p.world_like = true;
  for (const ReservedName& r : kReservedNames) {
    if (!(p.reserved & r.bit)) continue;
    bool present = false;
    for (const Label& l : p.labels) {
      if (l.source == "reserved" && l.key == r.key) present = true;
    }
    if (!present) p.labels.push_back(Label{"reserved", r.key, ""});
  }
  if (p.Has(flow::kReservedWorld)) p.world_like = true;
  if (p.world_like && !p.Has(flow::kReservedWorld)) {
    p.reserved |= flow::kReservedWorld;
    p.labels.push_back(Label{"reserved", "world", ""});
  }
  if (!v.namespace_.empty()) p.ns = v.namespace_;
  // A pod known only by namespace (trimmed labels, baselines) still carries the namespace
  // label Cilium puts on every pod identity; selectors and scoping rely on it.
  if (!p.ns.empty() && p.reserved == 0 && !p.world_like) {
    bool has_ns_label = false;
    for (const Label& l : p.labels) {
      has_ns_label |= l.source == "k8s" && l.key == kNsKey;
    }
    if (!has_ns_label) p.labels.push_back(Label{"k8s", kNsKey, p.ns});
  }
}

// Endpoints whose own policy Cilium enforces: pods, health, ingress, init. The host (no host
// firewall), other nodes, the world, the apiserver and unmanaged pods are never subjects.
bool SubjectCapable(const Prepared& p) {
  constexpr uint16_t kNever = flow::kReservedHost | flow::kReservedWorld |
                              flow::kReservedRemoteNode | flow::kReservedKubeApiserver |
                              flow::kReservedUnmanaged | flow::kReservedUnknown;
  return (p.reserved & kNever) == 0 && !p.world_like;
}

bool IsV6(const Prepared& p) { return p.ip.find(':') != absl::string_view::npos; }

struct CompiledRule {
  const Policy* policy = nullptr;
  const Rule* rule = nullptr;
  bool has_entries[2] = {false, false};
  bool default_deny[2] = {false, false};
};

Tri Combine(Tri a, Tri b) {
  if (a == Tri::kNo || b == Tri::kNo) return Tri::kNo;
  if (a == Tri::kYes && b == Tri::kYes) return Tri::kYes;
  return Tri::kUnknown;
}

}  // namespace

struct Evaluator::Impl {
  const PolicySet& set;
  EvaluatorOptions opts;
  std::vector<CompiledRule> rules;
  std::vector<uint32_t> clusterwide;
  absl::flat_hash_map<std::string, std::vector<uint32_t>> by_namespace;

  struct CacheEntry {
    std::vector<std::string> labels;
    std::string ns;
    uint16_t reserved = 0;
    std::vector<uint32_t> selected;
  };
  mutable absl::Mutex mu;
  mutable absl::flat_hash_map<uint64_t, CacheEntry> cache ABSL_GUARDED_BY(mu);

  Impl(const PolicySet& s, EvaluatorOptions o) : set(s), opts(std::move(o)) {
    for (const Policy& p : set.policies) {
      for (const Rule& r : p.rules) {
        CompiledRule c;
        c.policy = &p;
        c.rule = &r;
        for (Direction d : {Direction::kIngress, Direction::kEgress}) {
          c.has_entries[static_cast<int>(d)] = r.HasEntries(d);
          c.default_deny[static_cast<int>(d)] = r.DefaultDeny(d);
        }
        uint32_t idx = static_cast<uint32_t>(rules.size());
        rules.push_back(c);
        if (p.IsClusterwide())
          clusterwide.push_back(idx);
        else
          by_namespace[p.namespace_].push_back(idx);
      }
    }
  }

  bool SubjectSelects(const CompiledRule& c, const Prepared& ep) const {
    // nodeSelector rules select the host endpoint only, which needs the host firewall.
    if (!c.rule->endpoint_selector) return false;
    return c.rule->endpoint_selector->Matches(ep.labels);
  }

  void ComputeSelection(const Prepared& ep, std::vector<uint32_t>& out) const {
    for (uint32_t i : clusterwide) {
      if (SubjectSelects(rules[i], ep)) out.push_back(i);
    }
    if (!ep.ns.empty()) {
      auto it = by_namespace.find(ep.ns);
      if (it != by_namespace.end()) {
        for (uint32_t i : it->second) {
          if (SubjectSelects(rules[i], ep)) out.push_back(i);
        }
      }
    }
    std::sort(out.begin(), out.end());
  }

  // The rules selecting the endpoint (both directions), through the cache.
  void Selection(const Prepared& ep, std::vector<uint32_t>& out) const {
    if (opts.selection_cache_size == 0) {
      ComputeSelection(ep, out);
      return;
    }
    const EndpointView& v = *ep.view;
    uint64_t h = absl::HashOf(v.labels.size(), ep.ns, ep.reserved);
    for (absl::string_view l : v.labels) h = absl::HashOf(h, l);
    {
      absl::MutexLock lock(&mu);
      auto it = cache.find(h);
      if (it != cache.end()) {
        const CacheEntry& e = it->second;
        bool same =
            e.ns == ep.ns && e.reserved == ep.reserved && e.labels.size() == v.labels.size();
        for (size_t i = 0; same && i < v.labels.size(); ++i) same = e.labels[i] == v.labels[i];
        if (same) {
          out = e.selected;
          return;
        }
      }
    }
    ComputeSelection(ep, out);
    CacheEntry e;
    e.labels.reserve(v.labels.size());
    for (absl::string_view l : v.labels) e.labels.emplace_back(l);
    e.ns = std::string(ep.ns);
    e.reserved = ep.reserved;
    e.selected = out;
    absl::MutexLock lock(&mu);
    if (cache.size() >= opts.selection_cache_size) cache.clear();
    cache[h] = std::move(e);
  }

  bool InCluster(const Prepared& p) const {
    constexpr uint16_t kClusterBits = flow::kReservedHost | flow::kReservedRemoteNode |
                                      flow::kReservedInit | flow::kReservedIngress |
                                      flow::kReservedHealth | flow::kReservedUnmanaged |
                                      flow::kReservedKubeApiserver;
    if (p.reserved & kClusterBits) return true;
    if (p.world_like) return false;
    bool has_cluster_label = false;
    for (const Label& l : p.labels) {
      if (l.source == "k8s" && l.key == kClusterKey) {
        has_cluster_label = true;
        if (opts.local_cluster_name.empty() || l.value == opts.local_cluster_name) return true;
      }
    }
    if (has_cluster_label) return false;
    // Older agents and trimmed captures lack the cluster label: a pod is in the cluster.
    for (const Label& l : p.labels) {
      if (l.source == "k8s" && l.key == kNsKey) return true;
    }
    return !p.ns.empty();
  }

  bool EntityMatches(Entity e, const Prepared& p) const {
    switch (e) {
      case Entity::kAll:
        return true;
      case Entity::kNone:
        return false;
      case Entity::kWorld:
        return p.world_like;
      case Entity::kWorldIpv4:
        return p.world_like && !IsV6(p);
      case Entity::kWorldIpv6:
        return p.world_like && IsV6(p);
      case Entity::kHost:
        return p.Has(flow::kReservedHost);
      case Entity::kRemoteNode:
        return p.Has(flow::kReservedRemoteNode);
      case Entity::kKubeApiserver:
        return p.Has(flow::kReservedKubeApiserver);
      case Entity::kIngress:
        return p.Has(flow::kReservedIngress);
      case Entity::kHealth:
        return p.Has(flow::kReservedHealth);
      case Entity::kInit:
        return p.Has(flow::kReservedInit);
      case Entity::kUnmanaged:
        return p.Has(flow::kReservedUnmanaged);
      case Entity::kCluster:
        return InCluster(p);
      case Entity::kClusterMesh: {
        if (InCluster(p)) return true;
        for (const Label& l : p.labels) {
          if (l.source == "k8s" && l.key == kClusterKey) return true;
        }
        return false;
      }
    }
    return false;
  }

  Match PeerMatches(const PeerSet& ps, Direction dir, const Prepared& peer,
                    const Connection& c) const {
    if (ps.wildcard) return Yes();
    Match best = No();
    auto take = [&best](Match m) {
      if (m.tri == Tri::kYes)
        best = m;
      else if (m.tri == Tri::kUnknown && best.tri == Tri::kNo)
        best = m;
    };
    for (const Selector& s : ps.endpoints) {
      if (s.Matches(peer.labels)) return Yes();
    }
    for (Entity e : ps.entities) {
      if (EntityMatches(e, peer)) return Yes();
    }
    if (!ps.cidrs.empty() && peer.world_like) {
      // CIDR peers only ever select world/CIDR identities (never pods or nodes).
      for (const CidrRule& cr : ps.cidrs) {
        if (!cr.cidr_group_ref.empty() || cr.cidr_group_selector) {
          take(Unknown("CIDR group rule: CiliumCIDRGroup objects are not read"));
          continue;
        }
        const auto& ip = peer.Ip();
        if (!ip) {
          if (cr.cidr.bits == 0 && cr.except.empty()) return Yes();  // 0.0.0.0/0 selects world
          take(Unknown("CIDR rule but the flow has no peer IP"));
          continue;
        }
        if (!cr.cidr.Contains(*ip)) continue;
        bool excepted = false;
        for (const Prefix& ex : cr.except) excepted |= ex.Contains(*ip);
        if (!excepted) return Yes();
      }
    }
    if (!ps.fqdns.empty() && dir == Direction::kEgress && peer.world_like) {
      for (const FqdnSelector& f : ps.fqdns) {
        for (absl::string_view name : c.destination_names) {
          if (f.Matches(name)) return Yes();
        }
        // A Hubble identity label "fqdn:<selector>" names the selector itself.
        for (const Label& l : peer.labels) {
          if (l.source != "fqdn") continue;
          absl::string_view sel = f.match_name.empty() ? f.match_pattern : f.match_name;
          if (l.key == sel) return Yes();
        }
      }
    }
    if (!ps.services.empty() && dir == Direction::kEgress) {
      for (const ServiceSelector& s : ps.services) {
        if (!s.selector && !c.destination_service.empty() &&
            c.destination_service == s.service_name &&
            c.destination_service_namespace == s.namespace_) {
          return Yes();
        }
        // A service with a selector becomes an endpoint selector over pods of the service's
        // namespace; a selector-less one becomes CIDR rules (world peers only). So a pod of
        // another namespace, or a node, can never be a backend.
        bool pod_elsewhere = !peer.world_like && !peer.ns.empty() && peer.ns != s.namespace_;
        bool reserved_in_cluster = !peer.world_like && peer.reserved != 0;
        if (pod_elsewhere || reserved_in_cluster) continue;
        take(
            Unknown("toServices: whether the destination backs the service is not known "
                    "offline"));
      }
    }
    if (!ps.nodes.empty() &&
        (peer.Has(flow::kReservedRemoteNode) || peer.Has(flow::kReservedHost))) {
      take(Unknown("fromNodes/toNodes: node labels are not in flows"));
    }
    if (ps.groups && peer.world_like) {
      take(Unknown("fromGroups/toGroups: cloud provider groups are not resolved offline"));
    }
    return best;
  }

  static Match PortMatches(const RuleElement& el, const Connection& c) {
    if (el.L3Only()) return Yes();  // port 0 / ANY / u8proto 0: every IP protocol incl. ICMP
    switch (c.protocol) {
      case Protocol::kICMPv4:
      case Protocol::kICMPv6: {
        IcmpFamily fam = c.protocol == Protocol::kICMPv4 ? IcmpFamily::kIPv4 : IcmpFamily::kIPv6;
        for (const IcmpField& f : el.icmps) {
          if (f.family == fam && f.type == c.icmp_type) return Yes();
        }
        return No();  // toPorts never covers ICMP, ANY included
      }
      case Protocol::kTCP:
      case Protocol::kUDP:
      case Protocol::kSCTP: {
        L4Proto want = c.protocol == Protocol::kTCP   ? L4Proto::kTCP
                       : c.protocol == Protocol::kUDP ? L4Proto::kUDP
                                                      : L4Proto::kSCTP;
        Match best = No();
        for (const PortRule& pr : el.to_ports) {
          for (const PortProtocol& pp : pr.ports) {
            if (pp.protocol != L4Proto::kAny && pp.protocol != want) continue;
            if (pp.IsNamed()) {
              if (best.tri == Tri::kNo) {
                best = Unknown(
                    "named port: resolved against pod container ports, which flows "
                    "do not carry");
              }
              continue;
            }
            if (pp.port == 0) return Yes();
            uint16_t hi = pp.end_port > pp.port ? pp.end_port : pp.port;
            if (c.destination_port >= pp.port && c.destination_port <= hi) return Yes();
          }
        }
        return best;
      }
      case Protocol::kUnknown:
        return Unknown("the flow has no L4 protocol and the rule is port-specific");
      default:
        return No();  // VRRP/IGMP/...: only L3-only elements cover them
    }
  }

  Match ElementMatches(const RuleElement& el, Direction dir, const Prepared& peer,
                       const Connection& c) const {
    Match pm = PortMatches(el, c);
    if (pm.tri == Tri::kNo) return No();
    Match lm = PeerMatches(el.peers, dir, peer, c);
    Tri t = Combine(pm.tri, lm.tri);
    if (t == Tri::kUnknown) return Unknown(lm.tri == Tri::kUnknown ? lm.reason : pm.reason);
    return {t, nullptr};
  }

  static RuleRef RefOf(const CompiledRule& c, const RuleElement& el) {
    RuleRef r;
    r.policy = c.policy;
    r.spec_index = c.rule->spec_index;
    r.section = el.section;
    r.rule_index = el.index;
    r.line = el.line;
    r.l7 = el.HasL7();
    return r;
  }

  static RuleRef DefaultDenyRef(const CompiledRule& c, Direction dir) {
    Section allow = dir == Direction::kIngress ? Section::kIngress : Section::kEgress;
    Section deny = dir == Direction::kIngress ? Section::kIngressDeny : Section::kEgressDeny;
    for (Section s : {allow, deny}) {
      const auto& els = c.rule->Elements(s);
      if (!els.empty()) {
        RuleRef r = RefOf(c, els.front());
        r.l7 = false;
        return r;
      }
    }
    RuleRef r;
    r.policy = c.policy;
    r.spec_index = c.rule->spec_index;
    r.section = allow;
    r.rule_index = -1;
    r.line = c.rule->line;
    return r;
  }

  DirectionVerdict Decide(Direction dir, const Prepared& subject, const Prepared& peer,
                          const Connection& c) const {
    DirectionVerdict v;
    using Mode = EvaluatorOptions::EnforcementMode;
    if (opts.enforcement_mode == Mode::kNever || !SubjectCapable(subject)) return v;

    std::vector<uint32_t> selected;
    Selection(subject, selected);
    int d = static_cast<int>(dir);
    bool any_entries = false;
    bool default_deny = false;
    for (uint32_t i : selected) {
      const CompiledRule& cr = rules[i];
      if (!cr.has_entries[d]) continue;
      any_entries = true;
      if (cr.default_deny[d]) {
        default_deny = true;
        v.default_deny_by.push_back(DefaultDenyRef(cr, dir));
      }
    }
    bool init = subject.Has(flow::kReservedInit);
    bool always = opts.enforcement_mode == Mode::kAlways;
    v.enforced = any_entries || always || init;
    if (!v.enforced) return v;
    v.default_deny = default_deny || always || init;

    Section allow_s = dir == Direction::kIngress ? Section::kIngress : Section::kEgress;
    Section deny_s = dir == Direction::kIngress ? Section::kIngressDeny : Section::kEgressDeny;
    const char* deny_unknown = nullptr;
    const char* allow_unknown = nullptr;
    for (uint32_t i : selected) {
      const CompiledRule& cr = rules[i];
      if (!cr.has_entries[d]) continue;
      for (const RuleElement& el : cr.rule->Elements(deny_s)) {
        Match m = ElementMatches(el, dir, peer, c);
        if (m.tri == Tri::kYes)
          v.denied_by.push_back(RefOf(cr, el));
        else if (m.tri == Tri::kUnknown && !deny_unknown)
          deny_unknown = m.reason;
      }
      for (const RuleElement& el : cr.rule->Elements(allow_s)) {
        Match m = ElementMatches(el, dir, peer, c);
        if (m.tri == Tri::kYes)
          v.allowed_by.push_back(RefOf(cr, el));
        else if (m.tri == Tri::kUnknown && !allow_unknown)
          allow_unknown = m.reason;
      }
    }
    if (!v.denied_by.empty()) {
      v.decision = Decision::kDenied;
      v.drop_reason = flow::kDropPolicyDeny;
      return v;
    }
    // Outcome without the undecidable deny entries.
    Decision outcome;
    const char* why = nullptr;
    if (!v.allowed_by.empty()) {
      outcome = Decision::kAllowed;
    } else if (dir == Direction::kIngress && opts.allow_localhost && v.default_deny &&
               peer.Has(flow::kReservedHost)) {
      outcome = Decision::kAllowed;  // allow-localhost=always
      v.allowed_by_localhost = true;
    } else if (allow_unknown) {
      outcome = Decision::kUndecided;
      why = allow_unknown;
    } else if (v.default_deny) {
      outcome = Decision::kDenied;
    } else {
      outcome = Decision::kAllowed;  // every selecting rule has enableDefaultDeny: false
    }
    if (outcome != Decision::kDenied && deny_unknown) {
      outcome = Decision::kUndecided;
      why = deny_unknown;
    }
    v.decision = outcome;
    if (outcome == Decision::kDenied) v.drop_reason = flow::kDropPolicyDenied;
    if (outcome == Decision::kUndecided) v.undecided_reason = why ? why : "undecidable rule";
    return v;
  }
};

Evaluator::Evaluator(const PolicySet& policies, EvaluatorOptions options)
    : impl_(std::make_unique<Impl>(policies, std::move(options))) {}

Evaluator::~Evaluator() = default;

const PolicySet& Evaluator::policies() const { return impl_->set; }
const EvaluatorOptions& Evaluator::options() const { return impl_->opts; }

DirectionVerdict Evaluator::EvaluateDirection(Direction dir, const EndpointView& subject,
                                              const EndpointView& peer, const Connection& c) const {
  Prepared s, p;
  Prepare(subject, s);
  Prepare(peer, p);
  return impl_->Decide(dir, s, p, c);
}

Evaluation Evaluator::Evaluate(const Connection& c) const {
  Evaluation v;
  if (c.is_reply.value_or(false)) {
    v.decision = Decision::kUndecided;
    v.undecided_reason = "reply: policy is not applied to replies";
    v.egress.decision = v.ingress.decision = Decision::kUndecided;
    v.egress.undecided_reason = v.ingress.undecided_reason = v.undecided_reason;
    return v;
  }
  Prepared src, dst;
  Prepare(c.source, src);
  Prepare(c.destination, dst);
  v.egress = impl_->Decide(Direction::kEgress, src, dst, c);
  v.ingress = impl_->Decide(Direction::kIngress, dst, src, c);
  if (v.egress.decision == Decision::kDenied) {
    v.decision = Decision::kDenied;
    v.drop_reason = v.egress.drop_reason;
    v.denied_at = Direction::kEgress;
  } else if (v.ingress.decision == Decision::kDenied) {
    v.decision = Decision::kDenied;
    v.drop_reason = v.ingress.drop_reason;
    v.denied_at = Direction::kIngress;
  } else if (v.egress.decision == Decision::kUndecided) {
    v.decision = Decision::kUndecided;
    v.undecided_reason = absl::StrCat("egress: ", v.egress.undecided_reason);
  } else if (v.ingress.decision == Decision::kUndecided) {
    v.decision = Decision::kUndecided;
    v.undecided_reason = absl::StrCat("ingress: ", v.ingress.undecided_reason);
  } else {
    v.decision = Decision::kAllowed;
  }
  return v;
}

std::vector<Evaluator::Selected> Evaluator::SelectingRules(const EndpointView& endpoint,
                                                           Direction dir) const {
  std::vector<Selected> out;
  Prepared p;
  Prepare(endpoint, p);
  if (!SubjectCapable(p)) return out;
  std::vector<uint32_t> sel;
  impl_->Selection(p, sel);
  for (uint32_t i : sel) {
    const CompiledRule& cr = impl_->rules[i];
    if (cr.has_entries[static_cast<int>(dir)]) out.push_back(Selected{cr.policy, cr.rule});
  }
  return out;
}

EndpointView ViewOf(const flow::Endpoint& ep, absl::string_view ip) {
  EndpointView v;
  v.labels.reserve(ep.labels.size());
  for (const flow::Symbol& s : ep.labels) v.labels.push_back(s.view());
  v.namespace_ = ep.namespace_.view();
  v.reserved = ep.reserved;
  v.ip = ip;
  v.identity = ep.identity;
  return v;
}

Connection ConnectionOf(const flow::Flow& f) {
  Connection c;
  c.source = ViewOf(f.source, f.source_ip);
  c.destination = ViewOf(f.destination, f.destination_ip);
  c.destination_names.reserve(f.destination_names.size());
  for (const flow::Symbol& s : f.destination_names) c.destination_names.push_back(s.view());
  c.destination_service = f.destination_service.name.view();
  c.destination_service_namespace = f.destination_service.namespace_.view();
  c.protocol = f.l4.protocol;
  c.destination_port = f.l4.destination_port;
  c.icmp_type = f.l4.icmp_type;
  c.is_reply = f.is_reply;
  return c;
}

Evaluation EvaluateFlow(const Evaluator& eval, const flow::Flow& f) {
  return eval.Evaluate(ConnectionOf(f));
}

Evaluation EvaluateFlow(const PolicySet& policies, const flow::Flow& f) {
  EvaluatorOptions o;
  o.selection_cache_size = 0;
  Evaluator eval(policies, o);
  return eval.Evaluate(ConnectionOf(f));
}

}  // namespace tw::policy
