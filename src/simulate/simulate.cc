#include "simulate/simulate.h"

#include <algorithm>
#include <memory>
#include <set>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tw::simulate {

using classify::Classification;
using classify::DropClass;
using flow::Flow;
using flow::Peer;

// --- ConnectionSet ----------------------------------------------------------------------------

ConnectionSet::ConnectionSet(flow::SymbolTable& symbols)
    : symbols_(symbols), connections_(symbols), dns_(symbols), learner_(connections_, &dns_) {}

void ConnectionSet::Observe(const flow::Event& event) {
  if (event.flow) Observe(*event.flow);
}

void ConnectionSet::Observe(const Flow& f) {
  learner_.Observe(f);  // also feeds the DNS cache, so names below match the learned keys
  Peer src = flow::PeerOf(f.source, f.source_ip, f.source_names, flow::PeerRole::kSource, symbols_,
                          &dns_, f.time);
  Peer dst = flow::PeerOf(f.destination, f.destination_ip, f.destination_names,
                          flow::PeerRole::kDestination, symbols_, &dns_, f.time);
  Remember(f.source, f.source_ip, src);
  Remember(f.destination, f.destination_ip, dst);
}

void ConnectionSet::Remember(const flow::Endpoint& ep, const std::string& ip, const Peer& peer) {
  if (ep.labels.empty() && ep.identity == 0) return;  // nothing to select on
  auto it = endpoints_.find(peer);
  if (it == endpoints_.end()) {
    endpoints_.emplace(peer, Representative{ep, ip, false});
    return;
  }
  // Keep the most complete view (trace points differ in what they report).
  Representative& r = it->second;
  if (ep.labels.size() > r.endpoint.labels.size() ||
      (ep.labels.size() == r.endpoint.labels.size() && r.endpoint.workloads.empty() &&
       !ep.workloads.empty())) {
    r.endpoint = ep;
    if (!ip.empty()) r.ip = ip;
  } else if (r.ip.empty() && !ip.empty()) {
    r.ip = ip;
  }
}

void ConnectionSet::AddBaseline(const baseline::Baseline& b) { connections_.Merge(b); }

namespace {

uint32_t EntityIdentity(absl::string_view entity) {
  if (entity == "host") return 1;
  if (entity == "world") return 2;
  if (entity == "unmanaged") return 3;
  if (entity == "health") return 4;
  if (entity == "init") return 5;
  if (entity == "remote-node") return 6;
  if (entity == "kube-apiserver") return 7;
  if (entity == "ingress") return 8;
  return 0;
}

}  // namespace

Representative ConnectionSet::Synthesize(const Peer& peer, const tier::TierModel& tiers,
                                         flow::SymbolTable& symbols) {
  Representative r;
  r.synthesized = true;
  flow::Endpoint& e = r.endpoint;
  switch (peer.kind) {
    case flow::PeerKind::kWorkload: {
      std::string ns = peer.namespace_.str();
      e.namespace_ = peer.namespace_;
      e.labels.push_back(symbols.Intern("k8s:io.kubernetes.pod.namespace=" + ns));
      e.labels.push_back(
          symbols.Intern("k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=" + ns));
      if (!peer.name.empty()) {
        e.labels.push_back(symbols.Intern("k8s:app.kubernetes.io/name=" + peer.name.str()));
        e.workloads.push_back({peer.name, flow::Symbol()});
      }
      // The DNS service is selected by its own labels (k8s-app=kube-dns), never by name.
      const tier::DnsServiceSpec& dns = tiers.options().dns_service;
      if (ns == dns.namespace_ && (peer.name == "coredns" || peer.name == "kube-dns")) {
        for (const auto& l : dns.labels) {
          e.labels.push_back(symbols.Intern(absl::StrCat("k8s:", l.key, "=", l.value)));
        }
      }
      e.identity = 0;
      break;
    }
    // Entities and the world are what their name says: nothing is made up.
    case flow::PeerKind::kEntity:
      e.labels.push_back(symbols.Intern(absl::StrCat("reserved:", peer.name.view())));
      e.identity = EntityIdentity(peer.name.view());
      r.synthesized = false;
      break;
    case flow::PeerKind::kFqdn:
      e.labels.push_back(symbols.Intern("reserved:world"));
      e.identity = 2;
      r.synthesized = false;
      break;
    case flow::PeerKind::kIp:
      e.labels.push_back(symbols.Intern("reserved:world"));
      e.identity = 2;
      r.ip = peer.name.str();
      r.synthesized = false;
      break;
  }
  e.reserved = flow::ComputeReserved(e);
  return r;
}

Representative ConnectionSet::FromLabels(const Peer& peer, absl::Span<const flow::Symbol> labels) {
  Representative r;
  flow::Endpoint& e = r.endpoint;
  e.namespace_ = peer.namespace_;
  e.labels.assign(labels.begin(), labels.end());
  if (!peer.name.empty()) e.workloads.push_back({peer.name, flow::Symbol()});
  e.reserved = flow::ComputeReserved(e);
  return r;
}

Representative RepresentativeFor(const baseline::Baseline& b, const Peer& peer,
                                 const tier::TierModel& tiers, flow::SymbolTable& symbols) {
  // A workload's labels as the baseline keeps them: the labels all its pods carry.
  if (peer.is_workload()) {
    if (auto labels = b.Labels(peer); labels && !labels->empty()) {
      return ConnectionSet::FromLabels(peer, *labels);
    }
  }
  return ConnectionSet::Synthesize(peer, tiers, symbols);
}

Representative ConnectionSet::RepresentativeOf(const Peer& peer,
                                               const tier::TierModel& tiers) const {
  if (peer.is_workload()) {
    if (auto labels = connections_.Labels(peer); labels && !labels->empty()) {
      return FromLabels(peer, *labels);
    }
  }
  auto it = endpoints_.find(peer);
  if (it != endpoints_.end()) {
    Representative r = it->second;
    if (peer.kind == flow::PeerKind::kIp) r.ip = peer.name.str();
    return r;
  }
  return Synthesize(peer, tiers, symbols_);
}

// --- Simulation ---------------------------------------------------------------------------------

uint64_t SimulationResult::drops_of(classify::DropSeverity s) const {
  uint64_t n = 0;
  for (const auto& [c, count] : by_class) {
    if (classify::SeverityOf(c) == s) n += count.drops;
  }
  return n;
}

bool SimulationResult::GateFailed() const {
  return drops_of(classify::DropSeverity::kCritical) + drops_of(classify::DropSeverity::kHigh) > 0;
}

bool SimulationResult::AnyOf(const std::vector<classify::DropClass>& classes) const {
  for (DropClass c : classes) {
    auto it = by_class.find(c);
    if (it != by_class.end() && it->second.drops > 0) return true;
  }
  return false;
}

absl::StatusOr<std::vector<DropClass>> ParseFailOn(absl::string_view list) {
  std::vector<DropClass> out;
  auto add = [&out](DropClass c) {
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  };
  for (absl::string_view word : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    word = absl::StripAsciiWhitespace(word);
    if (auto sev = classify::SeverityFromName(word)) {
      for (DropClass c : classify::AllDropClasses()) {
        if (classify::SeverityOf(c) == *sev) add(c);
      }
    } else if (auto c = classify::DropClassFromName(word)) {
      add(*c);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--fail-on: unknown severity or class '", word,
          "' (severities: critical, high, medium, low; classes: tier0_violation, dns_blocked, "
          "...)"));
    }
  }
  return out;
}

Flow ConnectionFlow(const baseline::ConnectionRecord& rec, const Representative& src,
                    const Representative& dst) {
  const flow::ConnectionKey& key = rec.key;
  Flow f;
  f.time = rec.last_seen;
  f.verdict = flow::Verdict::kAudit;
  f.type = flow::FlowType::kL3L4;
  f.event_type = flow::kEventPolicyVerdict;
  f.source = src.endpoint;
  f.destination = dst.endpoint;
  f.source_ip = src.ip;
  f.destination_ip = dst.ip;
  if (key.destination.kind == flow::PeerKind::kFqdn) f.destination_names = {key.destination.name};
  f.l4.protocol = key.protocol;
  if (key.protocol == flow::Protocol::kICMPv4 || key.protocol == flow::Protocol::kICMPv6) {
    f.l4.icmp_type = static_cast<uint8_t>(key.port);
  } else {
    f.l4.destination_port = key.port;
    if (key.protocol == flow::Protocol::kTCP) f.l4.tcp_flags = flow::kSYN;
  }
  if (!rec.nodes.empty()) f.node_name = rec.nodes.front();
  return f;
}

namespace {

// Severity first, then class precedence.
bool MoreImportant(const WouldBreak& a, const WouldBreak& b) {
  if (a.drop.severity != b.drop.severity) return a.drop.severity < b.drop.severity;
  return a.drop.drop_class < b.drop.drop_class;
}

// One simulation run: the classifier, the representatives built so far and the policy
// impacts gathered, shared by every connection ForEach visits.
class Simulation {
 public:
  Simulation(const ConnectionSet& set, const policy::Evaluator& policies,
             const tier::TierModel& tiers, const SimulateOptions& options)
      : set_(set),
        policies_(policies),
        tiers_(tiers),
        options_(options),
        classifier_({&tiers, &set.connections(), &policies, &set.symbols()}, AllOriginals()) {}

  SimulationResult Run() {
    set_.connections().ForEach([this](const baseline::ConnectionRecord& rec) { Visit(rec); });
    return Finish();
  }

 private:
  // One representative per distinct peer (there are far fewer peers than connections),
  // with its evaluator view built once: most connections are allowed, and for those no
  // Flow is built and nothing is allocated per connection (the views are copied into
  // `conn_`, whose vectors keep their capacity).
  struct Rep {
    Representative r;
    policy::EndpointView view;
  };

  static classify::ClassifierOptions AllOriginals() {
    classify::ClassifierOptions copts;
    copts.max_stream_connections = 0;  // every connection here is an original
    return copts;
  }

  const Rep& RepOf(const Peer& p) {
    auto& slot = reps_[p];
    if (!slot) {
      slot = std::make_unique<Rep>();
      slot->r = set_.RepresentativeOf(p, tiers_);
      slot->view = policy::ViewOf(slot->r.endpoint, slot->r.ip);
    }
    return *slot;
  }

  // The connection ConnectionFlow() describes, as the evaluator sees it.
  policy::Evaluation Evaluate(const flow::ConnectionKey& key, const Rep& src, const Rep& dst) {
    conn_.source = src.view;
    conn_.destination = dst.view;
    conn_.destination_names.clear();
    if (key.destination.kind == flow::PeerKind::kFqdn) {
      conn_.destination_names.push_back(key.destination.name.view());
    }
    conn_.protocol = key.protocol;
    const bool icmp =
        key.protocol == flow::Protocol::kICMPv4 || key.protocol == flow::Protocol::kICMPv6;
    conn_.destination_port = icmp ? 0 : key.port;
    conn_.icmp_type = icmp ? static_cast<uint8_t>(key.port) : 0;
    return policies_.Evaluate(conn_);
  }

  void Visit(const baseline::ConnectionRecord& rec) {
    ++r_.connections;
    const flow::ConnectionKey& key = rec.key;
    const Rep& src_rep = RepOf(key.source);
    const Rep& dst_rep = RepOf(key.destination);
    const bool synthesized = src_rep.r.synthesized || dst_rep.r.synthesized;
    if (synthesized) ++r_.synthesized;
    policy::Evaluation v = Evaluate(key, src_rep, dst_rep);
    if (v.decision == policy::Decision::kAllowed) {
      ++r_.allowed;
      return;
    }
    if (v.decision == policy::Decision::kUndecided) {
      ++r_.undecided_count;
      if (r_.undecided.size() < options_.max_undecided_listed) {
        r_.undecided.push_back({rec.key, v.undecided_reason});
      }
      return;
    }
    ++r_.broken;
    ClassifyBroken(rec, src_rep.r, dst_rep.r, synthesized, v);
  }

  // Classifies each denied side of a broken connection and counts what it breaks.
  void ClassifyBroken(const baseline::ConnectionRecord& rec, const Representative& src,
                      const Representative& dst, bool synthesized, const policy::Evaluation& v) {
    Flow f = ConnectionFlow(rec, src, dst);  // reused for both sides
    // ForEach visits each connection once, so distinct connections per class and per policy
    // need only be told apart across this connection's two sides.
    std::vector<DropClass> classes_here;
    std::set<std::string> policies_here;
    for (policy::Direction dir : {policy::Direction::kEgress, policy::Direction::kIngress}) {
      const policy::DirectionVerdict& side =
          dir == policy::Direction::kEgress ? v.egress : v.ingress;
      if (side.decision != policy::Decision::kDenied) continue;
      f.traffic_direction = dir == policy::Direction::kEgress ? flow::TrafficDirection::kEgress
                                                              : flow::TrafficDirection::kIngress;
      f.uuid = absl::StrCat("simulate:", rec.key.ToString(), ":", policy::DirectionName(dir));
      std::optional<Classification> c =
          classifier_.Classify(f, false, &v, /*with_explanation=*/false);
      if (!c) continue;
      ClassCount& cc = r_.by_class[c->drop_class];
      ++cc.drops;
      if (std::find(classes_here.begin(), classes_here.end(), c->drop_class) ==
          classes_here.end()) {
        classes_here.push_back(c->drop_class);
        ++cc.connections;
      }
      CountPolicies(*c, &policies_here);
      Keep(WouldBreak{rec.key, *std::move(c), dir, synthesized});
    }
  }

  // The policies responsible for one drop; `policies_here` tells this connection's other side
  // apart, so a policy's connections count each connection once.
  void CountPolicies(const Classification& c, std::set<std::string>* policies_here) {
    std::set<std::string> seen;
    for (const classify::PolicyRefInfo* p : c.attribution.Responsible()) {
      std::string name = p->DisplayName();
      if (!seen.insert(name).second) continue;
      PolicyImpact& pi = impacts_[name];
      if (pi.policy.empty()) {
        pi.policy = name;
        pi.kind = p->kind;
        pi.file = p->file;
        pi.line = p->line;
      }
      ++pi.drops;
      ++pi.by_class[c.drop_class];
      if (policies_here->insert(name).second) ++pi.connections;
    }
  }

  // Beyond the cap keep the most severe: a heap whose top is the least important kept.
  void Keep(WouldBreak wb) {
    std::vector<WouldBreak>& breaks = r_.breaks;
    if (breaks.size() < options_.max_breaks_kept) {
      breaks.push_back(std::move(wb));
      std::push_heap(breaks.begin(), breaks.end(), MoreImportant);
    } else if (!breaks.empty() && MoreImportant(wb, breaks.front())) {
      std::pop_heap(breaks.begin(), breaks.end(), MoreImportant);
      breaks.back() = std::move(wb);
      std::push_heap(breaks.begin(), breaks.end(), MoreImportant);
      ++r_.breaks_not_kept;
    } else {
      ++r_.breaks_not_kept;
    }
  }

  SimulationResult Finish() {
    // Explanations only for what is kept: building sentences is most of a break's cost.
    for (WouldBreak& b : r_.breaks) b.drop.explanation = classify::Explanation(b.drop, tiers_);
    std::sort(r_.breaks.begin(), r_.breaks.end(), [](const WouldBreak& a, const WouldBreak& b) {
      if (a.drop.drop_class != b.drop.drop_class) return a.drop.drop_class < b.drop.drop_class;
      if (a.connection != b.connection) return a.connection < b.connection;
      return a.direction < b.direction;
    });
    std::sort(r_.undecided.begin(), r_.undecided.end(),
              [](const Undecided& a, const Undecided& b) { return a.connection < b.connection; });
    for (auto& [name, pi] : impacts_) r_.by_policy.push_back(std::move(pi));
    std::sort(r_.by_policy.begin(), r_.by_policy.end(),
              [](const PolicyImpact& a, const PolicyImpact& b) {
                if (a.drops != b.drops) return a.drops > b.drops;
                return a.policy < b.policy;
              });
    return std::move(r_);
  }

  const ConnectionSet& set_;
  const policy::Evaluator& policies_;
  const tier::TierModel& tiers_;
  const SimulateOptions& options_;
  classify::DropClassifier classifier_;
  SimulationResult r_;
  std::map<std::string, PolicyImpact> impacts_;
  absl::flat_hash_map<Peer, std::unique_ptr<Rep>> reps_;
  policy::Connection conn_;
};

}  // namespace

SimulationResult Simulate(const ConnectionSet& set, const policy::Evaluator& policies,
                          const tier::TierModel& tiers, const SimulateOptions& options) {
  return Simulation(set, policies, tiers, options).Run();
}

}  // namespace tw::simulate
