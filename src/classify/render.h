// How classified drops are shown: one JSON object per drop (`analyze -o json`, the daemon's
// /api/v1/drops), the on-call text report (`analyze`, `make demo`) and the full reasoning
// for one drop (`analyze --explain ID`).
//
//   std::cout << tw::classify::ClassificationJson(c).dump() << "\n";
//   std::cout << tw::classify::RenderReport(analyzer.counts().Snapshot(),
//                                           analyzer.bypass().Snapshot(),
//                                           analyzer.bypass().latest_flow_time(), {});
//   std::cout << tw::classify::RenderExplain(c);   // c classified with explain=true
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "classify/aggregate.h"
#include "classify/classifier.h"
#include "nlohmann/json.hpp"

namespace tw::classify {

// The labels worth showing: Hubble's endpoint labels without the bookkeeping ones
// (namespace labels, cluster, pod namespace, pod-template-hash, ...).
std::vector<std::string> LabelsThatMatter(const flow::Endpoint& ep);

nlohmann::json PolicyRefJson(const PolicyRefInfo& ref);
nlohmann::json AttributionJson(const Attribution& a);
// {namespace, workload, pod, identity, labels, entity, tier, tier_name, ip, peer, bypass}.
nlohmann::json EndpointJson(const flow::Endpoint& ep, const std::string& ip,
                            const EndpointFacts& facts);
// One drop: id, class, severity, predicted, enforcing_side, source, destination, port,
// protocol, drop_reason, in_baseline, baseline_since, explanation, policy, and context
// (time, node, uuid, verdict, traffic_direction, connection, reply_to, ...).
nlohmann::json ClassificationJson(const Classification& c);

struct ReportOptions {
  size_t top_connections = 5;  // per class in the summary
  std::string title;           // first line, e.g. "after.jsonl: 1194 flows"
  std::string bypass_label;    // "policy.cilium.io/enforce=false" for the bypass heading
  // How the reader gets the full reasoning of one drop id (analyze: its own flag; the
  // daemon's summary: `tierwatch explain` against its API).
  std::string explain_hint = "`--explain ID`";
};

// Summary table (class x severity x events x distinct connections), top connections per
// class, then every critical and high connection with its explanation, then the bypassed
// endpoints with how long they have been bypassed (relative to `now`).
std::string RenderReport(const AggregateSnapshot& counts,
                         const std::vector<BypassedEndpoint>& bypassed, absl::Time now,
                         const ReportOptions& options);

// Everything about one drop: facts, each precedence rule checked, policy attribution and
// the explanation. Pass a classification made with explain=true for the rule trace.
std::string RenderExplain(const Classification& c);

}  // namespace tw::classify
