// StateView: what the HTTP API may read of a running daemon, as a read-only interface, so
// that the routes (api/routes.h) are pure functions testable without a daemon or a socket.
// The daemon's implementation is app/api_state.h; tests write small fakes.
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

namespace tw::api {

struct Health {
  bool ok = false;
  std::string reason;  // why not (or what is fine)
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

  // The clock `since=5m` is relative to.
  virtual absl::Time Now() const = 0;
};

}  // namespace tw::api
