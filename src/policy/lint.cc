// The linter's rules. Each rule reasons over a small symbolic cluster built from the set
// (LintModel in lint_model.cc): representative endpoints, which rules select them, and
// side verdicts from the evaluator. Why each rule decides the way it does is documented
// next to it and, for operators, in docs/lint.md.
#include "policy/lint.h"

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "policy/lint_model.h"

namespace tw::policy {

namespace {

using lint_internal::LintModel;
using lint_internal::Probe;
using lint_internal::Rep;
using lint_internal::RuleRefLite;

constexpr absl::string_view kAllowNothing = "allow-nothing";
constexpr absl::string_view kTier0DefaultDeny = "tier0-default-deny";
constexpr absl::string_view kFqdnNoDns = "fqdn-no-dns-visibility";
constexpr absl::string_view kOneWay = "one-way";
constexpr absl::string_view kDnsTcpMissing = "dns-tcp-missing";
constexpr absl::string_view kExclusions = "tier0-exclusions-inconsistent";
constexpr absl::string_view kHealthIngress = "health-and-ingress-endpoints";
constexpr absl::string_view kApiserver = "apiserver-egress-missing";
constexpr absl::string_view kSchema = "schema";
constexpr absl::string_view kReimposes = "reimposes-default-deny";

class Sink {
 public:
  explicit Sink(LintFindings* out) : out_(out) {}
  void Add(absl::string_view id, absl::string_view name, Severity sev, const Policy& p, int line,
           std::string message) {
    Diagnostic f = Diagnostic::At(sev, p.file, line > 0 ? line : p.line, std::move(message));
    f.code = std::string(id);
    f.code_name = std::string(name);
    f.path = p.DisplayName();
    out_->push_back(std::move(f));
  }

 private:
  LintFindings* out_;
};

// --- small helpers --------------------------------------------------------------------

std::vector<Direction> BothDirections() { return {Direction::kIngress, Direction::kEgress}; }

Section AllowSection(Direction d) {
  return d == Direction::kIngress ? Section::kIngress : Section::kEgress;
}
Section DenySection(Direction d) {
  return d == Direction::kIngress ? Section::kIngressDeny : Section::kEgressDeny;
}
std::optional<bool> ExplicitDefaultDeny(const Rule& r, Direction d) {
  return d == Direction::kIngress ? r.enable_default_deny_ingress : r.enable_default_deny_egress;
}

// `{}`: no peer field, no toPorts, no icmps. Cilium creates an entry that allows nothing.
bool ElementEmpty(const RuleElement& e) {
  return e.peers.kinds.empty() && !e.peers.wildcard && !e.has_to_ports && !e.has_icmps;
}

// The direction's allow list has elements and all of them are `{}`, and there is no deny
// list: the rule only switches the direction to default-deny (the documented idiom).
bool OnlyEmptyElements(const Rule& r, Direction d) {
  const auto& allow = r.Elements(AllowSection(d));
  if (allow.empty() || !r.Elements(DenySection(d)).empty()) return false;
  return std::all_of(allow.begin(), allow.end(), ElementEmpty);
}

// A rule whose purpose in direction d is default-deny: `d: [{}]` (or a KNP isolating the
// direction with policyTypes and no rules).
bool DenyIntent(const Rule& r, Direction d) {
  if (!r.DefaultDeny(d)) return false;
  if (r.Elements(DenySection(d)).size() > 0) return false;
  const auto& allow = r.Elements(AllowSection(d));
  return std::all_of(allow.begin(), allow.end(), ElementEmpty);
}

// Whether a free-text description says the policy allows something (and does not also say
// it denies): "Allow observability namespace full egress".
bool DescriptionSaysAllows(absl::string_view description) {
  std::string d = absl::AsciiStrToLower(description);
  for (absl::string_view deny : {"deny", "denies", "block", "drop", "isolat", "restrict"})
    if (absl::StrContains(d, deny)) return false;
  for (absl::string_view allow :
       {"allow", "permit", "full egress", "full ingress", "full access", "open "})
    if (absl::StrContains(d, allow)) return true;
  return false;
}

std::string Names(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return absl::StrJoin(names, ", ");
}

std::string PolicyNames(const std::vector<RuleRefLite>& refs) {
  std::vector<std::string> n;
  for (const auto& r : refs) n.push_back(r.policy->DisplayName());
  return Names(std::move(n));
}

std::string ProbesText(const std::vector<Probe>& probes, size_t max = 6) {
  std::vector<std::string> parts;
  std::set<std::string> seen;
  for (const Probe& p : probes) {
    std::string s = p.ToString();
    if (seen.insert(s).second) parts.push_back(s);
  }
  if (parts.size() > max) {
    size_t extra = parts.size() - max;
    parts.resize(max);
    parts.push_back(absl::StrCat("and ", extra, " more"));
  }
  return absl::StrJoin(parts, ", ");
}

// The line to point at for a rule's subject.
int SelectorLine(const Rule& r) {
  if (r.endpoint_selector && r.endpoint_selector->line > 0) return r.endpoint_selector->line;
  return r.line;
}

// =====================================================================================
// TW001 allow-nothing
//
// `egress: [{}]` allows nothing and switches egress to default-deny. That is right in a
// default-deny policy and wrong anywhere else. Two symbolic signs that the author meant
// something else: (a) another policy's `[{}]` already puts every endpoint this rule
// selects into default-deny for that direction, so the rule adds nothing; (b) its
// description says it allows. A `[{}]` with enableDefaultDeny false does nothing at all.
void CheckAllowNothing(const LintModel& m, Sink& sink) {
  for (const Policy& p : m.policies().policies) {
    for (const Rule& r : p.rules) {
      for (Direction d : BothDirections()) {
        if (!OnlyEmptyElements(r, d)) continue;
        const RuleElement& first = r.Elements(AllowSection(d)).front();
        const std::string dir(DirectionName(d));
        if (!r.DefaultDeny(d)) {
          sink.Add(
              "TW001", kAllowNothing, Severity::kError, p, first.line,
              absl::StrCat("`", dir, ": [{}]` with enableDefaultDeny.", dir,
                           " false does nothing: an empty rule allows nothing and this "
                           "rule switches nothing to default-deny. To allow all ",
                           dir, ", write `",
                           d == Direction::kEgress ? "toEntities" : "fromEntities", ": [all]`."));
          continue;
        }
        std::vector<std::string> reasons;
        // (a) covered by other policies' deny-all.
        std::vector<const Rep*> subjects = m.Subjects(r);
        if (!subjects.empty()) {
          std::vector<std::string> by;
          bool all_covered = true;
          int considered = 0;
          for (const Rep* s : subjects) {
            // Debug-bypass pods are left out on purpose by a default-deny policy; whether
            // this rule re-imposes default-deny on them does not make it useful.
            if (s->bypass) continue;
            ++considered;
            bool covered = false;
            for (const RuleRefLite& ref : m.DefaultDenyBy(*s, d)) {
              if (ref.policy == &p || !DenyIntent(*ref.rule, d)) continue;
              covered = true;
              by.push_back(ref.policy->DisplayName());
            }
            if (!covered) {
              all_covered = false;
              break;
            }
          }
          if (all_covered && considered > 0) {
            reasons.push_back(absl::StrCat("every endpoint it selects is already in ", dir,
                                           " default-deny by ", Names(by),
                                           ", so this rule adds nothing"));
          }
        }
        // (b) the description says it allows.
        if (DescriptionSaysAllows(r.description)) {
          reasons.push_back(
              absl::StrCat("its description says it allows (\"", r.description, "\")"));
        }
        if (reasons.empty()) continue;
        sink.Add(
            "TW001", kAllowNothing, Severity::kError, p, first.line,
            absl::StrCat("`", dir, ": [{}]` allows nothing: an empty rule switches ", dir,
                         " to default-deny with no exception (", Names(m.NamespacesOf(subjects)),
                         "), yet ", absl::StrJoin(reasons, "; and "),
                         ". Its author meant something else: full ", dir, " is `",
                         d == Direction::kEgress ? "toEntities" : "fromEntities",
                         ": [all]`; better, list what the workloads need."));
      }
    }
  }
}

// =====================================================================================
// TW002 tier0-default-deny
//
// A rule switches direction d to default-deny for every endpoint its selector matches,
// unless enableDefaultDeny.d is false. If the selector can match a pod in a Tier 0
// namespace (a representative pod there matches), Tier 0 is policed.
void CheckTier0DefaultDeny(const LintModel& m, const LintOptions& opts, Sink& sink) {
  for (const Policy& p : m.policies().policies) {
    for (const Rule& r : p.rules) {
      if (!r.endpoint_selector) continue;
      std::vector<std::string> dirs;
      for (Direction d : BothDirections())
        if (r.DefaultDeny(d)) dirs.emplace_back(DirectionName(d));
      if (dirs.empty()) continue;
      std::vector<std::string> tier0;
      for (const Rep* s : m.Subjects(r)) {
        if (s->kind != Rep::kPod) continue;
        if (opts.IsTier0(s->ns)) tier0.push_back(s->ns);
      }
      if (tier0.empty()) continue;
      std::vector<std::string> fix;
      for (const auto& d : dirs) fix.push_back(absl::StrCat(d, ": false"));
      sink.Add("TW002", kTier0DefaultDeny, Severity::kError, p, SelectorLine(r),
               absl::StrCat("selector ", r.endpoint_selector->ToString(),
                            " selects pods in Tier 0 namespace(s) ", Names(tier0),
                            " and this rule switches ", absl::StrJoin(dirs, " and "),
                            " to default-deny for them (enableDefaultDeny is not false): they "
                            "then accept only what this set allows. Tier 0 must never be "
                            "policed: set enableDefaultDeny: {",
                            absl::StrJoin(fix, ", "), "} or exclude the Tier 0 namespaces."));
    }
  }
}

// =====================================================================================
// TW003 fqdn-no-dns-visibility
//
// toFQDNs IPs come only from DNS answers that passed Cilium's DNS proxy, which is engaged
// by an L7 DNS rule (toPorts.rules.dns on port 53) in some egress policy selecting the
// same endpoint. For the toFQDNs element's subjects, look for such a rule in any policy
// selecting them, whose patterns admit the names the element lists.
bool DnsRuleCovers(const DnsRule& dns, const FqdnSelector& fqdn) {
  FqdnSelector as_selector;
  as_selector.match_name = dns.match_name;
  as_selector.match_pattern = dns.match_pattern;
  if (dns.match_pattern == "*") return true;
  if (!fqdn.match_name.empty()) return as_selector.Matches(fqdn.match_name);
  // A pattern: instantiate its wildcards and ask whether the DNS rule allows that name.
  std::string name = fqdn.match_pattern;
  if (absl::StartsWith(name, "**.")) name = "x." + name.substr(3);
  absl::StrReplaceAll({{"*", "x"}}, &name);
  return absl::EqualsIgnoreCase(dns.match_pattern, fqdn.match_pattern) || as_selector.Matches(name);
}

void CheckFqdnDnsVisibility(const LintModel& m, const LintOptions& opts, Sink& sink) {
  auto is_dns_port = [&](const PortProtocol& pp) {
    if (pp.IsNamed()) return false;
    for (uint16_t port : opts.dns_ports) {
      if (pp.port == port || (pp.IsRange() && pp.port <= port && port <= pp.end_port)) return true;
    }
    return false;
  };
  for (const Policy& p : m.policies().policies) {
    for (const Rule& r : p.rules) {
      for (const RuleElement& e : r.egress) {
        if (e.peers.fqdns.empty()) continue;
        std::vector<const Rep*> subjects;
        for (const Rep* s : m.Subjects(r))
          if (s->kind == Rep::kPod) subjects.push_back(s);
        if (subjects.empty()) continue;
        std::vector<const Rep*> uncovered;
        for (const Rep* s : subjects) {
          std::vector<const DnsRule*> dns_rules;
          for (const RuleRefLite& ref : m.SelectingRules(*s)) {
            for (const RuleElement& de : ref.rule->egress) {
              for (const PortRule& pr : de.to_ports) {
                if (pr.rules.dns.empty()) continue;
                if (!std::any_of(pr.ports.begin(), pr.ports.end(), is_dns_port)) continue;
                for (const DnsRule& d : pr.rules.dns) dns_rules.push_back(&d);
              }
            }
          }
          bool covered = !dns_rules.empty();
          for (const FqdnSelector& f : e.peers.fqdns) {
            if (!covered) break;
            covered = std::any_of(dns_rules.begin(), dns_rules.end(),
                                  [&](const DnsRule* d) { return DnsRuleCovers(*d, f); });
          }
          if (!covered) uncovered.push_back(s);
        }
        if (uncovered.empty()) continue;
        std::vector<std::string> names;
        for (const FqdnSelector& f : e.peers.fqdns) names.push_back(f.ToString());
        bool all = uncovered.size() == subjects.size();
        sink.Add(
            "TW003", kFqdnNoDns, all ? Severity::kError : Severity::kWarning, p, e.line,
            absl::StrCat("toFQDNs (", absl::StrJoin(names, "; "), ") for ", all ? "" : "some of ",
                         m.DescribeReps(uncovered), ", but no policy gives ",
                         all ? "them" : "those", " an egress DNS rule (toPorts.rules.dns) on port ",
                         absl::StrJoin(opts.dns_ports, "/"),
                         " that admits these names: their lookups never pass Cilium's DNS proxy, "
                         "the FQDN selector never learns an IP and these connections are "
                         "dropped. Add `rules: {dns: [{matchPattern: \"*\"}]}` to the egress rule "
                         "to kube-dns (53/UDP and 53/TCP)."));
      }
    }
  }
}

// =====================================================================================
// TW004 one-way
//
// Cilium checks both ends: an egress allow completes only if the destination's ingress
// admits it, and an ingress allow only if the source's egress lets it out. For every
// allow element, every peer representative is probed on the element's ports: a peer in
// default-deny on its side that completes none of the probes with any of the element's
// subjects is "blocked". Per peer item (each selector / entity of the element): all
// matched peers blocked -> the item is one-way. Error when every item is one-way; warning
// when some are, or when a selector that pins particular workloads is only partly blocked.
std::vector<const Rep*> WithoutBypass(const std::vector<const Rep*>& reps) {
  std::vector<const Rep*> out;
  for (const Rep* r : reps)
    if (!r->bypass) out.push_back(r);
  return out.empty() ? reps : out;
}

void CheckOneWay(const LintModel& m, Sink& sink) {
  for (const Policy& p : m.policies().policies) {
    for (const Rule& r : p.rules) {
      if (!r.endpoint_selector) continue;
      // Debug-bypass pods are an exception for troubleshooting: an allow that completes
      // only for them is still one-way in normal operation. They count only where a
      // selector names nothing else.
      std::vector<const Rep*> subjects = WithoutBypass(m.Subjects(r));
      if (subjects.empty()) continue;
      for (Direction d : BothDirections()) {
        const Direction other = d == Direction::kEgress ? Direction::kIngress : Direction::kEgress;
        for (const RuleElement& e : r.Elements(AllowSection(d))) {
          if (ElementEmpty(e)) continue;  // TW001's
          std::vector<Probe> probes = m.ProbesFor(e);
          if (probes.empty()) continue;
          struct Item {
            std::string text;
            bool pinned = false;
            int matched = 0;
            int blocked = 0;
            std::vector<RuleRefLite> dd_by;
          };
          std::vector<Item> items;
          for (const lint_internal::PeerItem& peer : m.PeerItems(e)) {
            Item item;
            item.text = peer.text;
            item.pinned = peer.pinned;
            for (const Rep* qp : WithoutBypass(*peer.matched)) {
              const Rep& q = *qp;
              ++item.matched;
              if (!q.SubjectCapable()) continue;  // never enforced: completes
              std::vector<RuleRefLite> dd = m.DefaultDenyBy(q, other);
              if (dd.empty()) continue;
              bool completes = false;
              for (const Rep* s : subjects) {
                for (const Probe& pr : probes) {
                  if (m.SideDecision(other, q, *s, pr) != Decision::kDenied) {
                    completes = true;
                    break;
                  }
                }
                if (completes) break;
              }
              if (!completes) {
                ++item.blocked;
                item.dd_by.insert(item.dd_by.end(), dd.begin(), dd.end());
              }
            }
            if (item.matched > 0) items.push_back(std::move(item));
          }
          if (items.empty()) continue;
          int fully = 0;
          bool partial_pinned = false;
          std::vector<std::string> blocked_texts;
          std::vector<RuleRefLite> dd_by;
          for (const Item& it : items) {
            if (it.blocked == it.matched) {
              ++fully;
              blocked_texts.push_back(it.text);
              dd_by.insert(dd_by.end(), it.dd_by.begin(), it.dd_by.end());
            } else if (it.blocked > 0 && it.pinned) {
              partial_pinned = true;
              blocked_texts.push_back(absl::StrCat("part of ", it.text));
              dd_by.insert(dd_by.end(), it.dd_by.begin(), it.dd_by.end());
            }
          }
          if (fully == 0 && !partial_pinned) continue;
          const bool error = fully == static_cast<int>(items.size());
          std::string what =
              d == Direction::kEgress
                  ? absl::StrCat(
                        "allows egress to ", absl::StrJoin(blocked_texts, ", "), " on ",
                        ProbesText(probes), ", but ", error ? "those" : "some of those",
                        " endpoints are in ingress default-deny (by ", PolicyNames(dd_by),
                        ") and no ingress rule there admits ", m.DescribeReps(subjects),
                        " on these ports: Cilium checks both ends, so the connection is "
                        "dropped at the destination. Allow it on the destination's ingress too.")
                  : absl::StrCat("allows ingress from ", absl::StrJoin(blocked_texts, ", "), " on ",
                                 ProbesText(probes), ", but ", error ? "those" : "some of those",
                                 " peers are in egress default-deny (by ", PolicyNames(dd_by),
                                 ") and no egress rule lets them reach ", m.DescribeReps(subjects),
                                 " on these ports: Cilium checks both ends, so the connection is "
                                 "dropped at the source. Allow it on the source's egress too.");
          sink.Add("TW004", kOneWay, error ? Severity::kError : Severity::kWarning, p, e.line,
                   std::move(what));
        }
      }
    }
  }
}

// =====================================================================================
// TW005 dns-tcp-missing
//
// DNS falls back to TCP for answers over 512 bytes (and DNSSEC, zone transfers): a policy
// that allows UDP/53 but nowhere TCP/53 in the same direction breaks those lookups.
bool CoversTcpPort(const RuleElement& e, uint16_t port) {
  if (e.L3Only()) return true;
  for (const PortRule& pr : e.to_ports) {
    for (const PortProtocol& pp : pr.ports) {
      if (pp.IsNamed()) continue;
      if (pp.protocol != L4Proto::kTCP && pp.protocol != L4Proto::kAny) continue;
      if (pp.port == 0 || pp.port == port ||
          (pp.IsRange() && pp.port <= port && port <= pp.end_port))
        return true;
    }
  }
  return false;
}

void CheckDnsTcp(const LintModel& m, const LintOptions& opts, Sink& sink) {
  for (const Policy& p : m.policies().policies) {
    for (Direction d : BothDirections()) {
      for (uint16_t port : opts.dns_ports) {
        std::vector<const PortProtocol*> udp_only;
        bool tcp = false;
        for (const Rule& r : p.rules) {
          for (const RuleElement& e : r.Elements(AllowSection(d))) {
            if (CoversTcpPort(e, port)) tcp = true;
            for (const PortRule& pr : e.to_ports)
              for (const PortProtocol& pp : pr.ports)
                if (!pp.IsNamed() && pp.port == port && !pp.IsRange() &&
                    pp.protocol == L4Proto::kUDP)
                  udp_only.push_back(&pp);
          }
        }
        if (tcp || udp_only.empty()) continue;
        for (const PortProtocol* pp : udp_only) {
          sink.Add("TW005", kDnsTcpMissing, Severity::kWarning, p, pp->line,
                   absl::StrCat("allows DNS (", DirectionName(d), ") on ", port,
                                "/UDP only: answers larger than 512 bytes, DNSSEC and "
                                "truncated replies retry over TCP and are dropped. Allow ",
                                port, "/TCP next to ", port, "/UDP."));
        }
      }
    }
  }
}

// =====================================================================================
// TW006 tier0-exclusions-inconsistent
//
// The namespace NotIn list of a subject selector is an exclusion list. Every such list
// should be the tier model's Tier 0; without a tier model, the lists should agree.
void CheckExclusions(const LintModel& m, const LintOptions& opts, Sink& sink) {
  struct ListAt {
    const Policy* policy;
    const Rule* rule;
    std::vector<std::string> values;
  };
  std::vector<ListAt> lists;
  for (const Policy& p : m.policies().policies) {
    for (const Rule& r : p.rules) {
      if (!r.endpoint_selector) continue;
      for (const Requirement& req : r.endpoint_selector->requirements) {
        if (req.implicit || req.op != SelectorOp::kNotIn) continue;
        if (!lint_internal::IsNamespaceKey(req)) continue;
        std::vector<std::string> v = req.values;
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
        lists.push_back({&p, &r, std::move(v)});
      }
    }
  }
  if (lists.empty()) return;
  std::vector<std::string> reference = opts.tier0_namespaces;
  std::sort(reference.begin(), reference.end());
  reference.erase(std::unique(reference.begin(), reference.end()), reference.end());
  bool from_model = !reference.empty();
  if (!from_model) {
    std::map<std::vector<std::string>, int> counts;
    for (const auto& l : lists) ++counts[l.values];
    int best = 0;
    for (const auto& [v, n] : counts) {
      if (n > best) {
        best = n;
        reference = v;
      }
    }
  }
  for (const auto& l : lists) {
    if (l.values == reference) continue;
    std::vector<std::string> missing, extra;
    std::set_difference(reference.begin(), reference.end(), l.values.begin(), l.values.end(),
                        std::back_inserter(missing));
    std::set_difference(l.values.begin(), l.values.end(), reference.begin(), reference.end(),
                        std::back_inserter(extra));
    std::vector<std::string> others;
    for (const auto& o : lists) {
      if (o.values != l.values)
        others.push_back(
            absl::StrCat(o.policy->DisplayName(), " [", absl::StrJoin(o.values, ", "), "]"));
    }
    std::string diff;
    if (!missing.empty())
      diff = absl::StrCat("it leaves out ", absl::StrJoin(missing, ", "),
                          missing.size() == 1 ? ", which is " : ", which are ",
                          from_model ? "Tier 0" : "excluded elsewhere");
    if (!extra.empty())
      absl::StrAppend(&diff, diff.empty() ? "it" : "; it", " also excludes ",
                      absl::StrJoin(extra, ", "),
                      from_model ? ", which the tier model does not put in Tier 0" : "");
    sink.Add(
        "TW006", kExclusions, Severity::kWarning, *l.policy, SelectorLine(*l.rule),
        absl::StrCat("namespace exclusion list [", absl::StrJoin(l.values, ", "), "] differs from ",
                     from_model ? "the tier model's Tier 0 [" : "the most common list [",
                     absl::StrJoin(reference, ", "), "]: ", diff,
                     others.empty() ? "" : absl::StrCat(". Other lists: ", Names(others)),
                     ". Policies that disagree on Tier 0 police the namespaces in between."));
  }
}

// =====================================================================================
// TW007 health-and-ingress-endpoints
//
// A CCNP subject selector `{}` or one built from NotIn/DoesNotExist also matches Cilium's
// reserved health and ingress endpoints (they carry no namespace label, and NotIn matches
// an absent label). If the rule switches default-deny on for them, cilium-health reports
// nodes unreachable and Cilium Ingress answers 403 — unless the set allows their traffic:
// a policy written for that endpoint (its selector names reserved:health / reserved:ingress)
// with allow rules in that direction.
void CheckHealthIngress(const LintModel& m, Sink& sink) {
  for (const Policy& p : m.policies().policies) {
    if (!p.IsClusterwide()) continue;
    for (const Rule& r : p.rules) {
      if (!r.endpoint_selector) continue;
      std::vector<std::string> hits;
      for (const Rep& rep : m.reps()) {
        if (rep.kind != Rep::kHealth && rep.kind != Rep::kIngress) continue;
        if (!r.endpoint_selector->Matches(rep.parsed)) continue;
        const absl::string_view entity = rep.kind == Rep::kHealth ? "health" : "ingress";
        std::vector<std::string> dirs;
        for (Direction d : BothDirections()) {
          if (!r.DefaultDeny(d)) continue;
          if (m.ReservedTrafficAllowed(entity, d)) continue;
          dirs.emplace_back(DirectionName(d));
        }
        if (!dirs.empty())
          hits.push_back(absl::StrCat(rep.kind == Rep::kHealth
                                          ? "the health endpoint (cilium-health)"
                                          : "the ingress endpoint (Cilium Ingress/Gateway)",
                                      " in ", absl::StrJoin(dirs, " and ")));
      }
      if (hits.empty()) continue;
      sink.Add("TW007", kHealthIngress, Severity::kWarning, p, SelectorLine(r),
               absl::StrCat("cluster-wide selector ", r.endpoint_selector->ToString(),
                            r.endpoint_selector->SelectsAll()
                                ? " selects every endpoint, Cilium's reserved ones included,"
                                : " also selects Cilium's reserved endpoints, which carry no "
                                  "namespace label (NotIn matches an absent label),",
                            " and switches default-deny on for ", absl::StrJoin(hits, "; "),
                            ": node health checks fail and Cilium Ingress answers 403. Add "
                            "`{key: k8s:io.kubernetes.pod.namespace, operator: Exists}` to the "
                            "selector, or allow their traffic (Cilium's "
                            "examples/policies/kubernetes/clusterwide/health.yaml)."));
    }
  }
}

// =====================================================================================
// TW008 apiserver-egress-missing
//
// Controllers live on the kube-apiserver. For each controller namespace, the
// representatives there that are in egress default-deny are probed towards the
// kube-apiserver entity on each backend port. None reaching it -> warning; some ports
// only -> info (policy sees the backend port: 6443 on Talos/kubeadm/k3s, 443 on managed).
void CheckApiserver(const LintModel& m, const LintOptions& opts, Sink& sink) {
  const Rep* apiserver = m.ApiserverRep();
  if (apiserver == nullptr || opts.apiserver_ports.empty()) return;
  for (const std::string& ns : opts.controller_namespaces) {
    std::vector<const Rep*> dd_reps;
    for (const Rep& rep : m.reps())
      if (rep.kind == Rep::kPod && rep.ns == ns &&
          !m.DefaultDenyBy(rep, Direction::kEgress).empty())
        dd_reps.push_back(&rep);
    if (dd_reps.empty()) continue;
    std::set<uint16_t> reached;
    for (const Rep* rep : dd_reps) {
      for (uint16_t port : opts.apiserver_ports) {
        if (m.SideDecision(Direction::kEgress, *rep, *apiserver, Probe{L4Proto::kTCP, port}) !=
            Decision::kDenied)
          reached.insert(port);
      }
    }
    if (reached.size() ==
        std::set<uint16_t>(opts.apiserver_ports.begin(), opts.apiserver_ports.end()).size())
      continue;
    // Point at the rule most responsible: one that puts this namespace (and only it, as
    // far as its namespace is concerned) into egress default-deny, else any.
    std::vector<RuleRefLite> dd;
    for (const Rep* rep : dd_reps) {
      auto v = m.DefaultDenyBy(*rep, Direction::kEgress);
      dd.insert(dd.end(), v.begin(), v.end());
    }
    const RuleRefLite* best = nullptr;
    int best_score = -1;
    for (const RuleRefLite& ref : dd) {
      int score = m.PinsNamespace(*ref.rule, ns) ? 2 : 0;
      if (score > best_score ||
          (score == best_score && std::tie(ref.policy->file, ref.rule->line) <
                                      std::tie(best->policy->file, best->rule->line))) {
        best = &ref;
        best_score = score;
      }
    }
    std::vector<std::string> ports;
    for (uint16_t port : opts.apiserver_ports) ports.push_back(absl::StrCat(port, "/TCP"));
    int line = best->rule->egress.empty() ? best->rule->line : best->rule->egress.front().line;
    if (reached.empty()) {
      sink.Add("TW008", kApiserver, Severity::kWarning, *best->policy, line,
               absl::StrCat("controller namespace ", ns, " is in egress default-deny (by ",
                            PolicyNames(dd), ") with no egress to the kube-apiserver on ",
                            absl::StrJoin(ports, " or "),
                            ": its controllers cannot watch or update their resources. Add "
                            "`toEntities: [kube-apiserver]` on ",
                            absl::StrJoin(ports, " and "), "."));
    } else {
      std::vector<std::string> missing;
      for (uint16_t port : opts.apiserver_ports)
        if (!reached.count(port)) missing.push_back(absl::StrCat(port, "/TCP"));
      sink.Add("TW008", kApiserver, Severity::kInfo, *best->policy, line,
               absl::StrCat("controller namespace ", ns,
                            " reaches the kube-apiserver only on some backend ports; not on ",
                            absl::StrJoin(missing, ", "),
                            ". Policy sees the port after service translation: 6443 on "
                            "Talos/kubeadm/k3s, 443 on most managed clusters."));
    }
  }
}

// =====================================================================================
// TW010 reimposes-default-deny
//
// With a default-deny policy in the set, every other policy should only add allows. One
// that has rules for a direction and leaves enableDefaultDeny unset switches that
// direction to default-deny again for what it selects — including debug-bypass pods that
// the default-deny policy leaves out, so the bypass silently stops working.
void CheckReimposes(const LintModel& m, Sink& sink) {
  // Per direction: only a policy imposing default-deny in the same direction makes another
  // policy's default-deny in that direction a re-imposition.
  auto deny_in = [&](Direction d) {
    std::vector<std::string> names;
    for (const Policy& p : m.policies().policies) {
      for (const Rule& r : p.rules) {
        if (DenyIntent(r, d)) {
          names.push_back(p.DisplayName());
          break;
        }
      }
    }
    return names;
  };
  // Sorted and without repeats: every finding names all of them (but its own policy), so
  // they are sorted once here, not once per finding.
  auto sorted_unique = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  };
  const std::vector<std::string> deny_ingress = sorted_unique(deny_in(Direction::kIngress));
  const std::vector<std::string> deny_egress = sorted_unique(deny_in(Direction::kEgress));
  if (deny_ingress.empty() && deny_egress.empty()) return;
  std::vector<std::string> deny_both = deny_ingress;
  deny_both.insert(deny_both.end(), deny_egress.begin(), deny_egress.end());
  deny_both = sorted_unique(std::move(deny_both));
  for (const Policy& p : m.policies().policies) {
    const std::string self = p.DisplayName();
    for (const Rule& r : p.rules) {
      std::vector<std::string> dirs;
      bool ingress = false;
      bool egress = false;
      int line = 0;
      for (Direction d : BothDirections()) {
        if (!r.DefaultDeny(d) || DenyIntent(r, d)) continue;
        if (ExplicitDefaultDeny(r, d) == false) continue;
        const std::vector<std::string>& imposing =
            d == Direction::kIngress ? deny_ingress : deny_egress;
        // Some policy other than this one imposes default-deny in this direction.
        if (imposing.empty() || (imposing.size() == 1 && imposing.front() == self)) continue;
        dirs.emplace_back(DirectionName(d));
        (d == Direction::kIngress ? ingress : egress) = true;
        if (line == 0) {
          const auto& allow = r.Elements(AllowSection(d));
          const auto& deny = r.Elements(DenySection(d));
          line = !allow.empty() ? allow.front().line : !deny.empty() ? deny.front().line : r.line;
        }
      }
      if (dirs.empty()) continue;
      const std::vector<std::string>& imposing = ingress && egress ? deny_both
                                                 : ingress         ? deny_ingress
                                                                   : deny_egress;
      size_t others = imposing.size();
      if (std::binary_search(imposing.begin(), imposing.end(), self)) --others;
      // At most kNamed names: a GitOps set with a default-deny per namespace would otherwise
      // make every finding list thousands (output growing with the square of the set).
      constexpr size_t kNamed = 3;
      std::string names;
      size_t named = 0;
      for (const std::string& n : imposing) {
        if (n == self) continue;
        if (named == kNamed) {
          absl::StrAppend(&names, " and ", others - kNamed, " more");
          break;
        }
        absl::StrAppend(&names, named == 0 ? "" : ", ", n);
        ++named;
      }
      if (dirs.empty()) continue;
      std::vector<std::string> fix;
      for (const auto& d : dirs) fix.push_back(absl::StrCat(d, ": false"));
      std::string how =
          p.kind == PolicyKind::kNetworkPolicy
              ? "A Kubernetes NetworkPolicy always does; write it as a "
                "CiliumNetworkPolicy with enableDefaultDeny: {" +
                    absl::StrJoin(fix, ", ") + "}."
              : "Set enableDefaultDeny: {" + absl::StrJoin(fix, ", ") + "} so it only adds allows.";
      sink.Add("TW010", kReimposes, Severity::kWarning, p, line,
               absl::StrCat("this allow policy switches ", absl::StrJoin(dirs, " and "),
                            " to default-deny for what it selects, although ", names,
                            others == 1 ? " already imposes" : " already impose",
                            " default-deny: it re-imposes default-deny on pods the default-deny "
                            "policy leaves out, such as debug-bypass pods. ",
                            how));
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------

bool LintOptions::IsTier0(absl::string_view ns) const {
  const std::string name(ns);
  if (std::find(tier0_namespaces.begin(), tier0_namespaces.end(), name) != tier0_namespaces.end())
    return true;
  for (const std::string& pattern : tier0_patterns)
    if (fnmatch(pattern.c_str(), name.c_str(), 0) == 0) return true;
  return false;
}

const std::vector<LintRuleInfo>& LintRules() {
  static const std::vector<LintRuleInfo>* rules = new std::vector<LintRuleInfo>{
      {"TW001", kAllowNothing, Severity::kError,
       "a direction whose only rules are `{}` where an allow was meant"},
      {"TW002", kTier0DefaultDeny, Severity::kError,
       "a policy switches default-deny on for pods in Tier 0 namespaces"},
      {"TW003", kFqdnNoDns, Severity::kError,
       "toFQDNs for endpoints without an L7 DNS rule on port 53"},
      {"TW004", kOneWay, Severity::kError,
       "an allow whose other end is default-deny and never admits it"},
      {"TW005", kDnsTcpMissing, Severity::kWarning, "DNS allowed on UDP/53 only"},
      {"TW006", kExclusions, Severity::kWarning,
       "namespace exclusion lists differ between policies or from Tier 0"},
      {"TW007", kHealthIngress, Severity::kWarning,
       "cluster-wide selector puts Cilium's health/ingress endpoints into default-deny"},
      {"TW008", kApiserver, Severity::kWarning,
       "controller namespace in egress default-deny without kube-apiserver egress"},
      {"TW009", kSchema, Severity::kError, "the policy does not parse or validate"},
      {"TW010", kReimposes, Severity::kWarning,
       "an allow policy re-imposes default-deny next to a default-deny policy"},
  };
  return *rules;
}

LintFindings Lint(const PolicySet& policies, const LintOptions& options) {
  LintFindings out;
  Sink sink(&out);
  LintModel model(policies, options);
  CheckAllowNothing(model, sink);
  CheckTier0DefaultDeny(model, options, sink);
  CheckFqdnDnsVisibility(model, options, sink);
  CheckOneWay(model, sink);
  CheckDnsTcp(model, options, sink);
  CheckExclusions(model, options, sink);
  CheckHealthIngress(model, sink);
  CheckApiserver(model, options, sink);
  CheckReimposes(model, sink);
  std::stable_sort(out.begin(), out.end(), DiagnosticLess);
  return out;
}

LintFindings Lint(const LoadedPolicies& loaded, const LintOptions& options) {
  LintFindings out = Lint(loaded.policies, options);
  for (const Diagnostic& d : loaded.diagnostics) {
    // Load warnings (a misspelled kind, a document without apiVersion/kind) are findings
    // too: a skipped policy must not go unnoticed.
    if (d.severity == Severity::kInfo) continue;
    Diagnostic f = d;
    f.code = "TW009";
    f.code_name = std::string(kSchema);
    out.push_back(std::move(f));
  }
  std::stable_sort(out.begin(), out.end(), DiagnosticLess);
  return out;
}

LintSummary Summarize(const LintFindings& findings) {
  LintSummary s;
  for (const auto& f : findings) {
    if (f.severity == Severity::kError)
      ++s.errors;
    else if (f.severity == Severity::kWarning)
      ++s.warnings;
    else
      ++s.infos;
  }
  return s;
}

}  // namespace tw::policy
