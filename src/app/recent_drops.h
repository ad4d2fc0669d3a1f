// RecentDrops: a bounded ring of the most recent DROPPED and AUDIT flows, for the future
// HTTP API (/api/v1/drops) and for on-call summaries. Memory is capped by `capacity`
// (config `recent_drops`); older drops fall off the front.
//
//   tw::app::RecentDrops recent(1000);
//   pipeline.AddSink(&recent);
//   std::vector<tw::flow::Flow> last = recent.Snapshot();   // oldest first, any thread
//
// Once the classifier is wired in (issue 3) the daemon keeps classified drops here; until
// then the raw flows.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "app/sink.h"
#include "flow/flow.h"

namespace tw::app {

class RecentDrops final : public FlowSink {
 public:
  explicit RecentDrops(size_t capacity) : capacity_(capacity) {}
  void OnEvent(const flow::Event& event) override;
  std::vector<flow::Flow> Snapshot() const;  // oldest first
  uint64_t total() const;                    // drops seen, including those that fell off
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<flow::Flow> ring_ ABSL_GUARDED_BY(mu_);
  uint64_t total_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tw::app
