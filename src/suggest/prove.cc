#include "suggest/prove.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "policy/evaluator.h"
#include "simulate/simulate.h"
#include "suggest/selector.h"

namespace tw::suggest {

namespace {

using flow::Peer;
using flow::Protocol;
using policy::Decision;
using policy::Direction;

constexpr size_t kMaxListed = 200;
constexpr absl::string_view kNegativeNamespace = "tierwatch-negative";

bool HasPorts(Protocol p) {
  return p == Protocol::kTCP || p == Protocol::kUDP || p == Protocol::kSCTP;
}

std::string Refs(const std::vector<policy::RuleRef>& refs) {
  std::vector<std::string> out;
  for (const policy::RuleRef& r : refs) {
    if (r.policy) out.push_back(r.policy->DisplayName());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return absl::StrJoin(out, ", ");
}

// Why a side denies, in a sentence.
std::string DenialText(Direction dir, const policy::DirectionVerdict& v) {
  std::string d(policy::DirectionName(dir));
  if (!v.denied_by.empty())
    return absl::StrCat(d, " denied by the deny rule of ", Refs(v.denied_by));
  return absl::StrCat(d, " default-deny (", Refs(v.default_deny_by), ") and no allow matches");
}

// The representative of `peer` moved to another namespace: same pod labels, another
// namespace (and namespace labels).
simulate::Representative Moved(const simulate::Representative& r, absl::string_view ns,
                               flow::SymbolTable& symbols) {
  simulate::Representative out = r;
  flow::Endpoint& e = out.endpoint;
  e.namespace_ = symbols.Intern(ns);
  std::vector<flow::Symbol> labels;
  for (flow::Symbol l : r.endpoint.labels) {
    absl::string_view v = l.view();
    if (absl::StartsWith(v, "k8s:io.kubernetes.pod.namespace=") ||
        absl::StartsWith(v, "k8s:io.cilium.k8s.namespace.labels.")) {
      continue;
    }
    labels.push_back(l);
  }
  labels.push_back(symbols.Intern(absl::StrCat("k8s:io.kubernetes.pod.namespace=", ns)));
  labels.push_back(symbols.Intern(
      absl::StrCat("k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=", ns)));
  e.labels = std::move(labels);
  return out;
}

// "203.0.113.7" -> "203.0.113.8" (IPv4 only; "" otherwise).
std::string NextIp(absl::string_view ip) {
  std::vector<std::string> parts = absl::StrSplit(ip, '.');
  if (parts.size() != 4) return "";
  int last = 0;
  if (!absl::SimpleAtoi(parts[3], &last)) return "";
  parts[3] = std::to_string(last >= 254 ? 1 : last + 1);
  return absl::StrJoin(parts, ".");
}

class Prover {
 public:
  Prover(const baseline::Baseline& connections, const SuggestionSet& set,
         const tier::TierModel& tiers, const SuggestOptions& options, ProofReport& report)
      : connections_(connections),
        set_(set),
        tiers_(tiers),
        options_(options),
        report_(report),
        symbols_(connections.symbols()),
        chooser_(connections) {}

  void Run(const std::vector<OutputFile>& files, const std::string& prefix) {
    // 1. Reparse what was written.
    combined_ = std::make_unique<policy::LoadedPolicies>();
    if (!set_.assumed_target) combined_->policies = set_.base;
    for (const OutputFile& f : files) {
      std::string name = prefix + f.path;
      suggested_files_.insert(name);
      size_t before = combined_->diagnostics.size();
      policy::ParsePolicyText(f.content, name, *combined_);
      ++report_.files_parsed;
      for (size_t i = before; i < combined_->diagnostics.size(); ++i) {
        if (combined_->diagnostics[i].severity == tw::Severity::kError) {
          report_.parse_errors.push_back(combined_->diagnostics[i]);
        }
      }
    }
    for (const SuggestedPolicy& p : set_.policies) {
      by_name_[{p.namespace_, p.name}] = &p;
    }
    base_eval_ = std::make_unique<policy::Evaluator>(set_.base);
    eval_ = std::make_unique<policy::Evaluator>(combined_->policies);
    Closure();
    LeastPrivilege();
    Lint(prefix);
  }

 private:
  const simulate::Representative& Rep(const Peer& p) {
    auto& slot = reps_[p];
    if (!slot) {
      slot = std::make_unique<simulate::Representative>(
          simulate::RepresentativeFor(connections_, p, tiers_, symbols_));
    }
    return *slot;
  }

  void Closure() {
    connections_.ForEach([&](const baseline::ConnectionRecord& rec) {
      if (options_.only_dropped && !SeenDropped(rec.verdicts)) return;
      ++report_.closure_checked;
      flow::Flow f = simulate::ConnectionFlow(rec, Rep(rec.key.source), Rep(rec.key.destination));
      policy::Evaluation v = policy::EvaluateFlow(*eval_, f);
      if (v.decision == Decision::kAllowed) {
        ++report_.closure_allowed;
        return;
      }
      if (v.decision == Decision::kUndecided) {
        if (report_.undecided.size() < kMaxListed) {
          report_.undecided.push_back({rec.key, v.undecided_reason});
        }
        return;
      }
      ++report_.still_denied_count;
      if (report_.still_denied.size() < kMaxListed) {
        Direction d = v.denied_at.value_or(Direction::kEgress);
        report_.still_denied.push_back(
            {rec.key, DenialText(d, d == Direction::kEgress ? v.egress : v.ingress)});
      }
    });
  }

  // --- Least privilege ---------------------------------------------------------------------

  struct Negative {
    flow::ConnectionKey key;
    const simulate::Representative* src;
    const simulate::Representative* dst;
    std::string why;  // what was varied
  };

  // Whether every suggested allow of `side` comes from a declared widening.
  bool Declared(const policy::DirectionVerdict& side, Direction dir, const flow::ConnectionKey& key,
                std::string* which) {
    bool any = false;
    for (const policy::RuleRef& ref : side.allowed_by) {
      if (!ref.policy || !suggested_files_.count(ref.policy->file)) continue;
      any = true;
      auto it = by_name_.find({ref.policy->namespace_, ref.policy->name});
      if (it == by_name_.end()) return false;
      const SuggestedPolicy& p = *it->second;
      if (!p.subject_widening.empty()) {
        *which = p.subject_widening;
        continue;
      }
      const auto& rules = dir == Direction::kEgress ? p.egress : p.ingress;
      if (ref.rule_index < 0 || ref.rule_index >= static_cast<int>(rules.size())) return false;
      const SuggestedRule& r = rules[ref.rule_index];
      if (!r.widening.empty()) {
        *which = r.widening;
        continue;
      }
      // Entities overlap in Cilium's identities: an API server on another node is both
      // (kube-apiserver) and (remote-node), so a rule for one reaches the other.
      const Peer& varied = dir == Direction::kEgress ? key.destination : key.source;
      if (r.kind == RuleKind::kEntity && varied.is_entity() && varied.name != r.entity) {
        *which = absl::StrCat("Cilium's identity for ", varied.ToString(), " also carries (",
                              r.entity, "): a rule for one reaches the other");
        continue;
      }
      std::pair<Protocol, uint16_t> port(key.protocol, key.port);
      if (std::find(r.extra_ports.begin(), r.extra_ports.end(), port) != r.extra_ports.end()) {
        *which = r.port_widening;
        continue;
      }
      return false;
    }
    return any;
  }

  void Check(const Negative& n, Direction dir) {
    if (connections_.Contains(n.key)) return;  // in the input: wanted
    if (!seen_.insert(absl::StrCat(n.key.ToString(), "|", policy::DirectionName(dir))).second) {
      return;
    }
    ++report_.negatives_checked;
    baseline::ConnectionRecord rec;
    rec.key = n.key;
    rec.last_seen = absl::UnixEpoch();
    flow::Flow f = simulate::ConnectionFlow(rec, *n.src, *n.dst);
    policy::Evaluation v = policy::EvaluateFlow(*eval_, f);
    const policy::DirectionVerdict& side = dir == Direction::kEgress ? v.egress : v.ingress;
    if (side.decision != Decision::kAllowed) return;
    bool by_suggestion = false;
    for (const policy::RuleRef& ref : side.allowed_by) {
      by_suggestion |= ref.policy && suggested_files_.count(ref.policy->file) > 0;
    }
    if (!by_suggestion) return;
    policy::Evaluation before = policy::EvaluateFlow(*base_eval_, f);
    const policy::DirectionVerdict& was =
        dir == Direction::kEgress ? before.egress : before.ingress;
    if (was.decision == Decision::kAllowed) return;  // allowed before the suggestions
    std::string which;
    bool declared = Declared(side, dir, n.key, &which);
    ProofItem item{
        n.key,
        absl::StrCat(policy::DirectionName(dir), " allowed by ", Refs(side.allowed_by), " (", n.why,
                     ")", declared ? absl::StrCat(": declared widening: ", which) : std::string())};
    auto& list = declared ? report_.declared : report_.violations;
    if (list.size() < kMaxListed) list.push_back(std::move(item));
  }

  // Variants of the rule's first port; every port of the rule counts as allowed on purpose.
  std::vector<std::pair<Protocol, uint16_t>> PortVariants(const SuggestedRule& r) {
    auto covered = [&](Protocol proto, uint32_t port) {
      for (const PortSpan& s : r.ports) {
        if (s.protocol == proto && s.port <= port && port <= s.end_port) return true;
      }
      return false;
    };
    std::vector<std::pair<Protocol, uint16_t>> out;
    for (const PortSpan& s : r.ports) {
      if (out.size() >= 6) break;
      if (!HasPorts(s.protocol)) {
        if (!covered(s.protocol, 13)) out.emplace_back(s.protocol, 13);  // timestamp request
        continue;
      }
      if (s.port > 1 && !covered(s.protocol, s.port - 1u)) out.emplace_back(s.protocol, s.port - 1);
      if (s.end_port < 65535 && !covered(s.protocol, s.end_port + 1u)) {
        out.emplace_back(s.protocol, s.end_port + 1);
      }
      Protocol other = s.protocol == Protocol::kTCP ? Protocol::kUDP : Protocol::kTCP;
      if (!covered(other, s.port)) out.emplace_back(other, s.port);
    }
    return out;
  }

  void Negatives(const SuggestedPolicy& p, const SuggestedRule& r, Direction dir) {
    if (r.evidence.empty()) return;
    const bool egress = dir == Direction::kEgress;
    const flow::ConnectionKey& seen = r.evidence.front().key;
    const Peer& subject = egress ? seen.source : seen.destination;
    const Peer& peer = egress ? seen.destination : seen.source;
    const simulate::Representative& s_rep = Rep(subject);
    auto make = [&](const Peer& s, const simulate::Representative* sr, const Peer& q,
                    const simulate::Representative* qr, Protocol proto, uint16_t port,
                    std::string why) {
      Negative n;
      n.key.source = egress ? s : q;
      n.key.destination = egress ? q : s;
      n.key.protocol = proto;
      n.key.port = port;
      n.src = egress ? sr : qr;
      n.dst = egress ? qr : sr;
      n.why = std::move(why);
      Check(n, dir);
    };
    // Ports added on purpose (53/TCP next to 53/UDP): listed as declared widenings.
    for (const auto& [proto, port] : r.extra_ports) {
      make(subject, &s_rep, peer, &Rep(peer), proto, port, "a port the rule adds on purpose");
    }
    // Other ports and the other protocol, for each peer the rule names.
    for (const Evidence& e : r.evidence) {
      const Peer& q = egress ? e.key.destination : e.key.source;
      for (const auto& [proto, port] : PortVariants(r)) {
        make(subject, &s_rep, q, &Rep(q), proto, port, "another port or protocol");
      }
      if (r.kind != RuleKind::kFqdn) break;  // one peer per rule otherwise
    }
    const Protocol proto = seen.protocol;
    const uint16_t port = seen.port;
    const size_t max = options_.max_negative_peers;
    switch (r.kind) {
      case RuleKind::kEndpoints: {
        if (!peer.is_workload()) break;
        size_t n = 0;
        for (const Peer& q : chooser_.WorkloadsIn(peer.namespace_.view())) {
          if (q == peer || q == subject) continue;
          if (n++ >= max) break;
          make(subject, &s_rep, q, &Rep(q), proto, port,
               absl::StrCat("another workload of ", peer.namespace_.view()));
        }
        auto moved = std::make_unique<simulate::Representative>(
            Moved(Rep(peer), kNegativeNamespace, symbols_));
        Peer mq = Peer::Workload(symbols_.Intern(kNegativeNamespace), peer.name);
        make(subject, &s_rep, mq, moved.get(), proto, port, "the same labels in another namespace");
        owned_.push_back(std::move(moved));
        break;
      }
      case RuleKind::kFqdn: {
        std::vector<std::string> names;
        for (const std::string& name : r.fqdn_names) {
          names.push_back(absl::StrCat("tierwatch-negative.", name));
          size_t dot = name.find('.');
          if (dot != std::string::npos)
            names.push_back(absl::StrCat("tierwatch-negative", name.substr(dot)));
        }
        for (const std::string& pat : r.fqdn_patterns) {
          std::string rest = pat.substr(2);
          names.push_back(absl::StrCat("tierwatch-negative.", rest));  // what it widens to
          names.push_back(absl::StrCat("a.b.", rest));                 // `*` is one label
          names.push_back(rest);                                       // and at least one
        }
        std::sort(names.begin(), names.end());
        names.erase(std::unique(names.begin(), names.end()), names.end());
        for (const std::string& name : names) {
          Peer q = Peer::Fqdn(symbols_.Intern(name));
          make(subject, &s_rep, q, &Rep(q), proto, port, "another DNS name");
        }
        break;
      }
      case RuleKind::kCidr: {
        std::string next = NextIp(peer.name.view());
        if (next.empty()) break;
        Peer q = Peer::Ip(symbols_.Intern(next));
        make(subject, &s_rep, q, &Rep(q), proto, port, "the next address");
        break;
      }
      case RuleKind::kEntity: {
        absl::string_view other = peer.name == "world" ? "remote-node" : "world";
        Peer q = Peer::Entity(symbols_.Intern(other));
        make(subject, &s_rep, q, &Rep(q), proto, port, "another entity");
        break;
      }
    }
    // Other workloads standing where the subject stands.
    if (subject.is_workload()) {
      size_t n = 0;
      for (const Peer& o : chooser_.WorkloadsIn(subject.namespace_.view())) {
        if (o == subject || o == peer) continue;
        if (n++ >= max) break;
        make(o, &Rep(o), peer, &Rep(peer), proto, port,
             absl::StrCat("another workload of ", subject.namespace_.view(), " in ",
                          subject.ToString(), "'s place"));
      }
      if (p.clusterwide) {
        auto moved =
            std::make_unique<simulate::Representative>(Moved(s_rep, kNegativeNamespace, symbols_));
        Peer ms = Peer::Workload(symbols_.Intern(kNegativeNamespace), subject.name);
        make(ms, moved.get(), peer, &Rep(peer), proto, port,
             "the subject's labels in another namespace");
        owned_.push_back(std::move(moved));
      }
    }
  }

  void LeastPrivilege() {
    for (const SuggestedPolicy& p : set_.policies) {
      for (const SuggestedRule& r : p.egress) Negatives(p, r, Direction::kEgress);
      for (const SuggestedRule& r : p.ingress) Negatives(p, r, Direction::kIngress);
    }
  }

  // --- Lint ------------------------------------------------------------------------------

  void Lint(const std::string& prefix) {
    (void)prefix;
    report_.lint_policies = combined_->policies.size();
    if (options_.max_lint_policies > 0 && combined_->policies.size() > options_.max_lint_policies) {
      report_.lint_skipped = true;
      return;
    }
    policy::LintOptions lopts = LintOptionsFor(tiers_);
    // What the existing policies already have is not the suggestions' doing.
    std::set<std::tuple<std::string, std::string, int, std::string>> before;
    if (!set_.assumed_target) {
      policy::LoadedPolicies existing;
      existing.policies = set_.base;
      for (const tw::Diagnostic& f : policy::Lint(existing, lopts)) {
        if (f.severity == tw::Severity::kError) before.insert({f.code, f.file, f.line, f.path});
      }
    }
    for (const tw::Diagnostic& f : policy::Lint(*combined_, lopts)) {
      if (f.severity != tw::Severity::kError) {
        if (f.severity == tw::Severity::kWarning) ++report_.lint_warnings;
        continue;
      }
      bool ours = suggested_files_.count(f.file) > 0;
      if (!ours && before.count({f.code, f.file, f.line, f.path})) {
        report_.lint_errors_existing.push_back(f);
      } else {
        report_.lint_errors.push_back(f);
      }
    }
  }

  const baseline::Baseline& connections_;
  const SuggestionSet& set_;
  const tier::TierModel& tiers_;
  const SuggestOptions& options_;
  ProofReport& report_;
  flow::SymbolTable& symbols_;
  SelectorChooser chooser_;
  std::unique_ptr<policy::LoadedPolicies> combined_;
  std::unique_ptr<policy::Evaluator> base_eval_;
  std::unique_ptr<policy::Evaluator> eval_;
  std::set<std::string> suggested_files_;
  std::map<std::pair<std::string, std::string>, const SuggestedPolicy*> by_name_;
  absl::flat_hash_map<Peer, std::unique_ptr<simulate::Representative>> reps_;
  std::vector<std::unique_ptr<simulate::Representative>> owned_;
  absl::flat_hash_set<std::string> seen_;
};

}  // namespace

policy::LintOptions LintOptionsFor(const tier::TierModel& tiers) {
  const tier::TierOptions& t = tiers.options();
  policy::LintOptions o;
  o.tier0_namespaces.clear();
  o.tier1_namespaces.clear();
  for (const tier::TierSpec& spec : t.tiers) {
    if (spec.level == 0) {
      o.tier0_namespaces = spec.namespaces;
      o.tier0_patterns = spec.patterns;
    } else if (spec.level == 1) {
      o.tier1_namespaces = spec.namespaces;
      o.tier1_patterns = spec.patterns;
    }
  }
  o.controller_namespaces = t.apiserver_egress_namespaces;
  o.dns_namespace = t.dns_service.namespace_;
  o.dns_labels.clear();
  for (const auto& l : t.dns_service.labels) o.dns_labels.emplace_back(l.key, l.value);
  o.dns_ports.clear();
  for (const auto& p : t.dns_service.ports) {
    if (std::find(o.dns_ports.begin(), o.dns_ports.end(), p.port) == o.dns_ports.end()) {
      o.dns_ports.push_back(p.port);
    }
  }
  o.bypass_label_key = t.debug_bypass_label.key;
  o.bypass_label_value = t.debug_bypass_label.value;
  return o;
}

ProofReport Prove(const baseline::Baseline& connections, const SuggestionSet& set,
                  const std::vector<OutputFile>& files, const tier::TierModel& tiers,
                  const SuggestOptions& options, const std::string& file_prefix) {
  ProofReport report;
  Prover(connections, set, tiers, options, report).Run(files, file_prefix);
  return report;
}

std::string RenderProof(const ProofReport& p, size_t max_listed) {
  std::string out;
  auto list = [&](const std::vector<ProofItem>& items) {
    for (size_t i = 0; i < items.size() && i < max_listed; ++i) {
      absl::StrAppend(&out, "    ", items[i].key.ToString(), ": ", items[i].what, "\n");
    }
    if (items.size() > max_listed)
      absl::StrAppend(&out, "    ... and ", items.size() - max_listed, " more\n");
  };
  absl::StrAppend(&out, "reparse: ", p.files_parsed, " files through tierwatch's policy parser: ",
                  p.parse_errors.empty() ? "no schema errors (TW009)" : "SCHEMA ERRORS", "\n");
  for (const auto& d : p.parse_errors) absl::StrAppend(&out, "    ", d.ToString(), "\n");
  absl::StrAppend(
      &out, "closure: the policies in force plus the suggestions allow ", p.closure_allowed, " of ",
      p.closure_checked, " connections: ",
      p.closure_ok() ? "ok" : absl::StrCat("FAILED, ", p.still_denied_count, " still dropped"),
      "\n");
  list(p.still_denied);
  if (!p.undecided.empty()) {
    absl::StrAppend(&out, "  ", p.undecided.size(),
                    " undecided offline (not drops; they depend on what flows do not carry):\n");
    list(p.undecided);
  }
  absl::StrAppend(&out, "least privilege: ", p.negatives_checked,
                  " negative connections (other ports and protocols, other workloads, other "
                  "namespaces, other names and addresses): ",
                  p.violations.empty() ? "none allowed by a suggestion, ok"
                                       : absl::StrCat("FAILED, ", p.violations.size(),
                                                      " allowed that were never seen"),
                  "\n");
  list(p.violations);
  if (!p.declared.empty()) {
    absl::StrAppend(&out, "  ", p.declared.size(), " allowed by declared widenings:\n");
    list(p.declared);
  }
  absl::StrAppend(
      &out, "lint: existing + suggested: ",
      p.lint_errors.empty()
          ? "no errors from the suggestions, ok"
          : absl::StrCat("FAILED, ", p.lint_errors.size(), " errors from the suggestions"),
      p.lint_errors_existing.empty() ? std::string()
                                     : absl::StrCat("; ", p.lint_errors_existing.size(),
                                                    " errors the existing policies already had"),
      p.lint_warnings ? absl::StrCat("; ", p.lint_warnings, " warnings") : "", "\n");
  for (size_t i = 0; i < p.lint_errors.size() && i < max_listed; ++i) {
    absl::StrAppend(&out, "    ", p.lint_errors[i].ToString(), "\n");
  }
  return out;
}

}  // namespace tw::suggest
