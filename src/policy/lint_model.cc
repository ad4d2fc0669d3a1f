// The linter's symbolic cluster (see lint_model.h for the idea). Representatives are
// derived from the selectors alone and kept in a sorted set, so the same set of policies
// gives the same representatives whatever the document order or policy names.
#include "policy/lint_model.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tw::policy::lint_internal {

namespace {

constexpr absl::string_view kNamespaceKey = "io.kubernetes.pod.namespace";
constexpr absl::string_view kNamespaceNameKey =
    "io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name";
// The Tier 2 namespace no policy names: "every other namespace".
constexpr absl::string_view kOtherNamespace = "tierwatch-lint-other";
constexpr absl::string_view kUnusedValue = "tierwatch-lint";
// Witness combinations per selector (In lists multiply); more adds nothing in practice.
constexpr size_t kMaxWitnesses = 32;

std::string LabelSource(const std::string& source) {
  return source == "any" || source.empty() ? "k8s" : source;
}

std::vector<std::string> NamespaceLabels(absl::string_view ns) {
  return {absl::StrCat("k8s:", kNamespaceKey, "=", ns),
          absl::StrCat("k8s:", kNamespaceNameKey, "=", ns)};
}

void ForEachSelector(const PolicySet& set, const std::function<void(const Selector&)>& fn) {
  for (const Policy& p : set.policies) {
    for (const Rule& r : p.rules) {
      if (r.endpoint_selector) fn(*r.endpoint_selector);
      for (Section s :
           {Section::kIngress, Section::kIngressDeny, Section::kEgress, Section::kEgressDeny}) {
        for (const RuleElement& e : r.Elements(s))
          for (const Selector& sel : e.peers.endpoints) fn(sel);
      }
    }
  }
}

// Label sets (without namespace labels) that satisfy the selector's other requirements.
// Empty result: the selector cannot match a pod (reserved: keys, contradictions).
std::vector<std::vector<std::string>> Witnesses(
    const Selector& sel, const std::map<std::string, std::set<std::string>>& seen_values) {
  struct KeyReq {
    bool has_in = false;
    std::set<std::string> in;
    std::set<std::string> not_in;
    bool exists = false;
    bool does_not_exist = false;
  };
  std::map<std::string, KeyReq> keys;  // "k8s:app" -> requirements
  for (const Requirement& r : sel.requirements) {
    if (IsNamespaceKey(r)) continue;
    if (r.source == "reserved") {
      if (r.op == SelectorOp::kIn || r.op == SelectorOp::kExists) return {};
      continue;
    }
    KeyReq& k = keys[LabelSource(r.source) + ":" + r.key];
    switch (r.op) {
      case SelectorOp::kIn: {
        std::set<std::string> vals(r.values.begin(), r.values.end());
        if (k.has_in) {
          std::set<std::string> both;
          std::set_intersection(k.in.begin(), k.in.end(), vals.begin(), vals.end(),
                                std::inserter(both, both.end()));
          k.in = std::move(both);
        } else {
          k.in = std::move(vals);
          k.has_in = true;
        }
        break;
      }
      case SelectorOp::kNotIn:
        k.not_in.insert(r.values.begin(), r.values.end());
        break;
      case SelectorOp::kExists:
        k.exists = true;
        break;
      case SelectorOp::kDoesNotExist:
        k.does_not_exist = true;
        break;
    }
  }
  std::vector<std::vector<std::string>> out = {{}};
  for (const auto& [key, k] : keys) {
    if (k.does_not_exist) {
      if (k.has_in || k.exists) return {};
      continue;
    }
    std::vector<std::string> options;
    if (k.has_in) {
      for (const auto& v : k.in)
        if (!k.not_in.count(v)) options.push_back(v);
      if (options.empty()) return {};
    } else if (k.exists) {
      std::string value(kUnusedValue);
      auto it = seen_values.find(key);
      if (it != seen_values.end()) {
        for (const auto& v : it->second) {
          if (!k.not_in.count(v)) {
            value = v;
            break;
          }
        }
      }
      options.push_back(value);
    } else {
      continue;  // only NotIn: leave the key out
    }
    std::vector<std::vector<std::string>> next;
    for (const auto& w : out) {
      for (const auto& v : options) {
        if (next.size() >= kMaxWitnesses) break;
        auto w2 = w;
        w2.push_back(key + "=" + v);
        next.push_back(std::move(w2));
      }
    }
    out = std::move(next);
  }
  for (auto& w : out) std::sort(w.begin(), w.end());
  return out;
}

flow::Protocol ToFlowProtocol(L4Proto p) {
  switch (p) {
    case L4Proto::kUDP:
      return flow::Protocol::kUDP;
    case L4Proto::kSCTP:
      return flow::Protocol::kSCTP;
    default:
      return flow::Protocol::kTCP;
  }
}

bool EntityMatches(Entity e, const Rep& rep) {
  switch (e) {
    case Entity::kAll:
      return true;
    case Entity::kWorld:
    case Entity::kWorldIpv4:
    case Entity::kWorldIpv6:
      return rep.kind == Rep::kWorld;
    case Entity::kCluster:
    case Entity::kClusterMesh:
      return rep.kind != Rep::kWorld;
    case Entity::kHost:
      return rep.kind == Rep::kHost;
    case Entity::kRemoteNode:
      return rep.kind == Rep::kRemoteNode || rep.kind == Rep::kKubeApiserver;
    case Entity::kKubeApiserver:
      return rep.kind == Rep::kKubeApiserver;
    case Entity::kIngress:
      return rep.kind == Rep::kIngress;
    case Entity::kHealth:
      return rep.kind == Rep::kHealth;
    default:
      return false;
  }
}

std::string WrittenSelector(const Selector& sel) {
  std::vector<std::string> parts;
  for (const Requirement* r : sel.Written()) parts.push_back(r->ToString());
  return "{" + absl::StrJoin(parts, ", ") + "}";
}

}  // namespace

bool IsNamespaceKey(const Requirement& r) {
  return (r.source == "k8s" || r.source == "any") &&
         (r.key == kNamespaceKey || r.key == kNamespaceNameKey);
}

std::string Probe::ToString() const { return absl::StrCat(port, "/", L4ProtoName(proto)); }

EndpointView Rep::View() const {
  EndpointView v;
  v.labels = views;
  v.namespace_ = ns;
  v.reserved = reserved;
  v.ip = ip;
  return v;
}

std::string Rep::Describe() const {
  switch (kind) {
    case kPod: {
      std::string s =
          ns == kOtherNamespace ? "pods in other namespaces" : absl::StrCat("pods in ", ns);
      if (!extra.empty()) absl::StrAppend(&s, " {", absl::StrJoin(extra, ", "), "}");
      return s;
    }
    case kHealth:
      return "the health endpoint";
    case kIngress:
      return "the ingress endpoint";
    case kHost:
      return "host";
    case kRemoteNode:
      return "remote-node";
    case kKubeApiserver:
      return "kube-apiserver";
    case kWorld:
      return "world";
  }
  return "";
}

namespace {

// One namespace standing for a tier pattern ("cilium-*" -> "cilium-x"); "" when the pattern
// gives nothing to stand for.
std::string PatternRepresentative(const std::string& pattern) {
  std::string ns;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '*' || c == '?') {
      ns.push_back('x');
    } else if (c == '[') {
      size_t close = pattern.find(']', i + 1);
      if (close == std::string::npos) break;
      size_t first = i + 1;
      if (first < close && (pattern[first] == '!' || pattern[first] == '^')) {
        ns.push_back('x');  // "any but": good enough for a representative
      } else if (first < close) {
        ns.push_back(pattern[first]);
      }
      i = close;
    } else {
      ns.push_back(c);
    }
  }
  return ns;
}

// The namespaces the lint puts pods in: the tier model's (one standing for each pattern),
// the DNS service's, those the set's policies live in or its selectors name, and one unnamed
// namespace standing for every other.
std::set<std::string> ProbedNamespaces(const LintOptions& o, const PolicySet& policies,
                                       const std::vector<const Selector*>& selectors) {
  std::set<std::string> namespaces;
  for (const auto* list : {&o.tier0_namespaces, &o.tier1_namespaces, &o.controller_namespaces})
    namespaces.insert(list->begin(), list->end());
  if (!o.dns_namespace.empty()) namespaces.insert(o.dns_namespace);
  namespaces.insert(std::string(kOtherNamespace));
  for (const auto* list : {&o.tier0_patterns, &o.tier1_patterns}) {
    for (const std::string& pattern : *list) {
      std::string ns = PatternRepresentative(pattern);
      if (!ns.empty()) namespaces.insert(ns);
    }
  }
  for (const Policy& p : policies.policies)
    if (!p.namespace_.empty()) namespaces.insert(p.namespace_);
  for (const Selector* s : selectors) {
    for (const Requirement& r : s->requirements) {
      if (IsNamespaceKey(r)) namespaces.insert(r.values.begin(), r.values.end());
    }
  }
  return namespaces;
}

// Per label key ("k8s:app"), the values selectors ask for with In: a witness for `Exists`
// takes one of them, so that one pod also matches those selectors.
std::map<std::string, std::set<std::string>> InValues(
    const std::vector<const Selector*>& selectors) {
  std::map<std::string, std::set<std::string>> seen_values;
  for (const Selector* s : selectors) {
    for (const Requirement& r : s->requirements) {
      if (!IsNamespaceKey(r) && r.op == SelectorOp::kIn) {
        seen_values[LabelSource(r.source) + ":" + r.key].insert(r.values.begin(), r.values.end());
      }
    }
  }
  return seen_values;
}

// The namespaces a selector allows. Each namespace's labels are parsed once, and a
// selector naming its namespaces (In) is only tried on those: per-namespace policies
// must not cost a pass over every namespace each.
class NamespaceMatcher {
 public:
  explicit NamespaceMatcher(const std::set<std::string>& namespaces) {
    ns_labels_.reserve(namespaces.size());
    for (const std::string& ns : namespaces) {
      ns_index_.emplace(ns, ns_labels_.size());
      ns_labels_.push_back({&ns, NamespaceLabels(ns), {}});
    }
    for (NsLabels& n : ns_labels_)
      for (const auto& l : n.labels) n.parsed.push_back(ParseLabel(l));
  }

  std::vector<std::string> Allowed(const Selector& sel) const {
    std::vector<const Requirement*> reqs;
    const Requirement* in = nullptr;
    for (const Requirement& r : sel.requirements) {
      if (!IsNamespaceKey(r)) continue;
      reqs.push_back(&r);
      if (r.op == SelectorOp::kIn && (in == nullptr || r.values.size() < in->values.size()))
        in = &r;
    }
    std::vector<std::string> out;
    auto consider = [&](const NsLabels& n) {
      for (const Requirement* r : reqs)
        if (!r->Matches(n.parsed)) return;
      out.push_back(*n.name);
    };
    if (in == nullptr) {
      for (const NsLabels& n : ns_labels_) consider(n);
    } else {
      // Both namespace keys carry the namespace's name, so an In on either names them.
      std::set<size_t> candidates;
      for (const std::string& v : in->values) {
        auto it = ns_index_.find(v);
        if (it != ns_index_.end()) candidates.insert(it->second);
      }
      for (size_t i : candidates) consider(ns_labels_[i]);
    }
    return out;
  }

 private:
  struct NsLabels {
    const std::string* name;  // in the set given to the constructor, which outlives this
    std::vector<std::string> labels;
    std::vector<Label> parsed;
  };
  std::vector<NsLabels> ns_labels_;
  std::unordered_map<std::string, size_t> ns_index_;
};

// (witness labels) -> the namespaces a pod carrying them is put in.
using WitnessMap = std::map<std::vector<std::string>, std::set<std::string>>;

// The pods worth probing: one without labels in every namespace, the DNS service's in its
// namespace, and for each selector the label sets that satisfy it in the namespaces it
// allows.
WitnessMap PodWitnesses(const LintOptions& o, const std::set<std::string>& namespaces,
                        const std::vector<const Selector*>& selectors) {
  const std::map<std::string, std::set<std::string>> seen_values = InValues(selectors);
  const NamespaceMatcher matcher(namespaces);
  WitnessMap witnesses;
  witnesses[{}].insert(namespaces.begin(), namespaces.end());
  if (!o.dns_namespace.empty() && !o.dns_labels.empty()) {
    std::vector<std::string> w;
    for (const auto& [k, v] : o.dns_labels) w.push_back(absl::StrCat("k8s:", k, "=", v));
    std::sort(w.begin(), w.end());
    witnesses[w].insert(o.dns_namespace);
  }
  for (const Selector* s : selectors) {
    auto ws = Witnesses(*s, seen_values);
    if (ws.empty()) continue;
    auto nss = matcher.Allowed(*s);
    for (auto& w : ws) witnesses[w].insert(nss.begin(), nss.end());
  }
  return witnesses;
}

std::string BypassLabel(const LintOptions& o) {
  return absl::StrCat("k8s:", o.bypass_label_key, "=", o.bypass_label_value);
}

// Every witness also with the debug-bypass label: a bypass pod is what the policies must
// still hold (or deliberately let go).
void AddBypassWitnesses(const LintOptions& o, WitnessMap& witnesses) {
  const std::string bypass_key = absl::StrCat("k8s:", o.bypass_label_key, "=");
  const std::string bypass_label = BypassLabel(o);
  WitnessMap with_bypass;
  for (const auto& [w, nss] : witnesses) {
    bool has = std::any_of(w.begin(), w.end(),
                           [&](const std::string& l) { return absl::StartsWith(l, bypass_key); });
    if (has) continue;
    auto w2 = w;
    w2.push_back(bypass_label);
    std::sort(w2.begin(), w2.end());
    with_bypass[w2].insert(nss.begin(), nss.end());
  }
  for (auto& [w, nss] : with_bypass) witnesses[w].insert(nss.begin(), nss.end());
}

// One pod representative per (namespace, witness), in sorted order so that the same set
// gives the same addresses (10.100.0.0 upwards) whatever the document order.
void AddPodReps(const WitnessMap& witnesses, const std::string& bypass_label,
                std::vector<Rep>& reps) {
  std::set<std::pair<std::string, std::vector<std::string>>> pods;
  for (const auto& [w, nss] : witnesses)
    for (const auto& ns : nss) pods.insert({ns, w});
  int n = 0;
  for (const auto& [ns, w] : pods) {
    Rep rep;
    rep.kind = Rep::kPod;
    rep.ns = ns;
    rep.labels = NamespaceLabels(ns);
    rep.labels.insert(rep.labels.end(), w.begin(), w.end());
    rep.extra = w;
    rep.bypass = std::find(w.begin(), w.end(), bypass_label) != w.end();
    rep.ip = absl::StrCat("10.", 100 + (n >> 16) % 100, ".", (n >> 8) & 255, ".", n & 255);
    ++n;
    reps.push_back(std::move(rep));
  }
}

// One representative per reserved endpoint an entity can name.
void AddReservedReps(std::vector<Rep>& reps) {
  auto reserved = [&](Rep::Kind kind, std::vector<std::string> labels, uint16_t bits,
                      std::string ip) {
    Rep rep;
    rep.kind = kind;
    rep.labels = std::move(labels);
    rep.reserved = bits;
    rep.ip = std::move(ip);
    reps.push_back(std::move(rep));
  };
  reserved(Rep::kHealth, {"reserved:health"}, flow::kReservedHealth, "10.0.0.2");
  reserved(Rep::kIngress, {"reserved:ingress"}, flow::kReservedIngress, "10.0.0.3");
  reserved(Rep::kHost, {"reserved:host"}, flow::kReservedHost, "192.168.0.1");
  reserved(Rep::kRemoteNode, {"reserved:remote-node"}, flow::kReservedRemoteNode, "192.168.0.2");
  reserved(Rep::kKubeApiserver, {"reserved:kube-apiserver", "reserved:remote-node"},
           flow::kReservedKubeApiserver | flow::kReservedRemoteNode, "192.168.0.3");
  reserved(Rep::kWorld, {"reserved:world"}, flow::kReservedWorld, "203.0.113.10");
}

// The ports an L3-only element is probed on: every port the set or the DNS and apiserver
// options mention, plus one nobody does.
std::vector<uint16_t> CandidatePorts(const LintOptions& o, const PolicySet& policies) {
  std::set<uint16_t> ports(o.dns_ports.begin(), o.dns_ports.end());
  ports.insert(o.apiserver_ports.begin(), o.apiserver_ports.end());
  for (const Policy& p : policies.policies)
    for (const Rule& r : p.rules)
      for (Section s :
           {Section::kIngress, Section::kIngressDeny, Section::kEgress, Section::kEgressDeny})
        for (const RuleElement& e : r.Elements(s))
          for (const PortRule& pr : e.to_ports)
            for (const PortProtocol& pp : pr.ports) {
              if (pp.IsNamed()) continue;
              if (pp.port != 0) ports.insert(pp.port);
              if (pp.IsRange()) ports.insert(pp.end_port);
            }
  uint16_t unlisted = 40000;
  while (ports.count(unlisted)) ++unlisted;
  ports.insert(unlisted);
  return std::vector<uint16_t>(ports.begin(), ports.end());
}

}  // namespace

LintModel::LintModel(const PolicySet& policies, const LintOptions& options)
    : policies_(policies), options_(options) {
  Build();
  evaluator_ = std::make_unique<Evaluator>(policies_);
}

// The symbolic cluster: pods (a representative per namespace and witness label set) and
// the reserved endpoints, then which selectors match each.
void LintModel::Build() {
  ForEachSelector(policies_, [&](const Selector& s) { selectors_.push_back(&s); });
  const std::set<std::string> namespaces = ProbedNamespaces(options_, policies_, selectors_);
  WitnessMap witnesses = PodWitnesses(options_, namespaces, selectors_);
  if (!options_.bypass_label_key.empty()) AddBypassWitnesses(options_, witnesses);
  AddPodReps(witnesses, BypassLabel(options_), reps_);
  AddReservedReps(reps_);

  // Views only now: `reps_` no longer grows.
  for (Rep& rep : reps_) {
    for (const auto& l : rep.labels) {
      rep.parsed.push_back(ParseLabel(l));
      rep.views.push_back(l);
    }
  }
  MatchSelectors();
  candidate_ports_ = CandidatePorts(options_, policies_);
}

void LintModel::MatchSelectors() {
  // Distinct selectors: the same requirements (in any order) match the same pods.
  std::unordered_map<std::string, int> by_text;
  for (const Selector* s : selectors_) {
    std::vector<std::string> reqs;
    for (const Requirement& r : s->requirements) {
      std::string t = absl::StrCat(r.source, "\x1f", r.key, "\x1f", static_cast<int>(r.op));
      for (const std::string& v : r.values) absl::StrAppend(&t, "\x1f", v);
      reqs.push_back(std::move(t));
    }
    std::sort(reqs.begin(), reqs.end());
    auto [it, added] =
        by_text.emplace(absl::StrJoin(reqs, "\x1e"), static_cast<int>(distinct_.size()));
    if (added) distinct_.push_back(s);
    selector_id_.emplace(s, it->second);
  }

  // Index: a selector with an In requirement only matches pods carrying one of its values
  // for that key (file it under key=value; the namespace's In first, the namespace being
  // the most telling label); else one with an Exists requirement only pods with the key.
  // Only selectors with neither are tried on every representative. The key is the bare
  // one: an `any:` requirement matches the key from every source.
  std::unordered_map<std::string, std::vector<int>> by_value;  // "key=value"
  std::unordered_map<std::string, std::vector<int>> by_key;
  std::vector<int> everywhere;
  for (size_t id = 0; id < distinct_.size(); ++id) {
    const Requirement* best = nullptr;
    auto rank = [](const Requirement& r) {
      if (r.op == SelectorOp::kIn) return IsNamespaceKey(r) ? 3 : 2;
      return r.op == SelectorOp::kExists ? 1 : 0;
    };
    for (const Requirement& r : distinct_[id]->requirements) {
      const int rr = rank(r);
      if (rr == 0) continue;
      if (best == nullptr || rr > rank(*best) ||
          (rr == 2 && rank(*best) == 2 && r.values.size() < best->values.size()))
        best = &r;
    }
    const int i = static_cast<int>(id);
    if (best == nullptr) {
      everywhere.push_back(i);
    } else if (best->op == SelectorOp::kExists) {
      by_key[best->key].push_back(i);
    } else {
      for (const std::string& v : best->values)
        by_value[absl::StrCat(best->key, "=", v)].push_back(i);
    }
  }

  rep_matches_.resize(reps_.size());
  selector_reps_.resize(distinct_.size());
  std::map<std::pair<int, std::vector<int>>, int> classes;
  std::vector<int> candidates;
  for (size_t ri = 0; ri < reps_.size(); ++ri) {
    Rep& rep = reps_[ri];
    candidates = everywhere;
    for (const Label& l : rep.parsed) {
      auto k = by_key.find(std::string(l.key));
      if (k != by_key.end())
        candidates.insert(candidates.end(), k->second.begin(), k->second.end());
      auto v = by_value.find(absl::StrCat(l.key, "=", l.value));
      if (v != by_value.end())
        candidates.insert(candidates.end(), v->second.begin(), v->second.end());
    }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    selector_tests_ += candidates.size();
    std::vector<int>& matches = rep_matches_[ri];
    for (int id : candidates) {
      if (!distinct_[id]->Matches(rep.parsed)) continue;
      matches.push_back(id);
      selector_reps_[id].push_back(&rep);
    }
    // The class: the kind and what every selector says. Numbered in order of first
    // appearance, as side verdicts are memoised per class.
    auto it = classes
                  .emplace(std::make_pair(static_cast<int>(rep.kind), matches),
                           static_cast<int>(classes.size()))
                  .first;
    rep.klass = it->second;
  }

  selector_rules_.resize(distinct_.size());
  for (const Policy& p : policies_.policies) {
    for (const Rule& r : p.rules) {
      if (!r.endpoint_selector) continue;
      selector_rules_[SelectorId(*r.endpoint_selector)].push_back(subject_rules_.size());
      subject_rules_.push_back({&p, &r});
    }
  }
}

const std::vector<const Rep*>& LintModel::CapableMatches(int id) const {
  auto it = capable_cache_.find(id);
  if (it != capable_cache_.end()) return it->second;
  std::vector<const Rep*> out;
  for (const Rep* rep : selector_reps_[id])
    if (rep->SubjectCapable()) out.push_back(rep);
  return capable_cache_.emplace(id, std::move(out)).first->second;
}

const std::vector<const Rep*>& LintModel::CachedPeers(
    const std::string& key, const std::function<bool(const Rep&)>& match) const {
  auto it = peer_cache_.find(key);
  if (it != peer_cache_.end()) return it->second;
  std::vector<const Rep*> out;
  for (const Rep& rep : reps_)
    if (match(rep)) out.push_back(&rep);
  return peer_cache_.emplace(key, std::move(out)).first->second;
}

std::vector<const Rep*> LintModel::Subjects(const Rule& r) const {
  auto it = subjects_cache_.find(&r);
  if (it != subjects_cache_.end()) return it->second;
  std::vector<const Rep*> out;
  if (r.endpoint_selector) out = CapableMatches(SelectorId(*r.endpoint_selector));
  subjects_cache_[&r] = out;
  return out;
}

std::vector<RuleRefLite> LintModel::SelectingRules(const Rep& rep) const {
  std::vector<RuleRefLite> out;
  if (!rep.SubjectCapable()) return out;
  std::vector<size_t> positions;
  for (int id : rep_matches_[IndexOf(rep)])
    positions.insert(positions.end(), selector_rules_[id].begin(), selector_rules_[id].end());
  std::sort(positions.begin(), positions.end());
  for (size_t i : positions) out.push_back(subject_rules_[i]);
  return out;
}

std::vector<RuleRefLite> LintModel::DefaultDenyBy(const Rep& rep, Direction d) const {
  auto key = std::make_pair(IndexOf(rep), static_cast<int>(d));
  auto it = dd_cache_.find(key);
  if (it != dd_cache_.end()) return it->second;
  std::vector<RuleRefLite> out;
  for (const RuleRefLite& ref : SelectingRules(rep))
    if (ref.rule->DefaultDeny(d)) out.push_back(ref);
  dd_cache_[key] = out;
  return out;
}

std::vector<Probe> LintModel::ProbesFor(const RuleElement& e) const {
  std::vector<Probe> out;
  if (e.L3Only()) {
    for (uint16_t port : candidate_ports_) {
      out.push_back({L4Proto::kTCP, port});
      out.push_back({L4Proto::kUDP, port});
    }
    return out;
  }
  for (const PortRule& pr : e.to_ports) {
    for (const PortProtocol& pp : pr.ports) {
      if (pp.IsNamed()) continue;  // resolved per pod: undecidable here
      std::vector<L4Proto> protos;
      if (pp.protocol == L4Proto::kAny)
        protos = {L4Proto::kTCP, L4Proto::kUDP};
      else
        protos = {pp.protocol};
      std::vector<uint16_t> ports;
      if (pp.port == 0) {
        ports = candidate_ports_;
      } else if (pp.IsRange()) {
        ports.push_back(pp.port);
        for (uint16_t c : candidate_ports_)
          if (c > pp.port && c <= pp.end_port) ports.push_back(c);
      } else {
        ports.push_back(pp.port);
      }
      for (L4Proto proto : protos)
        for (uint16_t port : ports) out.push_back({proto, port});
    }
  }
  return out;
}

std::vector<PeerItem> LintModel::PeerItems(const RuleElement& e) const {
  std::vector<PeerItem> out;
  if (e.peers.wildcard) {
    out.push_back({"every peer", false, &CachedPeers("*", [](const Rep&) { return true; })});
    return out;
  }
  for (const Selector& sel : e.peers.endpoints) {
    bool pinned = false;
    for (const Requirement* r : sel.Written())
      if (!(IsNamespaceKey(*r) && r->op == SelectorOp::kExists)) pinned = true;
    out.push_back({WrittenSelector(sel), pinned, &CapableMatches(SelectorId(sel))});
  }
  for (Entity ent : e.peers.entities) {
    out.push_back({absl::StrCat("entity ", EntityName(ent)), false,
                   &CachedPeers(absl::StrCat("entity:", static_cast<int>(ent)),
                                [ent](const Rep& rep) { return EntityMatches(ent, rep); })});
  }
  if (!e.peers.nodes.empty()) {
    out.push_back({"nodes", false, &CachedPeers("nodes", [](const Rep& rep) {
                     return rep.kind == Rep::kRemoteNode || rep.kind == Rep::kHost;
                   })});
  }
  if (!e.peers.cidrs.empty() || !e.peers.fqdns.empty() || e.peers.groups) {
    out.push_back({"world", false,
                   &CachedPeers("world", [](const Rep& rep) { return rep.kind == Rep::kWorld; })});
  }
  return out;
}

Decision LintModel::SideDecision(Direction d, const Rep& subject, const Rep& peer,
                                 const Probe& probe) const {
  auto key = std::make_tuple(static_cast<int>(d), subject.klass, peer.klass,
                             static_cast<int>(probe.proto), static_cast<int>(probe.port));
  auto it = side_cache_.find(key);
  if (it != side_cache_.end()) return it->second;
  EndpointView s = subject.View();
  EndpointView p = peer.View();
  Connection c;
  c.source = d == Direction::kEgress ? s : p;
  c.destination = d == Direction::kEgress ? p : s;
  c.protocol = ToFlowProtocol(probe.proto);
  c.destination_port = probe.port;
  c.is_reply = false;
  Decision decision = evaluator_->EvaluateDirection(d, s, p, c).decision;
  side_cache_[key] = decision;
  return decision;
}

bool LintModel::ReservedTrafficAllowed(absl::string_view entity, Direction d) const {
  // Asked per cluster-wide rule: one pass over the set per question, not per rule.
  auto key = std::make_pair(std::string(entity), static_cast<int>(d));
  auto cached = reserved_allowed_cache_.find(key);
  if (cached != reserved_allowed_cache_.end()) return cached->second;
  const bool allowed = ReservedTrafficAllowedUncached(entity, d);
  reserved_allowed_cache_.emplace(key, allowed);
  return allowed;
}

bool LintModel::ReservedTrafficAllowedUncached(absl::string_view entity, Direction d) const {
  const Section section = d == Direction::kIngress ? Section::kIngress : Section::kEgress;
  for (const Policy& p : policies_.policies) {
    for (const Rule& r : p.rules) {
      if (!r.endpoint_selector || !r.endpoint_selector->HasKey("reserved", entity)) continue;
      for (const RuleElement& e : r.Elements(section))
        if (!e.peers.kinds.empty() || e.peers.wildcard || e.has_to_ports || e.has_icmps)
          return true;
    }
  }
  return false;
}

const Rep* LintModel::ApiserverRep() const {
  for (const Rep& rep : reps_)
    if (rep.kind == Rep::kKubeApiserver) return &rep;
  return nullptr;
}

bool LintModel::PinsNamespace(const Rule& r, absl::string_view ns) const {
  if (!r.endpoint_selector) return false;
  for (const Requirement& req : r.endpoint_selector->requirements)
    if (IsNamespaceKey(req) && req.op == SelectorOp::kIn && req.values.size() == 1 &&
        req.values[0] == ns)
      return true;
  return false;
}

std::vector<std::string> LintModel::NamespacesOf(const std::vector<const Rep*>& reps) const {
  std::set<std::string> out;
  for (const Rep* r : reps) {
    if (r->kind == Rep::kPod)
      out.insert(r->ns == kOtherNamespace ? "other namespaces" : r->ns);
    else
      out.insert(r->Describe());
  }
  return {out.begin(), out.end()};
}

std::string LintModel::DescribeReps(const std::vector<const Rep*>& reps) const {
  std::vector<std::string> nss;
  std::vector<std::string> others;
  for (const std::string& n : NamespacesOf(reps)) {
    bool pod_ns = std::any_of(reps.begin(), reps.end(), [&](const Rep* r) {
      return r->kind == Rep::kPod &&
             (r->ns == n || (n == "other namespaces" && r->ns == kOtherNamespace));
    });
    (pod_ns ? nss : others).push_back(n);
  }
  std::vector<std::string> parts;
  if (!nss.empty()) {
    if (nss.size() > 4)
      parts.push_back(absl::StrCat("pods in ", nss.size(), " namespaces"));
    else
      parts.push_back(absl::StrCat("pods in ", absl::StrJoin(nss, ", ")));
  }
  parts.insert(parts.end(), others.begin(), others.end());
  if (parts.size() <= 1) return absl::StrJoin(parts, "");
  std::string last = parts.back();
  parts.pop_back();
  return absl::StrCat(absl::StrJoin(parts, ", "), " and ", last);
}

}  // namespace tw::policy::lint_internal
