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

}  // namespace

SimulationResult Simulate(const ConnectionSet& set, const policy::Evaluator& policies,
                          const tier::TierModel& tiers, const SimulateOptions& options) {
  SimulationResult r;
  classify::ClassifierOptions copts;
  copts.max_stream_connections = 0;  // every connection here is an original
  classify::DropClassifier classifier({&tiers, &set.connections(), &policies, &set.symbols()},
                                      copts);
  std::map<std::string, PolicyImpact> impacts;

  // One representative per distinct peer (there are far fewer peers than connections),
  // with its evaluator view built once: most connections are allowed, and for those no
  // Flow is built and nothing is allocated per connection (the views are copied into
  // `conn`, whose vectors keep their capacity).
  struct Rep {
    Representative r;
    policy::EndpointView view;
  };
  absl::flat_hash_map<Peer, std::unique_ptr<Rep>> reps;
  auto representative = [&](const Peer& p) -> const Rep& {
    auto& slot = reps[p];
    if (!slot) {
      slot = std::make_unique<Rep>();
      slot->r = set.RepresentativeOf(p, tiers);
      slot->view = policy::ViewOf(slot->r.endpoint, slot->r.ip);
    }
    return *slot;
  };
  policy::Connection conn;
  set.connections().ForEach([&](const baseline::ConnectionRecord& rec) {
    ++r.connections;
    const flow::ConnectionKey& key = rec.key;
    const Rep& src_rep = representative(key.source);
    const Rep& dst_rep = representative(key.destination);
    const Representative& src = src_rep.r;
    const Representative& dst = dst_rep.r;
    const bool synthesized = src.synthesized || dst.synthesized;
    if (synthesized) ++r.synthesized;
    // The connection ConnectionFlow() describes, as the evaluator sees it.
    conn.source = src_rep.view;
    conn.destination = dst_rep.view;
    conn.destination_names.clear();
    if (key.destination.kind == flow::PeerKind::kFqdn) {
      conn.destination_names.push_back(key.destination.name.view());
    }
    conn.protocol = key.protocol;
    const bool icmp =
        key.protocol == flow::Protocol::kICMPv4 || key.protocol == flow::Protocol::kICMPv6;
    conn.destination_port = icmp ? 0 : key.port;
    conn.icmp_type = icmp ? static_cast<uint8_t>(key.port) : 0;
    policy::Evaluation v = policies.Evaluate(conn);
    if (v.decision == policy::Decision::kAllowed) {
      ++r.allowed;
      return;
    }
    if (v.decision == policy::Decision::kUndecided) {
      ++r.undecided_count;
      if (r.undecided.size() < options.max_undecided_listed) {
        r.undecided.push_back({rec.key, v.undecided_reason});
      }
      return;
    }
    ++r.broken;
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
          classifier.Classify(f, false, &v, /*with_explanation=*/false);
      if (!c) continue;
      ClassCount& cc = r.by_class[c->drop_class];
      ++cc.drops;
      if (std::find(classes_here.begin(), classes_here.end(), c->drop_class) ==
          classes_here.end()) {
        classes_here.push_back(c->drop_class);
        ++cc.connections;
      }
      std::set<std::string> seen;
      for (const classify::PolicyRefInfo* p : c->attribution.Responsible()) {
        std::string name = p->DisplayName();
        if (!seen.insert(name).second) continue;
        PolicyImpact& pi = impacts[name];
        if (pi.policy.empty()) {
          pi.policy = name;
          pi.kind = p->kind;
          pi.file = p->file;
          pi.line = p->line;
        }
        ++pi.drops;
        ++pi.by_class[c->drop_class];
        if (policies_here.insert(name).second) ++pi.connections;
      }
      // Beyond the cap keep the most severe: a heap whose top is the least important kept.
      WouldBreak wb{rec.key, *std::move(c), dir, synthesized};
      if (r.breaks.size() < options.max_breaks_kept) {
        r.breaks.push_back(std::move(wb));
        std::push_heap(r.breaks.begin(), r.breaks.end(), MoreImportant);
      } else if (!r.breaks.empty() && MoreImportant(wb, r.breaks.front())) {
        std::pop_heap(r.breaks.begin(), r.breaks.end(), MoreImportant);
        r.breaks.back() = std::move(wb);
        std::push_heap(r.breaks.begin(), r.breaks.end(), MoreImportant);
        ++r.breaks_not_kept;
      } else {
        ++r.breaks_not_kept;
      }
    }
  });

  // Explanations only for what is kept: building sentences is most of a break's cost.
  for (WouldBreak& b : r.breaks) b.drop.explanation = classify::Explanation(b.drop, tiers);
  std::sort(r.breaks.begin(), r.breaks.end(), [](const WouldBreak& a, const WouldBreak& b) {
    if (a.drop.drop_class != b.drop.drop_class) return a.drop.drop_class < b.drop.drop_class;
    if (a.connection != b.connection) return a.connection < b.connection;
    return a.direction < b.direction;
  });
  std::sort(r.undecided.begin(), r.undecided.end(),
            [](const Undecided& a, const Undecided& b) { return a.connection < b.connection; });
  for (auto& [name, pi] : impacts) r.by_policy.push_back(std::move(pi));
  std::sort(r.by_policy.begin(), r.by_policy.end(),
            [](const PolicyImpact& a, const PolicyImpact& b) {
              if (a.drops != b.drops) return a.drops > b.drops;
              return a.policy < b.policy;
            });
  return r;
}

}  // namespace tw::simulate
