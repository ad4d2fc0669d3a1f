// Internal to the linter (lint.cc): the symbolic cluster the lint rules reason over.
//
// A policy set only distinguishes pods by what its selectors can see. So instead of a
// real cluster the linter builds representatives: for every selector in the set, a label
// set that satisfies it ("witness"; one per In value), placed in every namespace the
// selector allows, each also with the debug-bypass label; the plain pod of every
// namespace; the DNS service's pods. Namespaces are those of the tier model, those the set
// names, and one unnamed Tier 2 namespace. Cilium's reserved endpoints (health, ingress,
// host, remote-node, kube-apiserver, world) are added as they are. Representatives that
// every selector sees alike form one class, and side verdicts are memoised per class.
//
// Thousands of policies must lint in seconds, so nothing here compares every
// representative with every selector: identical selectors are matched once, and each
// representative is only tested against the selectors that could match it — those
// indexed under one of its labels (an In value, e.g. its namespace, or an Exists key)
// plus the few with neither (NotIn/DoesNotExist only, `{}`). Subjects, selecting rules and
// peers are read from the matches so found.
//
//   LintModel m(policies, options);
//   for (const Rep* s : m.Subjects(rule)) m.DefaultDenyBy(*s, Direction::kEgress) ...
//   m.SideDecision(Direction::kIngress, target, source, Probe{L4Proto::kTCP, 8080});
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "policy/evaluator.h"
#include "policy/lint.h"
#include "policy/types.h"

namespace tw::policy::lint_internal {

// k8s:/any: io.kubernetes.pod.namespace, or the namespace's kubernetes.io/metadata.name
// label as Cilium exposes it (io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name).
bool IsNamespaceKey(const Requirement& r);

struct Probe {
  L4Proto proto = L4Proto::kTCP;
  uint16_t port = 0;
  std::string ToString() const;  // "8080/TCP"
};

struct Rep {
  enum Kind { kPod, kHealth, kIngress, kHost, kRemoteNode, kKubeApiserver, kWorld };
  Kind kind = kPod;
  std::string ns;                   // pods only
  std::vector<std::string> labels;  // "k8s:app=x", "reserved:health"
  std::vector<std::string> extra;   // the witness labels (without namespace labels)
  bool bypass = false;              // carries the debug-bypass label
  uint16_t reserved = 0;
  std::string ip;
  int klass = -1;

  // Filled once all representatives exist (views into `labels`).
  std::vector<Label> parsed;
  std::vector<absl::string_view> views;

  // Only pods and the health/ingress endpoints are ever policy subjects.
  bool SubjectCapable() const { return kind == kPod || kind == kHealth || kind == kIngress; }
  EndpointView View() const;
  std::string Describe() const;  // "pod in cert-manager {k8s:app=x}", "health endpoint"
};

struct RuleRefLite {
  const Policy* policy = nullptr;
  const Rule* rule = nullptr;
};

// One peer of an element: a selector, an entity, or the wildcard.
struct PeerItem {
  std::string text;
  // Names particular workloads or namespaces (not `{}`, not an entity): a partly blocked
  // pinned item is worth a warning; a partly blocked `{}` is just how allows work.
  bool pinned = false;
  // The representatives the item matches, in reps() order. Owned by the model (shared by
  // every element naming the same peer), valid as long as it.
  const std::vector<const Rep*>* matched = nullptr;
};

class LintModel {
 public:
  LintModel(const PolicySet& policies, const LintOptions& options);

  const PolicySet& policies() const { return policies_; }
  const std::vector<Rep>& reps() const { return reps_; }

  // Representatives the rule's subject selects (pods, health, ingress).
  std::vector<const Rep*> Subjects(const Rule& r) const;
  // (policy, rule) pairs that select the representative (any direction).
  std::vector<RuleRefLite> SelectingRules(const Rep& rep) const;
  // The rules that put the representative into default-deny for the direction.
  std::vector<RuleRefLite> DefaultDenyBy(const Rep& rep, Direction d) const;

  // Ports/protocols to probe an element with: its own ports; for L3-only elements, port 0
  // or ranges, every port the set mentions plus one it does not.
  std::vector<Probe> ProbesFor(const RuleElement& e) const;
  std::vector<PeerItem> PeerItems(const RuleElement& e) const;

  // Decision of one side: `subject`'s policy in direction `d` towards `peer`.
  Decision SideDecision(Direction d, const Rep& subject, const Rep& peer, const Probe& probe) const;

  // A policy written for a reserved endpoint (selector names reserved:<entity>) allows
  // something in that direction.
  bool ReservedTrafficAllowed(absl::string_view entity, Direction d) const;
  const Rep* ApiserverRep() const;
  // The rule's subject selector requires the namespace to be exactly `ns`.
  bool PinsNamespace(const Rule& r, absl::string_view ns) const;

  std::vector<std::string> NamespacesOf(const std::vector<const Rep*>& reps) const;
  std::string DescribeReps(const std::vector<const Rep*>& reps) const;

  // How many (representative, distinct selector) pairs Build() tested: linear in the size
  // of a set whose selectors pin namespaces or labels (what the index is for). For tests.
  size_t selector_tests() const { return selector_tests_; }
  size_t distinct_selectors() const { return distinct_.size(); }

 private:
  void Build();
  // Matches every representative against the distinct selectors that could match it and
  // fills rep_matches_/selector_reps_ and the classes.
  void MatchSelectors();
  size_t IndexOf(const Rep& rep) const { return static_cast<size_t>(&rep - reps_.data()); }
  int SelectorId(const Selector& s) const { return selector_id_.at(&s); }
  // Subject-capable representatives the distinct selector matches (cached).
  const std::vector<const Rep*>& CapableMatches(int id) const;
  bool ReservedTrafficAllowedUncached(absl::string_view entity, Direction d) const;
  const std::vector<const Rep*>& CachedPeers(const std::string& key,
                                             const std::function<bool(const Rep&)>& match) const;

  const PolicySet& policies_;
  LintOptions options_;
  std::vector<Rep> reps_;
  std::vector<const Selector*> selectors_;  // every selector of the set, for classes
  // Distinct selectors (equal requirements match alike) and each selector's id among them.
  std::vector<const Selector*> distinct_;
  std::unordered_map<const Selector*, int> selector_id_;
  // Per representative (by index): the distinct selectors matching it, ascending. Per
  // distinct selector: the representatives it matches, in reps_ order.
  std::vector<std::vector<int>> rep_matches_;
  std::vector<std::vector<const Rep*>> selector_reps_;
  // Every rule with a subject selector, in policy/rule order, and per distinct selector the
  // positions of the rules it is the subject of.
  std::vector<RuleRefLite> subject_rules_;
  std::vector<std::vector<size_t>> selector_rules_;
  size_t selector_tests_ = 0;
  std::vector<uint16_t> candidate_ports_;
  std::unique_ptr<Evaluator> evaluator_;

  mutable std::unordered_map<const Rule*, std::vector<const Rep*>> subjects_cache_;
  mutable std::map<std::pair<size_t, int>, std::vector<RuleRefLite>> dd_cache_;
  mutable std::map<std::tuple<int, int, int, int, int>, Decision> side_cache_;
  mutable std::unordered_map<int, std::vector<const Rep*>> capable_cache_;
  mutable std::map<std::string, std::vector<const Rep*>> peer_cache_;
  mutable std::map<std::pair<std::string, int>, bool> reserved_allowed_cache_;
};

}  // namespace tw::policy::lint_internal
