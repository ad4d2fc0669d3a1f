// DropRing: the most recent classified drops (with the flow, the explanation and the full
// reasoning), for /api/v1/drops, /api/v1/drops/{id}, `tierwatch drops` and
// `tierwatch explain`. Memory is capped by `capacity` (config `recent_drops`); older
// drops fall off the front. The one ring of the daemon: what it holds is exactly what the
// metrics counted (the same shared objects).
//
//   tw::app::DropRing ring(1000);
//   auto classifier = MakeClassifierHandler(..., {&ring, &drop_metrics});
//   std::vector<std::shared_ptr<const Classification>> last = ring.Snapshot();  // any thread
//   auto d = ring.Find("3f9a1c07b2e4");                                      // or nullptr
//
// Thread-safe: the worker adds, the HTTP API reads. A snapshot copies pointers, not drops.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "app/handler.h"

namespace tw::app {

class DropRing final : public DropHandler {
 public:
  explicit DropRing(size_t capacity) : capacity_(capacity) {}
  void OnDrop(const std::shared_ptr<const classify::Classification>& drop) override;

  // Oldest first.
  std::vector<std::shared_ptr<const classify::Classification>> Snapshot() const;
  // The newest drop with this id still in the ring, or nullptr.
  std::shared_ptr<const classify::Classification> Find(absl::string_view id) const;
  uint64_t total() const;  // drops received, including those that fell off
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<std::shared_ptr<const classify::Classification>> ring_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<const classify::Classification>> by_id_
      ABSL_GUARDED_BY(mu_);
  uint64_t total_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tw::app
