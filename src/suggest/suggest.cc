#include "suggest/suggest.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/evaluator.h"
#include "policy/parser.h"
#include "simulate/simulate.h"
#include "suggest/selector.h"

namespace tw::suggest {

namespace {

using flow::Peer;
using flow::Protocol;

bool IsIcmp(Protocol p) { return p == Protocol::kICMPv4 || p == Protocol::kICMPv6; }
bool HasPorts(Protocol p) {
  return p == Protocol::kTCP || p == Protocol::kUDP || p == Protocol::kSCTP;
}

// A Kubernetes-name-safe form of a workload or namespace name ("Odoo_Web" -> "odoo-web").
std::string NameSafe(absl::string_view s) {
  std::string out;
  for (char c : s) {
    char l = absl::ascii_tolower(static_cast<unsigned char>(c));
    out.push_back(absl::ascii_isalnum(static_cast<unsigned char>(l)) || l == '-' || l == '.' ? l
                                                                                             : '-');
  }
  while (!out.empty() && (out.front() == '-' || out.front() == '.')) out.erase(out.begin());
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  return out.empty() ? "unnamed" : out;
}

// What one side of the suggestions gathers before rules are built: the peers and the
// connections that reached them.
struct SubjectAgg {
  Peer subject;
  bool clusterwide = false;
  std::set<std::string> caused_by;
  std::map<Peer, std::vector<Evidence>> egress;   // peer = destination
  std::map<Peer, std::vector<Evidence>> ingress;  // peer = source
  bool needs_dns_rule = false;                    // egress to the DNS service carries the DNS rule
};

Evidence EvidenceOf(const baseline::ConnectionRecord& r) {
  Evidence e;
  e.key = r.key;
  e.count = r.count;
  e.first_seen = r.first_seen;
  e.last_seen = r.last_seen;
  e.nodes.assign(r.nodes.begin(), r.nodes.end());
  e.verdicts = r.verdicts;
  return e;
}

// "10.0.0.1" -> "10.0.0.1/32", "2001:db8::1" -> "2001:db8::1/128".
std::string HostPrefix(absl::string_view ip) {
  return absl::StrCat(ip, ip.find(':') == absl::string_view::npos ? "/32" : "/128");
}

// "acme-v02.api.letsencrypt.org" -> "api.letsencrypt.org"; "" when fewer than three labels
// (a pattern over a bare registrable domain, `*.com`, would be far too wide).
std::string PatternRest(absl::string_view name) {
  size_t dot = name.find('.');
  if (dot == absl::string_view::npos) return "";
  absl::string_view rest = name.substr(dot + 1);
  if (rest.find('.') == absl::string_view::npos) return "";
  return std::string(rest);
}

std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// Builds rules for one subject and direction.
class RuleBuilder {
 public:
  // `is_dns` tells the DNS service's workloads; `dns_ports` are the service's ports.
  RuleBuilder(const SubjectAgg& agg, const SelectorChooser& chooser, const SuggestOptions& opts,
              std::function<bool(const Peer&)> is_dns,
              std::vector<std::pair<Protocol, uint16_t>> dns_ports, Peer dns_peer,
              std::vector<MatchLabel> dns_labels, std::vector<Unresolved>& unresolved)
      : agg_(agg),
        chooser_(chooser),
        opts_(opts),
        is_dns_(std::move(is_dns)),
        dns_ports_(std::move(dns_ports)),
        dns_peer_(dns_peer),
        dns_labels_(std::move(dns_labels)),
        unresolved_(unresolved) {}

  std::vector<SuggestedRule> Build(bool egress) {
    const auto& peers = egress ? agg_.egress : agg_.ingress;
    std::vector<SuggestedRule> rules;
    // FQDN peers sharing their ports become one toFQDNs element.
    std::map<std::vector<PortSpan>,
             std::vector<std::pair<std::string, const std::vector<Evidence>*>>, SpanLess>
        fqdn_groups;
    for (const auto& [peer, evidence] : peers) {
      std::vector<std::pair<Protocol, uint16_t>> l4, icmp, l4_added;
      std::vector<Evidence> l4_ev, icmp_ev;
      std::string added_reason;
      for (const Evidence& e : evidence) {
        if (HasPorts(e.key.protocol)) {
          (e.added ? l4_added : l4).emplace_back(e.key.protocol, e.key.port);
          if (e.added && added_reason.empty()) added_reason = e.reason;
          l4_ev.push_back(e);
        } else if (IsIcmp(e.key.protocol)) {
          icmp.emplace_back(e.key.protocol, e.key.port);
          icmp_ev.push_back(e);
        } else {
          unresolved_.push_back(
              {e.key, absl::StrCat("protocol ", flow::ProtocolName(e.key.protocol),
                                   " cannot be allowed by a port or ICMP rule (only an L3 rule "
                                   "for every protocol could, which is not least privilege)")});
        }
      }
      if (peer.kind == flow::PeerKind::kFqdn && egress) {
        if (!l4.empty()) {
          fqdn_groups[MergePorts(l4)].emplace_back(peer.name.str(), &evidence);
        }
        for (const Evidence& e : icmp_ev) {
          unresolved_.push_back({e.key,
                                 "ICMP to a DNS name: toFQDNs with icmps is not supported "
                                 "by tierwatch suggestions; allow it by address"});
        }
        continue;
      }
      SuggestedRule base;
      if (!Peer_(peer, egress, &base, evidence)) continue;
      if (!l4.empty() || !l4_added.empty()) {
        SuggestedRule r = base;
        // Ports only added connections need are declared, port by port.
        std::vector<std::string> why;
        for (const auto& p : l4_added) {
          if (std::find(l4.begin(), l4.end(), p) != l4.end()) continue;
          l4.push_back(p);
          r.extra_ports.push_back(p);
        }
        if (!r.extra_ports.empty()) why.push_back(added_reason);
        // DNS to the DNS service, from either side of it.
        if (egress ? is_dns_(peer) : is_dns_(agg_.subject)) {
          std::string fallback = DnsFallback(l4, &r);
          if (!fallback.empty()) why.push_back(fallback);
        }
        r.port_widening = absl::StrJoin(why, "; ");
        if (egress && agg_.needs_dns_rule && peer == dns_peer_) {
          r.dns_rule = true;
          r.dns_port = dns_ports_.front().second;
        }
        r.ports = MergePorts(l4);
        r.evidence = l4_ev;
        rules.push_back(std::move(r));
      }
      if (!icmp.empty()) {
        SuggestedRule r = base;
        r.ports = MergePorts(icmp);
        r.evidence = icmp_ev;
        rules.push_back(std::move(r));
      }
    }
    for (auto& [ports, names] : fqdn_groups) FqdnRules(ports, names, rules);
    for (SuggestedRule& r : rules) {
      std::sort(r.evidence.begin(), r.evidence.end(),
                [](const Evidence& a, const Evidence& b) { return a.key < b.key; });
    }
    std::stable_sort(rules.begin(), rules.end(),
                     [](const SuggestedRule& a, const SuggestedRule& b) {
                       if (a.peer != b.peer) return a.peer < b.peer;
                       return a.ports.front().protocol < b.ports.front().protocol;
                     });
    return rules;
  }

 private:
  // DNS to the DNS service on one transport gets the service's other DNS transport too: an
  // answer that does not fit in UDP is retried over TCP (lint TW005).
  std::string DnsFallback(std::vector<std::pair<Protocol, uint16_t>>& l4, SuggestedRule* r) {
    auto has = [&](const std::pair<Protocol, uint16_t>& p) {
      return std::find(l4.begin(), l4.end(), p) != l4.end();
    };
    bool dns_seen = std::any_of(dns_ports_.begin(), dns_ports_.end(), has);
    if (!dns_seen) return "";
    std::vector<std::string> added;
    for (const auto& p : dns_ports_) {
      if (has(p)) continue;
      l4.push_back(p);
      r->extra_ports.push_back(p);
      added.push_back(absl::StrCat(p.second, "/", flow::ProtocolName(p.first)));
    }
    if (added.empty()) return "";
    return absl::StrCat(absl::StrJoin(added, ", "),
                        " added: DNS retries over TCP when an answer does not fit in UDP (lint "
                        "TW005); only the other transport was seen");
  }

  struct SpanLess {
    bool operator()(const std::vector<PortSpan>& a, const std::vector<PortSpan>& b) const {
      return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                          [](const PortSpan& x, const PortSpan& y) {
                                            return std::tie(x.protocol, x.port, x.end_port) <
                                                   std::tie(y.protocol, y.port, y.end_port);
                                          });
    }
  };

  // The peer part of a rule; false (and the connections unresolved) when it cannot be
  // written.
  bool Peer_(const Peer& peer, bool egress, SuggestedRule* r, const std::vector<Evidence>& ev) {
    r->peer = peer;
    switch (peer.kind) {
      case flow::PeerKind::kWorkload: {
        std::string why;
        std::optional<SelectorChoice> c = chooser_.Choose(peer, &why);
        if (peer.name.empty()) {
          why = absl::StrCat(peer.ToString(),
                             " has no stable name or label: a selector cannot single it out");
          c.reset();
        }
        if (!c && peer == dns_peer_) c = SelectorChoice{dns_labels_, true, {}};  // the tier model's
        if (!c) {
          for (const Evidence& e : ev) unresolved_.push_back({e.key, why});
          return false;
        }
        r->kind = RuleKind::kEndpoints;
        r->selector = c->labels;
        // Another namespace (or any peer of a cluster-wide policy): name it, or Cilium scopes
        // the selector to the policy's namespace (CCNP: to every namespace).
        if (agg_.clusterwide || !agg_.subject.is_workload() || c->labels_unknown ||
            peer.namespace_ != agg_.subject.namespace_) {
          r->selector.push_back(MatchLabel{std::string(kNamespaceKey), peer.namespace_.str()});
        }
        if (c->labels_unknown) {
          r->widening = absl::StrCat(
              "the labels of ", peer.ToString(),
              " are unknown (it was seen only through Cilium's L7 proxy, which reports the "
              "world identity without labels): this rule allows every pod of namespace ",
              peer.namespace_.view(),
              " on these ports; narrow it with the pod's labels (kubectl -n ",
              peer.namespace_.view(), " get pods --show-labels | grep ", peer.name.view(), ")");
        } else if (!c->unique) {
          std::vector<std::string> also;
          for (const Peer& p : c->also_selects) also.push_back(p.ToString());
          r->widening =
              absl::StrCat("no stable label tells ", peer.ToString(), " apart from ",
                           absl::StrJoin(also, ", "), ": this selector also selects them");
        }
        return true;
      }
      case flow::PeerKind::kEntity: {
        if (flow::ReservedFromEntityName(peer.name.view()) == flow::kReservedNone) {
          for (const Evidence& e : ev) {
            unresolved_.push_back(
                {e.key, absl::StrCat("the peer ", peer.ToString(),
                                     " has no identity Hubble could name: nothing to allow")});
          }
          return false;
        }
        r->kind = RuleKind::kEntity;
        r->entity = peer.name.str();
        if (peer.name == "world") {
          r->notes.push_back(
              egress ? "low confidence: the destination is the whole world (no address or DNS "
                       "name was seen); narrow it to toFQDNs or a CIDR if you know it"
                     : "any address outside the cluster: clients on the internet have no stable "
                       "name");
        }
        return true;
      }
      case flow::PeerKind::kIp:
        r->kind = RuleKind::kCidr;
        r->cidr = HostPrefix(peer.name.view());
        r->notes.push_back(
            absl::StrCat("low confidence: ", peer.name.view(),
                         " is known only by its address (no DNS name was seen); a /",
                         peer.name.view().find(':') == absl::string_view::npos ? "32" : "128",
                         " breaks when the address changes: prefer toFQDNs if it has a name"));
        return true;
      case flow::PeerKind::kFqdn:  // a source is never an FQDN; world sources are (world)
        for (const Evidence& e : ev) {
          unresolved_.push_back({e.key, "an FQDN as a source cannot be selected"});
        }
        return false;
    }
    return false;
  }

  void FqdnRules(const std::vector<PortSpan>& ports,
                 std::vector<std::pair<std::string, const std::vector<Evidence>*>>& names,
                 std::vector<SuggestedRule>& rules) {
    std::sort(names.begin(), names.end());
    SuggestedRule r;
    r.kind = RuleKind::kFqdn;
    r.ports = ports;
    std::map<std::string, std::vector<std::string>> by_rest;
    for (const auto& [name, ev] : names) {
      std::string rest = opts_.fqdn_patterns ? PatternRest(name) : "";
      by_rest[rest].push_back(name);
      for (const Evidence& e : *ev) {
        if (HasPorts(e.key.protocol)) r.evidence.push_back(e);
      }
    }
    std::vector<std::string> widened;
    for (const auto& [rest, group] : by_rest) {
      if (rest.empty() || group.size() < 2) {
        r.fqdn_names.insert(r.fqdn_names.end(), group.begin(), group.end());
        continue;
      }
      std::string pattern = absl::StrCat("*.", rest);
      r.fqdn_patterns.push_back(pattern);
      widened.push_back(absl::StrCat(pattern, " (for ", absl::StrJoin(group, ", "), ")"));
    }
    r.fqdn_names = SortedUnique(r.fqdn_names);
    r.fqdn_patterns = SortedUnique(r.fqdn_patterns);
    if (!widened.empty()) {
      r.widening = absl::StrCat(
          "--fqdn-patterns: ", absl::StrJoin(widened, "; "),
          " also allows every other name one label deep there (Cilium's * never spans a dot)");
    }
    // Sorted among the other rules by its first name.
    r.peer = Peer::Fqdn(names.front().second->front().key.destination.name);
    rules.push_back(std::move(r));
  }

  const SubjectAgg& agg_;
  const SelectorChooser& chooser_;
  const SuggestOptions& opts_;
  std::function<bool(const Peer&)> is_dns_;
  std::vector<std::pair<Protocol, uint16_t>> dns_ports_;
  Peer dns_peer_;
  std::vector<MatchLabel> dns_labels_;
  std::vector<Unresolved>& unresolved_;
};

}  // namespace

std::vector<PortSpan> MergePorts(std::vector<std::pair<Protocol, uint16_t>> ports) {
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  std::vector<PortSpan> out;
  for (const auto& [proto, port] : ports) {
    // ICMP types are not a range: each is its own field.
    if (!out.empty() && out.back().protocol == proto && HasPorts(proto) &&
        out.back().end_port != 65535 && out.back().end_port + 1 == port) {
      out.back().end_port = port;
      continue;
    }
    out.push_back(PortSpan{proto, port, port});
  }
  return out;
}

size_t SuggestionSet::rule_count() const {
  size_t n = 0;
  for (const SuggestedPolicy& p : policies) n += p.egress.size() + p.ingress.size();
  return n;
}

std::string TargetDefaultDeny(const tier::TierModel& tiers,
                              const std::vector<std::string>& seen_namespaces) {
  const tier::TierOptions& o = tiers.options();
  // Which namespaces are policed: when Tier 2 (or 1) is the default tier, everything but
  // Tier 0 (NotIn); when Tier 0 is the default, exactly the listed Tier 1/2 namespaces (In).
  bool tier0_default = false;
  std::vector<std::string> tier0, policed;
  for (const tier::TierSpec& t : o.tiers) {
    if (t.level == 0) {
      tier0.insert(tier0.end(), t.namespaces.begin(), t.namespaces.end());
      tier0_default |= t.is_default;
    } else {
      policed.insert(policed.end(), t.namespaces.begin(), t.namespaces.end());
    }
  }
  // Namespaces seen in the traffic that only a pattern places: a selector cannot glob.
  for (const std::string& ns : seen_namespaces) {
    tier::TierAssignment a = tiers.TierOfNamespace(ns);
    if (a.match != tier::TierMatch::kPattern) continue;
    (a.level == 0 ? tier0 : policed).push_back(ns);
  }
  tier0 = SortedUnique(tier0);
  policed = SortedUnique(policed);
  const bool use_in = tier0_default;
  const std::vector<std::string>& values = use_in ? policed : tier0;
  std::string out = absl::StrCat(
      "# tierwatch suggest: the target state it assumed because no --policies were given.\n"
      "# Tier 1 and Tier 2 pods are in default-deny both ways; Tier 0 (",
      absl::StrJoin(tier0, ", "),
      ")\n"
      "# is never policed. The `Exists` requirement keeps Cilium's own endpoints (health,\n"
      "# ingress), which carry no namespace label, out of it. The suggestions beside this file\n"
      "# were proven against it.\n"
      "apiVersion: cilium.io/v2\n"
      "kind: CiliumClusterwideNetworkPolicy\n"
      "metadata:\n"
      "  name: tierwatch-target-default-deny\n"
      "spec:\n"
      "  description: \"Default-deny for Tier 1 and Tier 2 pods (the target state tierwatch "
      "assumed)\"\n"
      "  endpointSelector:\n"
      "    matchExpressions:\n"
      "      - key: k8s:io.kubernetes.pod.namespace\n"
      "        operator: Exists\n");
  if (!values.empty() || use_in) {
    absl::StrAppend(&out,
                    "      - key: k8s:io.kubernetes.pod.namespace\n"
                    "        operator: ",
                    use_in ? "In" : "NotIn", "\n        values:\n");
    for (const std::string& v : values) absl::StrAppend(&out, "          - ", v, "\n");
  }
  absl::StrAppend(&out,
                  "  ingress:\n"
                  "    - {}\n"
                  "  egress:\n"
                  "    - {}\n");
  return out;
}

namespace {

constexpr absl::string_view kTargetPath = "cluster-wide/target-default-deny.yaml";

// The policies' display names that put `v`'s endpoint into default-deny.
std::vector<std::string> CausedBy(const policy::DirectionVerdict& v) {
  std::vector<std::string> out;
  for (const policy::RuleRef& r : v.default_deny_by) {
    if (r.policy) out.push_back(r.policy->DisplayName());
  }
  return SortedUnique(out);
}

// Whether the source already has DNS visibility: some egress allow to the DNS service on
// its DNS port carries an L7 DNS rule.
bool HasDnsVisibility(const policy::Evaluator& eval, const simulate::Representative& subject,
                      const simulate::Representative& dns, uint16_t port) {
  flow::Flow f;
  f.source = subject.endpoint;
  f.destination = dns.endpoint;
  f.l4.protocol = Protocol::kUDP;
  f.l4.destination_port = port;
  policy::Evaluation v = policy::EvaluateFlow(eval, f);
  for (const policy::RuleRef& ref : v.egress.allowed_by) {
    if (!ref.policy) continue;
    for (const policy::Rule& rule : ref.policy->rules) {
      if (rule.spec_index != ref.spec_index) continue;
      const auto& els = rule.Elements(ref.section);
      if (ref.rule_index >= 0 && ref.rule_index < static_cast<int>(els.size()) &&
          els[ref.rule_index].HasDnsRule()) {
        return true;
      }
    }
  }
  return false;
}

// Every namespace the connections name, sorted: the target default-deny must place those
// only a pattern of the tier model matches.
std::vector<std::string> SeenNamespaces(const baseline::Baseline& connections) {
  std::vector<std::string> namespaces;
  for (const auto& [peer, _] : connections.LabelledWorkloads()) {
    namespaces.push_back(peer.namespace_.str());
  }
  connections.ForEach([&](const baseline::ConnectionRecord& r) {
    for (const Peer* p : {&r.key.source, &r.key.destination}) {
      if (p->is_workload()) namespaces.push_back(p->namespace_.str());
    }
  });
  return SortedUnique(std::move(namespaces));
}

// The policies the suggestions are built and proven against: those in force, or, when none
// were given, the target default-deny tierwatch assumes. That one is our own text, so a
// parse error is a bug to report, not a user's mistake.
absl::Status ChooseBasePolicies(const baseline::Baseline& connections,
                                const policy::PolicySet& existing, const tier::TierModel& tiers,
                                SuggestionSet& out) {
  if (!existing.empty()) {
    out.base = existing;
    return absl::OkStatus();
  }
  out.target_default_deny = TargetDefaultDeny(tiers, SeenNamespaces(connections));
  policy::LoadedPolicies parsed = policy::ParsePolicyText(out.target_default_deny, kTargetPath);
  if (parsed.HasErrors() || parsed.policies.empty()) {
    std::vector<std::string> errors;
    for (const auto& d : parsed.diagnostics) errors.push_back(d.ToString());
    return absl::InvalidArgumentError(absl::StrCat(
        "the assumed target default-deny policy does not parse: ", absl::StrJoin(errors, "; ")));
  }
  out.base = std::move(parsed.policies);
  out.assumed_target = true;
  return absl::OkStatus();
}

// The DNS service, for the DNS rule toFQDNs needs and for DNS's other transport: its workload
// as the connections name it (coredns), else the Service's usual name.
class DnsService {
 public:
  DnsService(const baseline::Baseline& connections, const tier::TierModel& tiers,
             flow::SymbolTable& symbols)
      : connections_(connections), tiers_(tiers), spec_(tiers.options().dns_service) {
    for (const tier::ServicePort& pp : spec_.ports) ports.emplace_back(pp.protocol, pp.port);
    std::sort(ports.begin(), ports.end());
    if (ports.empty()) ports = {{Protocol::kUDP, 53}, {Protocol::kTCP, 53}};
    peer = Peer::Workload(symbols.Intern(spec_.namespace_), symbols.Intern("kube-dns"));
    for (const auto& [p, known] : connections.LabelledWorkloads()) {
      if (p.namespace_ != spec_.namespace_) continue;
      if (ServesDns(simulate::ConnectionSet::FromLabels(p, known))) {
        peer = p;
        break;
      }
    }
    for (const auto& l : spec_.labels) labels.push_back({l.key, l.value});
    rep = simulate::ConnectionSet::Synthesize(peer, tiers, symbols);
    if (auto known = connections.Labels(peer); known && !known->empty()) {
      rep = simulate::ConnectionSet::FromLabels(peer, *known);
    }
  }

  // Whether `p` is one of the DNS service's workloads (by its labels when they are known).
  bool IsDnsWorkload(const Peer& p) const {
    if (!p.is_workload() || p.namespace_ != spec_.namespace_) return false;
    auto known = connections_.Labels(p);
    if (!known || known->empty()) return p == peer;
    return ServesDns(simulate::ConnectionSet::FromLabels(p, *known));
  }

  std::vector<std::pair<Protocol, uint16_t>> ports;  // sorted, never empty
  Peer peer;
  std::vector<MatchLabel> labels;  // the tier model's, for a DNS service never seen
  simulate::Representative rep;    // the endpoint standing for the DNS service

 private:
  bool ServesDns(const simulate::Representative& r) const {
    for (const auto& [proto, port] : ports) {
      if (tiers_.IsDnsService(r.endpoint, proto, port)) return true;
    }
    return false;
  }

  const baseline::Baseline& connections_;
  const tier::TierModel& tiers_;
  const tier::DnsServiceSpec& spec_;
};

// Why no allow can close a side that an explicit deny rule denies.
Unresolved DeniedSide(const flow::ConnectionKey& key, policy::Direction dir,
                      const policy::DirectionVerdict& dv) {
  std::vector<std::string> refs;
  for (const policy::RuleRef& r : dv.denied_by) refs.push_back(r.ToString());
  return {key, absl::StrCat(policy::DirectionName(dir), " is denied by ",
                            absl::StrJoin(SortedUnique(refs), ", "),
                            ": a deny rule wins over every allow, so no allow can close "
                            "it; change that rule if the connection is wanted")};
}

// Evidence is added once per connection, even when two steps both want it.
void AddUnlessPresent(std::vector<Evidence>& v, const Evidence& e) {
  for (const Evidence& x : v) {
    if (x.key == e.key) return;
  }
  v.push_back(e);
}

// How far the subject's selector reaches beyond the subject itself; "" when it is exact.
std::string SubjectWidening(const Peer& subject, const SelectorChoice& c) {
  if (c.labels_unknown) {
    return absl::StrCat(
        "the labels of ", subject.ToString(),
        " are unknown (it was seen only through Cilium's L7 proxy, which reports the world "
        "identity without labels): this policy selects every pod of namespace ",
        subject.namespace_.view(),
        "; narrow its endpointSelector with the pod's labels "
        "(kubectl -n ",
        subject.namespace_.view(), " get pods --show-labels | grep ", subject.name.view(), ")");
  }
  if (!c.unique) {
    std::vector<std::string> also;
    for (const Peer& o : c.also_selects) also.push_back(o.ToString());
    return absl::StrCat("no stable label tells ", subject.ToString(), " apart from ",
                        absl::StrJoin(also, ", "), ": this policy selects them too");
  }
  return "";
}

// Where a workload's policy lives and what it is called: a CCNP (which must name the
// namespace in its selector) for a cluster-wide subject, else a CNP in the subject's namespace.
void NameWorkloadPolicy(const Peer& subject, SuggestedPolicy& p) {
  if (p.clusterwide) {
    p.subject_selector.push_back(MatchLabel{std::string(kNamespaceKey), subject.namespace_.str()});
    p.name = absl::StrCat("tierwatch-", NameSafe(subject.namespace_.view()), "-",
                          NameSafe(subject.name.view()));
    p.path = absl::StrCat("cluster-wide/", NameSafe(subject.namespace_.view()), "-",
                          NameSafe(subject.name.view()), ".yaml");
  } else {
    p.namespace_ = subject.namespace_.str();
    p.name = absl::StrCat("tierwatch-", NameSafe(subject.name.view()));
    p.path = absl::StrCat(NameSafe(subject.namespace_.view()), "/", NameSafe(subject.name.view()),
                          "/networkpolicy.yaml");
  }
}

// Two names that differ only in characters a name cannot hold get "-2", "-3", ...
void KeepPathUnique(SuggestedPolicy& p, std::set<std::string>& used_paths) {
  std::string base_path = p.path;
  for (int i = 2; !used_paths.insert(p.path).second; ++i) {
    p.path = absl::StrCat(base_path.substr(0, base_path.rfind(".yaml")), "-", i, ".yaml");
    p.name = absl::StrCat(p.name, "-", i);
  }
}

// Policies by path; unresolved connections by key and reason, each reason once.
void SortOutput(SuggestionSet& out) {
  std::sort(out.policies.begin(), out.policies.end(),
            [](const SuggestedPolicy& a, const SuggestedPolicy& b) { return a.path < b.path; });
  std::sort(out.unresolved.begin(), out.unresolved.end(),
            [](const Unresolved& a, const Unresolved& b) {
              if (a.key != b.key) return a.key < b.key;
              return a.reason < b.reason;
            });
  out.unresolved.erase(std::unique(out.unresolved.begin(), out.unresolved.end(),
                                   [](const Unresolved& a, const Unresolved& b) {
                                     return a.key == b.key && a.reason == b.reason;
                                   }),
                       out.unresolved.end());
}

// One run of Suggest. Its steps share the policies in force, the endpoint standing for each
// peer and the sides gathered so far; Suggest calls them in order, each building on the
// last.
class Suggester {
 public:
  Suggester(const baseline::Baseline& connections, const tier::TierModel& tiers,
            const SuggestOptions& options, SuggestionSet& out)
      : connections_(connections),
        tiers_(tiers),
        options_(options),
        out_(out),
        symbols_(connections.symbols()),
        eval_(out.base, policy::EvaluatorOptions()),
        chooser_(connections) {}

  // Each side (egress of the source, ingress of the destination) of each connection the
  // policies in force do not allow, under the subject whose policy must allow it.
  void GatherSidesNeedingAllow() {
    connections_.ForEach([&](const baseline::ConnectionRecord& rec) {
      ++out_.stats.connections;
      if (options_.only_dropped && !SeenDropped(rec.verdicts)) return;
      ++out_.stats.considered;
      const simulate::Representative& src = Rep(rec.key.source);
      const simulate::Representative& dst = Rep(rec.key.destination);
      flow::Flow f = simulate::ConnectionFlow(rec, src, dst);
      policy::Evaluation v = policy::EvaluateFlow(eval_, f);
      if (v.decision == policy::Decision::kAllowed) {
        ++out_.stats.already_allowed;
        return;
      }
      ++out_.stats.needing_allow;
      for (policy::Direction dir : {policy::Direction::kEgress, policy::Direction::kIngress}) {
        const bool egress = dir == policy::Direction::kEgress;
        const policy::DirectionVerdict& dv = egress ? v.egress : v.ingress;
        if (dv.decision == policy::Decision::kAllowed) continue;
        if (!dv.denied_by.empty()) {
          out_.unresolved.push_back(DeniedSide(rec.key, dir, dv));
          continue;
        }
        const Peer& subject = egress ? rec.key.source : rec.key.destination;
        const Peer& peer = egress ? rec.key.destination : rec.key.source;
        SubjectAgg* agg = Side(subject, dv);
        (egress ? agg->egress : agg->ingress)[peer].push_back(EvidenceOf(rec));
        ++(egress ? out_.stats.egress_sides : out_.stats.ingress_sides);
      }
    });
  }

  // toFQDNs learns addresses only from lookups Cilium's DNS proxy saw: a workload given
  // toFQDNs needs an egress DNS rule to the DNS service, and its lookups must complete. Where
  // the policies in force give no DNS rule, the lookups are added as connections (declared
  // when they were not seen): both sides, like any other.
  void AddDnsLookupsForFqdn(const DnsService& dns) {
    for (const Peer& subject : SubjectsWithoutDnsVisibility(dns)) {
      subjects_[subject].needs_dns_rule = true;
      for (const auto& [e, lookup] : DnsLookupsOf(subject, dns)) {
        // The egress element carries the DNS rule even where the lookups are allowed already.
        AddUnlessPresent(subjects_[subject].egress[dns.peer], e);
        policy::Evaluation v =
            policy::EvaluateFlow(eval_, simulate::ConnectionFlow(lookup, Rep(subject), dns.rep));
        if (v.ingress.decision != policy::Decision::kAllowed && v.ingress.denied_by.empty()) {
          AddUnlessPresent(Side(dns.peer, v.ingress)->ingress[subject], e);
        }
      }
    }
  }

  // One policy per subject that can be selected and has a rule to allow.
  void BuildPolicies(const DnsService& dns) {
    std::set<std::string> used_paths;
    for (auto& [subject, agg] : subjects_) {
      SuggestedPolicy p;
      p.subject = subject;
      p.clusterwide = agg.clusterwide;
      p.caused_by.assign(agg.caused_by.begin(), agg.caused_by.end());
      if (!ChooseSubject(subject, agg, dns, p)) continue;
      KeepPathUnique(p, used_paths);
      if (p.subject_selector.empty()) continue;

      RuleBuilder builder(
          agg, chooser_, options_, [&dns](const Peer& peer) { return dns.IsDnsWorkload(peer); },
          dns.ports, dns.peer, dns.labels, out_.unresolved);
      p.egress = builder.Build(true);
      p.ingress = builder.Build(false);

      if (p.egress.empty() && p.ingress.empty()) continue;
      out_.policies.push_back(std::move(p));
    }
  }

 private:
  // The endpoint standing for `p` in evaluations, made once per peer.
  const simulate::Representative& Rep(const Peer& p) {
    auto& slot = reps_[p];
    if (!slot) {
      slot = std::make_unique<simulate::Representative>(
          simulate::RepresentativeFor(connections_, p, tiers_, symbols_));
    }
    return *slot;
  }

  // The subject's gathered sides. A non-workload or Tier 0 subject gets a cluster-wide
  // policy, which names the policies that put it into default-deny.
  SubjectAgg* Side(const Peer& subject, const policy::DirectionVerdict& v) {
    SubjectAgg& agg = subjects_[subject];
    agg.subject = subject;
    tier::TierAssignment t = tiers_.TierOf(subject);
    agg.clusterwide = !subject.is_workload() || t.level == 0;
    if (agg.clusterwide) {
      for (std::string& c : CausedBy(v)) agg.caused_by.insert(std::move(c));
    }
    return &agg;
  }

  // The workloads given toFQDNs whose egress to the DNS service carries no DNS rule yet.
  std::vector<Peer> SubjectsWithoutDnsVisibility(const DnsService& dns) {
    const uint16_t dns_port = dns.ports.front().second;
    std::vector<Peer> out;
    for (const auto& [subject, agg] : subjects_) {
      bool has_fqdn = std::any_of(agg.egress.begin(), agg.egress.end(), [](const auto& kv) {
        return kv.first.kind == flow::PeerKind::kFqdn;
      });
      if (has_fqdn && subject.is_workload() &&
          !HasDnsVisibility(eval_, Rep(subject), dns.rep, dns_port)) {
        out.push_back(subject);
      }
    }
    return out;
  }

  // The subject's DNS lookups as seen; when none was, every DNS port as "not seen, added".
  std::vector<std::pair<Evidence, baseline::ConnectionRecord>> DnsLookupsOf(
      const Peer& subject, const DnsService& dns) const {
    std::vector<std::pair<Evidence, baseline::ConnectionRecord>> lookups;
    for (const auto& [proto, port] : dns.ports) {
      flow::ConnectionKey key{subject, dns.peer, proto, port};
      if (std::optional<baseline::ConnectionRecord> rec = connections_.Find(key)) {
        lookups.emplace_back(EvidenceOf(*rec), *rec);
      }
    }
    if (!lookups.empty()) return lookups;
    for (const auto& [proto, port] : dns.ports) {
      Evidence e;
      e.key = flow::ConnectionKey{subject, dns.peer, proto, port};
      e.added = true;
      e.reason = absl::StrCat(subject.ToString(),
                              "'s DNS lookups, not seen, added so that its toFQDNs works: the "
                              "DNS rule sends them through Cilium's DNS proxy, where toFQDNs "
                              "learns addresses");
      baseline::ConnectionRecord rec;
      rec.key = e.key;
      lookups.emplace_back(std::move(e), std::move(rec));
    }
    return lookups;
  }

  // The policy's subject: its selector, name and path. False (and every connection of the
  // subject unresolved) when no selector can single the workload out.
  bool ChooseSubject(const Peer& subject, const SubjectAgg& agg, const DnsService& dns,
                     SuggestedPolicy& p) {
    if (!subject.is_workload()) {
      p.subject_selector = {MatchLabel{absl::StrCat("reserved:", subject.name.view()), ""}};
      p.name = absl::StrCat("tierwatch-reserved-", NameSafe(subject.name.view()));
      p.path = absl::StrCat("cluster-wide/reserved-", NameSafe(subject.name.view()), ".yaml");
      return true;
    }
    std::string why;
    std::optional<SelectorChoice> c = chooser_.Choose(subject, &why);
    if (subject.name.empty()) {
      c.reset();
      why = absl::StrCat(subject.ToString(),
                         " has no stable name or label: a selector cannot single it out");
    }
    if (!c && subject == dns.peer) c = SelectorChoice{dns.labels, true, {}};
    if (!c) {
      for (const auto* m : {&agg.egress, &agg.ingress}) {
        for (const auto& [peer, ev] : *m) {
          for (const Evidence& e : ev) out_.unresolved.push_back({e.key, why});
        }
      }
      return false;
    }
    p.subject_selector = c->labels;
    p.subject_widening = SubjectWidening(subject, *c);
    if (c->labels_unknown && !p.clusterwide) {  // say the namespace, never select {}
      p.subject_selector.push_back(
          MatchLabel{std::string(kNamespaceKey), subject.namespace_.str()});
    }
    NameWorkloadPolicy(subject, p);
    return true;
  }

  const baseline::Baseline& connections_;
  const tier::TierModel& tiers_;
  const SuggestOptions& options_;
  SuggestionSet& out_;
  flow::SymbolTable& symbols_;
  policy::Evaluator eval_;  // over out_.base, which must stay put while this lives
  SelectorChooser chooser_;
  absl::flat_hash_map<Peer, std::unique_ptr<simulate::Representative>> reps_;
  std::map<Peer, SubjectAgg> subjects_;
};

}  // namespace

absl::StatusOr<SuggestionSet> Suggest(const baseline::Baseline& connections,
                                      const policy::PolicySet& existing,
                                      const tier::TierModel& tiers, const SuggestOptions& options) {
  SuggestionSet out;
  out.source = options.source.empty() ? connections.source() : options.source;
  if (absl::Status s = ChooseBasePolicies(connections, existing, tiers, out); !s.ok()) return s;

  // Each step builds on the sides the one before gathered: the DNS lookups join the sides
  // of the workloads given toFQDNs, and the policies are built from every side.
  Suggester run(connections, tiers, options, out);
  run.GatherSidesNeedingAllow();
  const DnsService dns(connections, tiers, connections.symbols());
  run.AddDnsLookupsForFqdn(dns);
  run.BuildPolicies(dns);
  SortOutput(out);
  return out;
}

}  // namespace tw::suggest
