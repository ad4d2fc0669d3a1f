// Simulation: which of the connections that work today would a policy set drop? The
// connections come from a baseline or from captures (captured connections are taken as
// legitimate, like a baseline); each is evaluated with the policy engine, and every side
// that would deny it becomes a predicted drop, classified with the drop classifier's
// classes. This is the gate a GitOps repository runs before a policy change merges.
//
//   tw::simulate::ConnectionSet set(symbols);          // connections + endpoint labels
//   reader.Run([&](tw::flow::Event&& ev) { set.Observe(ev); return true; });  // captures
//   // or: set.AddBaseline(loaded_baseline);            // a baseline (labels synthesized)
//   tw::simulate::SimulationResult r =
//       tw::simulate::Simulate(set, evaluator, tiers, {});
//   if (r.GateFailed()) return 1;                       // something critical or high breaks
//
// Endpoint labels: policies select by labels. A workload stands for itself with the labels
// the baseline keeps for it (the labels all its pods were seen with; learned from captures
// or loaded with the baseline). Entities and world peers are their reserved labels. Only a
// workload whose labels are unknown (a baseline written before tierwatch kept labels) gets
// synthesized ones (namespace, app.kubernetes.io/name=<workload>, and the DNS service's
// labels for the DNS workloads), and results built on them are marked `labels_synthesized`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "baseline/baseline.h"
#include "classify/classifier.h"
#include "flow/connection.h"
#include "flow/flow.h"
#include "policy/evaluator.h"
#include "tier/tier_model.h"

namespace tw::simulate {

// One endpoint standing for a peer in evaluations.
struct Representative {
  flow::Endpoint endpoint;
  std::string ip;
  bool synthesized = false;
};

// The connections to simulate and the endpoints that stand for their peers.
class ConnectionSet {
 public:
  explicit ConnectionSet(flow::SymbolTable& symbols);
  ConnectionSet(const ConnectionSet&) = delete;
  ConnectionSet& operator=(const ConnectionSet&) = delete;

  // Learns from a captured flow: its connection (replies and unlearned verdicts are skipped,
  // as the baseline learner does) and the labels of both endpoints.
  void Observe(const flow::Event& event);
  void Observe(const flow::Flow& f);
  // Adds every connection of a baseline with its workload labels.
  void AddBaseline(const baseline::Baseline& b);

  const baseline::Baseline& connections() const { return connections_; }
  baseline::Baseline& mutable_connections() { return connections_; }
  const baseline::LearnStats& learn_stats() const { return learner_.stats(); }
  size_t size() const { return connections_.size(); }

  // The endpoint that stands for `peer` (observed, else synthesized by Synthesize).
  Representative RepresentativeOf(const flow::Peer& peer, const tier::TierModel& tiers) const;
  // A workload peer with the given labels.
  static Representative FromLabels(const flow::Peer& peer, absl::Span<const flow::Symbol> labels);
  // Labels made up from a peer's name, for peers no flow showed.
  static Representative Synthesize(const flow::Peer& peer, const tier::TierModel& tiers,
                                   flow::SymbolTable& symbols);
  size_t observed_peers() const { return endpoints_.size(); }
  flow::SymbolTable& symbols() const { return symbols_; }

 private:
  void Remember(const flow::Endpoint& ep, const std::string& ip, const flow::Peer& peer);

  flow::SymbolTable& symbols_;
  baseline::Baseline connections_;
  flow::DnsNameCache dns_;
  baseline::Learner learner_;
  absl::flat_hash_map<flow::Peer, Representative> endpoints_;
};

// The endpoint standing for `peer` when only a baseline is known: a workload with the labels
// the baseline keeps for it, an entity or world peer with its reserved labels, else (a
// workload whose labels are unknown) synthesized labels. `symbols` interns made-up labels.
Representative RepresentativeFor(const baseline::Baseline& b, const flow::Peer& peer,
                                 const tier::TierModel& tiers, flow::SymbolTable& symbols);

// A connection as a flow the evaluator and the classifier understand: an original (TCP SYN,
// no source port, so it can never look like a reply), verdict AUDIT (predicted), the FQDN
// as destination_names, the ICMP type from the key's port, the first node.
flow::Flow ConnectionFlow(const baseline::ConnectionRecord& rec, const Representative& src,
                          const Representative& dst);

// One side of one connection that the policy set would deny.
struct WouldBreak {
  flow::ConnectionKey connection;
  classify::Classification drop;  // predicted drop at that side
  policy::Direction direction = policy::Direction::kEgress;
  bool labels_synthesized = false;
};

struct Undecided {
  flow::ConnectionKey connection;
  std::string reason;
};

// Would-be drops per responsible policy.
struct PolicyImpact {
  std::string policy;  // display name ("ns/name" or "name")
  std::string kind;
  std::string file;
  int line = 0;
  uint64_t drops = 0;
  uint64_t connections = 0;
  std::map<classify::DropClass, uint64_t> by_class;
};

struct ClassCount {
  uint64_t drops = 0;        // would-be drops (connection sides)
  uint64_t connections = 0;  // distinct connections
};

struct SimulationResult {
  uint64_t connections = 0;
  uint64_t allowed = 0;
  uint64_t broken = 0;  // connections with at least one denying side
  uint64_t undecided_count = 0;
  uint64_t synthesized = 0;        // connections evaluated with a synthesized endpoint
  std::vector<WouldBreak> breaks;  // by class precedence, then connection, then direction
  uint64_t breaks_not_kept = 0;    // would-be drops beyond SimulateOptions::max_breaks_kept
  std::vector<Undecided> undecided;
  std::map<classify::DropClass, ClassCount> by_class;
  std::vector<PolicyImpact> by_policy;  // most drops first

  uint64_t drops_of(classify::DropSeverity s) const;
  // Something critical or high would break (`tierwatch simulate` exits 1).
  bool GateFailed() const;
  // Some would-be drop has one of these classes.
  bool AnyOf(const std::vector<classify::DropClass>& classes) const;
};

// The classes a gate fails on, from a list of severities and class names
// ("critical,high", "critical,platform_blocked"); InvalidArgument names an unknown word.
absl::StatusOr<std::vector<classify::DropClass>> ParseFailOn(absl::string_view list);

struct SimulateOptions {
  // Stop collecting undecided connections after this many (the count goes on).
  size_t max_undecided_listed = 1000;
  // Would-be drops kept with their full classification; beyond, only the counts (by class,
  // by policy) go on. A million-connection baseline under a fresh default-deny would
  // otherwise hold a classification per connection.
  size_t max_breaks_kept = 10000;
};

SimulationResult Simulate(const ConnectionSet& set, const policy::Evaluator& policies,
                          const tier::TierModel& tiers, const SimulateOptions& options = {});

}  // namespace tw::simulate
