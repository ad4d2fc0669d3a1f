// What the daemon and `analyze` keep from classified drops: counts per class and per
// distinct connection (retransmits make event counts noisy; connections are what an
// operator fixes), a bounded ring of the most recent classified drops, and the endpoints
// carrying the debug-bypass label ("bypassed since when").
//
//   tw::classify::DropAggregator counts;            // per class, per connection
//   tw::classify::RecentDrops recent(1000);         // the last 1000 classified drops
//   tw::classify::BypassTracker bypass(tiers.options().debug_bypass_label);
//   stream callback:  counts.Add(c); recent.Add(c);
//   every flow:       bypass.Observe(flow);
//   tw::classify::AggregateSnapshot s = counts.Snapshot();
//   s.classes[int(DropClass::kDnsBlocked)].connections;   // distinct connections
//
// All three are thread-safe: the pipeline worker adds, the HTTP API and metrics read
// snapshots. Memory is bounded: per class at most `max_connections_per_class` distinct
// connections are tracked (events beyond still count, in `untracked_events`).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "classify/classifier.h"
#include "flow/flow.h"
#include "tier/tier_model.h"

namespace tw::classify {

// One connection within one class.
struct ConnectionCount {
  DropClass drop_class = DropClass::kExpectedDeny;
  std::string connection;         // "business/odoo -> business/postgres:5432/TCP"
  uint64_t events = 0;            // counted drops (DROPPED and AUDIT)
  uint64_t predicted_events = 0;  // of which AUDIT
  absl::Time first_seen = absl::InfinitePast();
  absl::Time last_seen = absl::InfinitePast();
  bool in_baseline = false;
  std::vector<std::string> nodes;  // sorted, at most 16
  // Per enforcing side (index: Side): events, and the first drop's id and explanation.
  std::array<uint64_t, 2> side_events{};
  std::array<std::string, 2> example_id;
  std::array<std::string, 2> explanation;
  std::vector<std::string> policies;  // responsible policies seen, at most 8
};

struct ClassTotals {
  uint64_t events = 0;
  uint64_t predicted_events = 0;
  uint64_t connections = 0;       // distinct connections tracked
  uint64_t untracked_events = 0;  // events of connections beyond the cap
};

struct AggregateSnapshot {
  std::array<ClassTotals, kDropClassCount> classes{};
  uint64_t events = 0;
  uint64_t predicted_events = 0;
  // Every tracked connection, by class (precedence order), then events descending.
  std::vector<ConnectionCount> connections;

  const ClassTotals& of(DropClass c) const { return classes[static_cast<int>(c)]; }
  uint64_t events_of(DropSeverity s) const;
  // Connections of one class, most events first; `limit` 0 = all.
  std::vector<const ConnectionCount*> Top(DropClass c, size_t limit = 0) const;
};

class DropAggregator {
 public:
  explicit DropAggregator(size_t max_connections_per_class = 10000);
  void Add(const Classification& c);
  AggregateSnapshot Snapshot() const;
  uint64_t events() const;
  void Clear();

 private:
  const size_t max_per_class_;
  mutable absl::Mutex mu_;
  std::array<ClassTotals, kDropClassCount> totals_ ABSL_GUARDED_BY(mu_){};
  std::array<absl::flat_hash_map<std::string, ConnectionCount>, kDropClassCount> by_class_
      ABSL_GUARDED_BY(mu_);
};

// The most recent classified drops, oldest first; older ones fall off the front.
class RecentDrops {
 public:
  explicit RecentDrops(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  void Add(Classification c);
  std::vector<Classification> Snapshot() const;  // oldest first
  // The drop with this id if it is still in the ring.
  std::optional<Classification> Find(absl::string_view id) const;
  uint64_t total() const;  // drops added, including those that fell off
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<Classification> ring_ ABSL_GUARDED_BY(mu_);
  uint64_t total_ ABSL_GUARDED_BY(mu_) = 0;
};

// An endpoint seen with the debug-bypass label.
struct BypassedEndpoint {
  std::string namespace_;
  std::string pod;  // "" when the flow names no pod
  std::string workload;
  uint32_t identity = 0;
  absl::Time first_seen;  // first flow carrying the label
  absl::Time last_seen;
  uint64_t flows = 0;
  uint64_t drops = 0;  // classified drops enforced at this endpoint (bypass_ineffective)

  std::string Name() const;  // "business/debug-shell-7d9f (debug-shell)"
};

class BypassTracker {
 public:
  explicit BypassTracker(tier::LabelRequirement label, size_t max_endpoints = 10000);
  const tier::LabelRequirement& label() const { return label_; }
  // Every flow: records either endpoint that carries the label.
  void Observe(const flow::Flow& f);
  // Counts a classified drop against the enforcing endpoint when it carries the label.
  void CountDrop(const Classification& c);
  // Sorted by first_seen. `now` for "bypassed for how long" is latest_flow_time().
  std::vector<BypassedEndpoint> Snapshot() const;
  absl::Time latest_flow_time() const;

 private:
  void Record(const flow::Endpoint& ep, absl::Time at) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasLabel(const flow::Endpoint& ep) const;
  const tier::LabelRequirement label_;
  const size_t max_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, BypassedEndpoint> endpoints_ ABSL_GUARDED_BY(mu_);
  absl::Time latest_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// "3d4h", "2h5m", "45s" for how long an endpoint has been bypassed.
std::string FormatAge(absl::Duration d);

}  // namespace tw::classify
