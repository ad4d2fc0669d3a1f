// Sharding `tierwatch run` by node: N daemons (a StatefulSet) read one Hubble Relay, each
// the flows of the nodes that hash to it, so their counters sum in Prometheus to what one
// daemon would count — every flow, lost-event notice and node-status event exactly once.
//
//   auto spec = tw::app::ParseShardSpec("ordinal/2", "tierwatch-1");   // {1, 2}
//   tw::app::ShardController shards({.spec = *spec, .list_nodes = ..., .apply = ...}, scope);
//   std::vector<std::string> mine = shards.Init();        // GetNodes once, this shard's nodes
//   cfg.filters.whitelist = tw::app::ShardWhitelist(cfg.filters.whitelist, mine, symbols);
//   shards.Start();                                       // refreshes on node changes
//   if (!shards.Keep(event)) skip(event);                 // events of other shards' nodes
//
// Which shard owns a node is rendezvous hashing of its name (the name flows carry,
// "cluster/node"): the owner is the shard with the highest hash(name, shard). It depends on
// the name and N only — not on which other nodes exist — so a node joining or leaving moves
// no other node, and every shard agrees without talking to the others.
//
// Two layers, for two reasons:
//   - the relay request: the node_name of this shard's nodes is ANDed into every whitelist
//     entry (an entry that names nodes keeps only those that are also this shard's; one
//     that keeps none is dropped; with no entry at all, the node list is the whitelist).
//     The relay then sends each shard only its part — the point of sharding. A shard that
//     owns no node asks for a node name no node has.
//   - Keep(): LostEvents and node-status events bypass Hubble's filters, and a relay that
//     ignored node_name would send everything: every event is kept only where
//     ShardOf(its node) is this shard (a node status event by its first node; events
//     without a node by the empty name, i.e. by exactly one shard). Exactly-once therefore
//     never depends on the node lists being current.
// Node lists are refreshed every `refresh` and at once when the stream reports a node
// status change; a changed list replaces the relay stream (resuming it, app/source_supervisor.h).
// Flows of a node that joined are counted from the refresh on (its owner resumes the stream
// resume_window before its newest flow; earlier flows of that node are not read).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "flow/flow.h"
#include "flow/flow.pb.h"
#include "flow/symbol.h"
#include "metrics/scope.h"

namespace tw::app {

struct ShardSpec {
  int index = 0;  // 0 <= index < count
  int count = 1;
  std::string ToString() const;  // "1/2"
};

// "I/N" (0 <= I < N), or "ordinal/N": I is the number `hostname` ends with after its last
// '-', as a StatefulSet names its pods (tierwatch-0, tierwatch-1, ...).
absl::StatusOr<ShardSpec> ParseShardSpec(absl::string_view spec, absl::string_view hostname);

// The shard (0..count-1) that owns a node, by rendezvous hashing of its name.
int ShardOf(absl::string_view node_name, int count);

// The names among `nodes` that `spec` owns, sorted.
std::vector<std::string> NodesOf(const ShardSpec& spec, const std::vector<std::string>& nodes);

// The node name a shard without nodes asks for: no node is called this.
inline constexpr absl::string_view kNoNode = "tierwatch-shard-owns-no-node";

// `whitelist` with node_name restricted to `nodes` (see above). `symbols` is scratch space
// for matching existing node_name patterns against the node names.
std::vector<::flow::FlowFilter> ShardWhitelist(const std::vector<::flow::FlowFilter>& whitelist,
                                               const std::vector<std::string>& nodes,
                                               flow::SymbolTable& symbols);

// Whether a shard counts this event: ShardOf(its node) == spec.index.
bool OwnsEvent(const ShardSpec& spec, const flow::Event& event);

struct ShardOptions {
  ShardSpec spec;
  // Every node name the relay knows (GetNodes).
  std::function<absl::StatusOr<std::vector<std::string>>()> list_nodes;
  // Called (on the controller's thread) with this shard's new node list when it changed.
  std::function<void(const std::vector<std::string>&)> apply;
  absl::Duration refresh = absl::Seconds(30);
};

class ShardController {
 public:
  ShardController(ShardOptions options, metrics::Scope& scope);
  ~ShardController();
  ShardController(const ShardController&) = delete;
  ShardController& operator=(const ShardController&) = delete;

  // Lists the nodes once and returns this shard's. When the relay cannot be asked yet, the
  // shard starts owning no node and Start()'s loop keeps asking.
  std::vector<std::string> Init();
  // Refreshes every `refresh`, or sooner after a node status event. Stop() ends it.
  void Start();
  void Stop();

  // Whether this shard counts the event (see OwnsEvent); a node status event also wakes the
  // refresh. Any thread (the source's).
  bool Keep(const flow::Event& event);

  const ShardSpec& spec() const { return options_.spec; }
  std::vector<std::string> nodes() const;

 private:
  // Lists the nodes; true when this shard's list changed (and was stored).
  bool Refresh();
  void Loop();

  const ShardOptions options_;
  mutable absl::Mutex mu_;
  std::vector<std::string> nodes_ ABSL_GUARDED_BY(mu_);
  bool listed_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;

  prometheus::Gauge& nodes_gauge_;
  prometheus::Gauge& count_gauge_;
  prometheus::Counter& refresh_ok_;
  prometheus::Counter& refresh_error_;
  prometheus::Family<prometheus::Counter>& skipped_;
  prometheus::Counter& skipped_flows_;
  prometheus::Counter& skipped_lost_;
  prometheus::Counter& skipped_status_;
};

}  // namespace tw::app
