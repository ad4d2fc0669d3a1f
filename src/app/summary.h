// The run summary: what the daemon saw, counted by verdict, namespace, drop reason, event
// type, node and lost events, plus the most frequent denied connections. `tierwatch run`
// prints it at shutdown (text or JSON), /api/v1/status serves it live and `make demo`
// shows it.
//
//   tw::app::SummaryHandler summary(symbols);
//   observer.AddHandler(&summary, tw::app::Activity::kAlways);
//   ...
//   tw::app::Summary s = summary.Snapshot();      // any thread
//   std::cout << tw::app::FormatSummaryText(s);
//
// The counts that are also metrics (events, flows by verdict, node status events, lost
// events) belong to FlowMetricsHandler (app/flow_metrics.h), which fills them into the
// same Summary from the stats scope: one number, one owner. This handler keeps what would
// be too many series for Prometheus (namespaces, nodes, denied connections).
//
// Counts are of Hubble events, not packets: a denied packet shows up as a drop event (type
// 1) and a policy-verdict event (type 5), and retransmits repeat it. The classifier counts
// distinct drops; this summary says what arrived.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "app/handler.h"
#include "flow/flow.h"
#include "flow/symbol.h"

namespace tw::app {

struct NamespaceCounts {
  uint64_t flows = 0;  // flows with this namespace on either side (counted once per flow)
  uint64_t forwarded = 0;
  uint64_t dropped = 0;
  uint64_t audit = 0;
};

struct DeniedConnection {
  std::string connection;   // "business/n8n -> business/postgres:5432/TCP"
  std::string verdict;      // DROPPED or AUDIT
  std::string drop_reason;  // POLICY_DENIED, ... ("" for AUDIT and L7)
  uint64_t events = 0;
};

// Counts by name; transparent, so a count is found by string_view without a copy.
using CountsByName = std::map<std::string, uint64_t, std::less<>>;

struct Summary {
  uint64_t events = 0;
  uint64_t flows = 0;
  uint64_t node_status_events = 0;
  uint64_t lost_event_messages = 0;                // LostEvent messages received
  uint64_t lost_events = 0;                        // sum of their num_events_lost
  std::map<std::string, uint64_t> lost_by_source;  // PERF_EVENT_RING_BUFFER, ...
  std::map<std::string, uint64_t> by_verdict;      // FORWARDED, DROPPED, AUDIT, ...
  CountsByName by_event_type;                      // trace, drop, policy-verdict, l7, ...
  CountsByName by_node;
  // Keyed by namespace; reserved entities as "(world)", "(host)", ...
  std::map<std::string, NamespaceCounts, std::less<>> by_namespace;
  // DROPPED flows by drop reason name ("UNKNOWN" when the flow carries none, as L7 drops).
  CountsByName drop_reasons;
  // Most frequent denied (DROPPED/AUDIT) connections, by events, descending.
  std::vector<DeniedConnection> top_denied;
  uint64_t denied_connections = 0;  // distinct denied connections seen (up to the cap)
  std::optional<absl::Time> first_flow_time;
  std::optional<absl::Time> last_flow_time;
};

// The namespace an operator would file an endpoint under; reserved entities as "(world)",
// "(host)", ..., "(unknown)" when nothing names it. The summary's by_namespace keys and the
// namespace label of tierwatch_drops_total.
std::string NamespaceOrEntity(const flow::Endpoint& endpoint);

// Hubble's name for a monitor event type ("drop", "trace", "policy-verdict", "l7", ...).
std::string EventTypeName(int32_t type);

struct SummaryOptions {
  size_t top_denied = 10;
  // Distinct denied connections tracked; beyond it new ones are folded into
  // "(other connections)" so memory stays bounded under a flood of scans.
  size_t max_denied_tracked = 10000;
};

class SummaryHandler final : public FlowHandler {
 public:
  explicit SummaryHandler(flow::SymbolTable& symbols, SummaryOptions options = {});
  void OnEvent(const flow::Event& event) override;
  // A consistent copy of this handler's fields; safe from any thread.
  Summary Snapshot() const;
  // Copies this handler's fields into report->summary (leaves the metric-backed ones).
  void Report(RunReport* report) const override;

 private:
  // An endpoint's by_namespace key without a copy: its namespace, else "(entity)" from a
  // cache by reserved mask (node-based: views stay valid). Worker thread only.
  absl::string_view SideName(const flow::Endpoint& ep);

  flow::SymbolTable& symbols_;
  const SummaryOptions options_;
  absl::node_hash_map<uint16_t, std::string> entity_names_;
  mutable absl::Mutex mu_;
  Summary s_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, DeniedConnection> denied_ ABSL_GUARDED_BY(mu_);
};

// Human-readable, aligned tables (empty sections are left out).
std::string FormatSummaryText(const Summary& summary);

}  // namespace tw::app
