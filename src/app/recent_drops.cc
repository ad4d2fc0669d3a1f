#include "app/recent_drops.h"

namespace tw::app {

void RecentDrops::OnEvent(const flow::Event& event) {
  if (!event.flow) return;
  const flow::Flow& f = *event.flow;
  if (f.verdict != flow::Verdict::kDropped && f.verdict != flow::Verdict::kAudit) return;
  absl::MutexLock lock(&mu_);
  ++total_;
  if (capacity_ == 0) return;
  if (ring_.size() == capacity_) ring_.pop_front();
  ring_.push_back(f);
}

std::vector<flow::Flow> RecentDrops::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return {ring_.begin(), ring_.end()};
}

uint64_t RecentDrops::total() const {
  absl::MutexLock lock(&mu_);
  return total_;
}

}  // namespace tw::app
