#include "app/drop_ring.h"

namespace tw::app {

void DropRing::OnDrop(const std::shared_ptr<const classify::Classification>& drop) {
  absl::MutexLock lock(&mu_);
  ++total_;
  if (capacity_ == 0) return;
  if (ring_.size() == capacity_) {
    const classify::Classification* old = ring_.front().get();
    auto it = by_id_.find(old->id);
    // Only when the index still points at it: a later drop may share the id.
    if (it != by_id_.end() && it->second.get() == old) by_id_.erase(it);
    ring_.pop_front();
  }
  ring_.push_back(drop);
  by_id_[drop->id] = drop;
}

std::vector<std::shared_ptr<const classify::Classification>> DropRing::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return {ring_.begin(), ring_.end()};
}

std::shared_ptr<const classify::Classification> DropRing::Find(absl::string_view id) const {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(id);
  // Shared ownership: the entry may fall off the ring while the caller reads it.
  return it == by_id_.end() ? nullptr : it->second;
}

uint64_t DropRing::total() const {
  absl::MutexLock lock(&mu_);
  return total_;
}

}  // namespace tw::app
