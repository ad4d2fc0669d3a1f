// What the daemon reports about itself: the same RunReport serves the shutdown summary
// (`tierwatch run`, text or `-o json`) and the live status API (/api/v1/status), so both
// show the same numbers in the same shape. Each FlowHandler fills its part
// (FlowHandler::Report); the Daemon adds the rest (source, reloads, uptime).
//
//   tw::app::RunReport r = daemon.Status();                 // live, any thread
//   std::cout << tw::app::RenderRunText(r, config.learn_for);
//   nlohmann::json j = tw::app::RenderRunJson(r);           // `run -o json`, /api/v1/status
//
// The JSON keys are an interface scripts read (pipeline.processed, source_stats.flows,
// drops.events, ...): add keys, never rename or re-purpose them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "app/pipeline.h"
#include "app/summary.h"
#include "classify/aggregate.h"
#include "config/config.h"
#include "nlohmann/json.hpp"
#include "sources/source.h"

namespace tw::app {

struct BaselineReport {
  std::string path;
  size_t connections = 0;
  uint64_t saves = 0;
  uint64_t save_errors = 0;
  std::optional<absl::Time> learning_started;
};

// What watch mode found: classified drops by class and connection, and the endpoints
// carrying the debug-bypass label.
struct WatchReport {
  classify::AggregateSnapshot counts;
  std::vector<classify::BypassedEndpoint> bypassed;
  absl::Time latest_flow_time = absl::InfinitePast();  // "bypassed for how long" is relative to it
  std::string bypass_label;                            // "policy.cilium.io/enforce=false"
  uint64_t recent_total = 0;                           // classified drops kept in the ring so far
};

struct RunReport {
  Summary summary;
  PipelineStats pipeline;
  sources::SourceStats source;               // summed over reconnections/restarts of the source
  std::string source_description;            // "relay 127.0.0.1:4245" or "capture a.jsonl b.jsonl"
  config::Mode mode = config::Mode::kLearn;  // now (at exit for the shutdown summary)
  std::optional<absl::Time> switched_to_watch_at;
  std::optional<BaselineReport> baseline;  // when a baseline is configured
  // Classified drops the recent-drops ring received (including those that fell off).
  uint64_t recent_drops_total = 0;
  // What watch mode classified (when the daemon watched at some point).
  std::optional<WatchReport> watch;
  uint64_t reloads = 0;          // configs applied
  uint64_t reload_errors = 0;    // configs rejected
  uint64_t source_restarts = 0;  // source replacements caused by reloads
  absl::Duration uptime;
  std::string stop_reason;  // "duration", "SIGTERM", "source ended", ... ("" while running)
  // The first runtime error (source failure, failed final save); OK on a clean run.
  absl::Status status;
};

// The on-call text summary. `learn_for` is the configured learning period.
// `explain_hint` names how to get the full reasoning of one drop id.
std::string RenderRunText(const RunReport& report, absl::Duration learn_for,
                          const std::string& explain_hint);
// `run -o json` and the body of /api/v1/status.
nlohmann::json RenderRunJson(const RunReport& report);

}  // namespace tw::app
