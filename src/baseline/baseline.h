// The baseline: every connection seen while learning, with when it was first and last seen,
// how many flows carried it, on which nodes and with which verdicts. Classification asks it
// "did this used to work?"; `tierwatch baseline export` turns it into the documented
// baseline an operator reviews and commits.
//
//   tw::flow::SymbolTable symbols;
//   tw::baseline::Baseline baseline(symbols);
//   tw::flow::DnsNameCache dns(symbols);
//   tw::baseline::Learner learner(baseline, &dns);
//   reader.Run([&](tw::flow::Event&& ev) { learner.Observe(ev); return true; });
//
//   if (auto rec = baseline.Find(key)) {          // key from tw::flow::ConnectionKeyOf
//     rec->first_seen; rec->count; rec->nodes;    // "in the baseline since ..."
//   }
//   tw::baseline::SaveSnapshot(baseline, "baseline.twb");   // persist.h
//
// Workload labels: per workload peer (not per connection) the baseline keeps the identity
// labels every pod of that workload was seen with — Hubble's identity-relevant labels minus
// the per-revision ones (pod-template-hash, controller-revision-hash, ...) — interned as a
// set. Policy selectors are written and evaluated against them (simulate, suggest):
//
//   if (auto labels = baseline.Labels(flow::Peer::Workload(ns, name))) {
//     for (flow::Symbol l : *labels) ...;        // "k8s:app.kubernetes.io/name=odoo", ...
//     ServiceAccountOf(*labels);                  // "odoo"
//   }
//
// Memory: about 100 bytes per connection (a 56-byte key of interned symbols, 32 bytes of
// statistics, a 4-byte index slot; node sets and label sets are interned, labels are kept
// per workload). bench/baseline_bench.cc measures it at one million connections.
//
// Not thread-safe: one owner (the pipeline worker) mutates it; copy it to hand it elsewhere.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "flow/connection.h"
#include "flow/flow.h"

namespace tw::baseline {

// Verdicts as a bitmask: bit (1 << Verdict).
using VerdictSet = uint16_t;
inline constexpr VerdictSet VerdictBit(flow::Verdict v) {
  return static_cast<VerdictSet>(1u << static_cast<unsigned>(v));
}
// Hubble's names of the verdicts in a set, in enum order ("FORWARDED", "AUDIT").
std::vector<absl::string_view> VerdictNames(VerdictSet set);

// An interned, sorted set of node names (identified within one Baseline).
using NodeSetId = uint32_t;

// One connection of a baseline, as a read-only view.
struct ConnectionRecord {
  flow::ConnectionKey key;
  absl::Time first_seen;
  absl::Time last_seen;
  uint64_t count = 0;
  // Sorted node names; points into the baseline: valid until the baseline is modified.
  absl::Span<const flow::Symbol> nodes;
  VerdictSet verdicts = 0;
  NodeSetId node_set = 0;  // the id of `nodes` within its baseline

  bool by_ip_only() const { return key.destination.by_ip_only; }
  bool saw(flow::Verdict v) const { return (verdicts & VerdictBit(v)) != 0; }
};

// Labels that differ between pods (or revisions) of one workload: never part of a
// workload's label set, never used by a selector. `label` is "source:key=value" or "key=value".
bool IsPerPodLabel(absl::string_view label);
// The service account in a label set (io.cilium.k8s.policy.serviceaccount), "" if none.
absl::string_view ServiceAccountOf(absl::Span<const flow::Symbol> labels);

// What a loader knows about a connection.
struct ConnectionStats {
  absl::Time first_seen;
  absl::Time last_seen;
  uint64_t count = 0;
  std::vector<flow::Symbol> nodes;  // any order, duplicates allowed
  VerdictSet verdicts = 0;
};

class Baseline {
 public:
  // `symbols` interns what loading creates; it must outlive the baseline.
  explicit Baseline(flow::SymbolTable& symbols);
  ~Baseline();
  Baseline(const Baseline& other);
  Baseline& operator=(const Baseline& other);
  Baseline(Baseline&& other) noexcept;
  Baseline& operator=(Baseline&& other) noexcept;

  // One flow of a connection at `at`, seen on `node` with `verdict`. Returns true when the
  // connection is new.
  bool Record(const flow::ConnectionKey& key, absl::Time at, flow::Symbol node,
              flow::Verdict verdict);
  // Adds a connection with its statistics, merging (min first, max last, sum counts, union
  // of nodes and verdicts) when it is already present. Returns true when it was new.
  bool Insert(const flow::ConnectionKey& key, const ConnectionStats& stats);
  // Merges every connection of `other` into this one, and its workload labels (a workload
  // known to both keeps the labels both sets share).
  void Merge(const Baseline& other);

  // --- Workload labels (see the file comment) ---
  // Learns the labels of `endpoint`, seen as `peer` (only workload peers keep labels). The
  // first sighting sets the workload's labels; a pod with another identity narrows them to
  // the labels both carry. Endpoints without labels teach nothing.
  void ObserveLabels(const flow::Peer& peer, const flow::Endpoint& endpoint);
  // Sets a workload's labels as given (loaders); per-pod labels are dropped, the rest
  // sorted and de-duplicated.
  void SetLabels(const flow::Peer& peer, std::vector<flow::Symbol> labels);
  // The sorted labels of a workload peer; nullopt when none were seen. Valid until the
  // baseline is modified.
  std::optional<absl::Span<const flow::Symbol>> Labels(const flow::Peer& peer) const;
  // Every workload with labels, sorted by namespace and name.
  std::vector<std::pair<flow::Peer, absl::Span<const flow::Symbol>>> LabelledWorkloads() const;
  size_t labelled_workloads() const;

  size_t size() const;
  bool empty() const { return size() == 0; }
  bool Contains(const flow::ConnectionKey& key) const;
  std::optional<ConnectionRecord> Find(const flow::ConnectionKey& key) const;
  // Every connection in insertion order (stable across save/load).
  void ForEach(const std::function<void(const ConnectionRecord&)>& fn) const;
  // Every connection sorted by key: the order of exports and diffs.
  std::vector<ConnectionRecord> Sorted() const;

  // Earliest first_seen and latest last_seen (UnixEpoch when empty).
  absl::Time first_seen() const;
  absl::Time last_seen() const;

  // Where the baseline was learned from ("capture:before.jsonl", "relay:host:4245"); shown
  // in exports as generatedFrom.
  const std::string& source() const { return source_; }
  void set_source(std::string s) { source_ = std::move(s); }

  // Server ports of the baseline's connections (for reply inference).
  const flow::ServerPortIndex& server_ports() const { return server_ports_; }
  flow::SymbolTable& symbols() const { return *symbols_; }

  // Same connections with the same statistics, the same workload labels and the same source.
  friend bool operator==(const Baseline& a, const Baseline& b);
  friend bool operator!=(const Baseline& a, const Baseline& b) { return !(a == b); }

  // Node-set interning, for the snapshot codec.
  NodeSetId InternNodes(std::vector<flow::Symbol> nodes);
  absl::Span<const flow::Symbol> Nodes(NodeSetId id) const;
  size_t node_set_count() const;
  // Insert() for a snapshot codec: `nodes` is an id this baseline's InternNodes returned,
  // so nothing is copied or re-interned per connection (1M connections load in a fraction
  // of the time). An out-of-range id means no nodes.
  bool InsertInterned(const flow::ConnectionKey& key, absl::Time first_seen, absl::Time last_seen,
                      uint64_t count, NodeSetId nodes, VerdictSet verdicts);
  // Room for `connections` in all, so loading does not rehash as it grows.
  void Reserve(size_t connections);

 private:
  struct Store;
  flow::SymbolTable* symbols_;
  std::unique_ptr<Store> store_;
  flow::ServerPortIndex server_ports_;
  std::string source_;
};

// --- Learning ----------------------------------------------------------------------------

struct LearnOptions {
  // Flows with these verdicts are learned: traffic that works today (AUDIT: would be
  // dropped but is not). DROPPED and ERROR are not: learning them would make every later
  // default-deny drop look like a regression.
  VerdictSet verdicts = VerdictBit(flow::Verdict::kForwarded) | VerdictBit(flow::Verdict::kAudit) |
                        VerdictBit(flow::Verdict::kRedirected) |
                        VerdictBit(flow::Verdict::kTranslated) | VerdictBit(flow::Verdict::kTraced);
  // When DROPPED is among `verdicts` (collecting what policy denied, as `tierwatch suggest
  // --only-dropped` does): only drops by policy (Flow::IsPolicyVerdictDrop) are learned,
  // never conntrack or other infrastructure drops.
  bool only_policy_drops = true;
};

enum class LearnResult : uint8_t {
  kNewConnection,   // learned, and the connection is new
  kLearned,         // learned, connection already known
  kReply,           // a reply: not a connection
  kSkippedVerdict,  // verdict not learned (DROPPED, ...)
  kNoConnection,    // no protocol or port to key a connection by
  kNotAFlow,        // lost events, node status
};

struct LearnStats {
  uint64_t events = 0;
  uint64_t flows = 0;
  uint64_t learned = 0;
  uint64_t new_connections = 0;
  uint64_t replies = 0;
  uint64_t skipped_verdict = 0;
  uint64_t no_connection = 0;
  uint64_t dns_answers = 0;  // L7 DNS answers fed to the name cache
};

// Feeds flows into a baseline: learns DNS answers into `dns` (may be null), skips replies
// (inferred with the baseline's server ports) and unlearned verdicts, records the rest.
class Learner {
 public:
  Learner(Baseline& baseline, flow::DnsNameCache* dns, LearnOptions options = {});
  LearnResult Observe(const flow::Flow& flow);
  LearnResult Observe(const flow::Event& event);
  const LearnStats& stats() const { return stats_; }

 private:
  Baseline& baseline_;
  flow::DnsNameCache* dns_;
  LearnOptions options_;
  LearnStats stats_;
};

}  // namespace tw::baseline
