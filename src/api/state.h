// StateView: what the HTTP API may read of a running daemon, as a read-only interface, so
// that the routes (api/routes.h) are pure functions testable without a daemon or a socket.
// The daemon's implementation is app/api_state.h; tests write small fakes.
//
// The suggestion set (GET /api/v1/suggestions) is a SuggestionsView: the last computed
// SuggestionResult (immutable, shared) and the live counters of the handler keeping it.
//
//   class FakeState : public tw::api::StateView { ... };
//   FakeState state;
//   tw::api::Response r = tw::api::Handle({"GET", "/api/v1/drops", {{"limit", "5"}}}, state);
//
// Every method may be called from several HTTP threads at once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "baseline/document.h"
#include "classify/aggregate.h"
#include "classify/classifier.h"
#include "nlohmann/json.hpp"
#include "suggest/prove.h"
#include "suggest/render.h"
#include "suggest/suggest.h"

namespace tw::api {

struct Health {
  bool ok = false;
  std::string reason;  // why not (or what is fine)
};

// One computation of the daemon's suggestion set (docs/suggest.md "Live"): what
// `tierwatch suggest --only-dropped` computes, from the connections of the kept drops.
struct SuggestionResult {
  absl::Time computed_at;       // the daemon clock's tick that started it
  absl::Duration took;          // suggest + render + proofs
  uint64_t drops = 0;           // drops of the kept classes it reflects (all seen up to then)
  uint64_t connections = 0;     // distinct connections it was computed from
  bool assumed_target = false;  // no policies loaded: the tier model's target default-deny
  size_t policies_in_force = 0;
  std::string policies_from;  // where the daemon loaded them ("a.yaml dir/"), "" if none
  suggest::SuggestStats stats;
  size_t rules = 0;
  size_t app_policies = 0;                      // namespaced CNPs (Tier 1/2 workloads)
  size_t clusterwide_policies = 0;              // CCNP fixes (Tier 0, Cilium's reserved endpoints)
  std::vector<suggest::Unresolved> unresolved;  // the first ones (see unresolved_count)
  size_t unresolved_count = 0;
  bool proofs_run = false;
  suggest::ProofReport proof;
  std::string error;  // the computation failed (then no files)
  // Every file of the set (suggest::Render), sorted by path; empty when nothing is suggested.
  std::vector<suggest::OutputFile> files;

  bool proven() const { return proofs_run && proof.ok(); }
};

struct SuggestionsView {
  // False when the daemon keeps no suggestions (suggestions.max_connections: 0, or not
  // started); `reason` says why.
  bool enabled = false;
  std::string reason = "this server keeps no suggestions";
  std::vector<std::string> classes;  // the drop classes whose connections are kept
  uint64_t drops = 0;                // drops of those classes seen
  uint64_t drops_skipped = 0;        // of them: no connection key, or not a policy drop
  uint64_t drops_left_out = 0;       // of them: a new connection beyond max_connections
  uint64_t connections = 0;          // distinct connections kept
  uint64_t max_connections = 0;
  bool pending = false;  // drops arrived that `result` does not reflect yet
  std::string note;      // about the daemon ("learn mode: ...")
  // The last computation; null before the first.
  std::shared_ptr<const SuggestionResult> result;
};

class StateView {
 public:
  virtual ~StateView() = default;

  virtual Health Liveness() const = 0;
  virtual Health Readiness() const = 0;
  // The Prometheus text exposition of every metric.
  virtual std::string MetricsText() const = 0;
  // The status document (the same JSON as `tierwatch run -o json`, live).
  virtual nlohmann::json Status() const = 0;

  // The recent classified drops, oldest first, and how many the ring holds at most.
  virtual std::vector<std::shared_ptr<const classify::Classification>> RecentDrops() const = 0;
  virtual std::shared_ptr<const classify::Classification> FindDrop(absl::string_view id) const = 0;
  virtual size_t RecentDropsCapacity() const = 0;

  // Distinct dropped connections per class (nullopt before the daemon ever watched).
  virtual std::optional<classify::AggregateSnapshot> Connections() const = 0;

  // The baseline as the exported document. NotFound when there is none; Unavailable when
  // the daemon could not produce it in time.
  virtual absl::StatusOr<std::string> BaselineDocument(baseline::DocumentFormat format) const = 0;

  // The daemon's current suggestion set and how current it is.
  virtual SuggestionsView Suggestions() const { return SuggestionsView{}; }

  // The clock `since=5m` is relative to.
  virtual absl::Time Now() const = 0;
};

}  // namespace tw::api
