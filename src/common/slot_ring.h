// SlotRing: a FIFO of large values whose slots are reused, for the hot queues of the live
// path (the pipeline's event queue, the drop stream's held drops).
//
// std::deque allocates a node per element once elements pass 512 bytes (a flow::Flow is
// about 1 KB), and frees it when the element leaves: at 100k flows/s that is a malloc and
// a free per flow, and glibc grows and trims its heap under it (15 % of the daemon's CPU on
// the live benchmark). A SlotRing keeps a power-of-two array of slots; a slot that leaves
// keeps its contents until it is reused, so copy-assigning a value into a reused slot also
// reuses the strings and vectors it held before.
//
// It grows by doubling when full, and gives the room back once a whole period of pushes
// never needed an eighth of it (held counts swing widely on a busy stream, so a
// shrink on every dip would resize back and forth).
//
//   tw::SlotRing<Entry> ring;
//   Entry& e = ring.PushSlot();   // stale contents: overwrite every field
//   e.flow = f;
//   Entry& oldest = ring[0];
//   ring.PopFront();              // `oldest` stays readable until the next PushSlot
//
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tw {

template <typename T>
class SlotRing {
 public:
  // `min_slots` (a power of two) is kept through shrinking; `shrink_period` operations
  // (pushes and Maintain calls) pass between shrink checks.
  explicit SlotRing(size_t min_slots = 1024, uint64_t shrink_period = uint64_t{1} << 16)
      : min_slots_(min_slots), shrink_period_(shrink_period) {}

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Slots allocated (each a T, plus whatever the T holds).
  size_t capacity() const { return capacity_; }

  // 0 is the oldest.
  T& operator[](size_t i) { return slots_[(head_ + i) & (capacity_ - 1)]; }
  T& front() { return (*this)[0]; }

  // The slot after the newest, grown first if full. It holds whatever it held before.
  T& PushSlot() {
    Maintain();  // before taking the slot; never in PopFront (see there)
    if (size_ == capacity_) Resize(std::max<size_t>(64, capacity_ * 2));
    // Slots are constructed as first needed: the ring fills linearly before it wraps, so an
    // unconstructed slot is always the next one (a grown ring costs only what it holds).
    const size_t at = (head_ + size_) & (capacity_ - 1);
    if (at == slots_.size()) slots_.emplace_back();
    ++size_;
    peak_ = std::max(peak_, size_);
    return slots_[at];
  }

  // Drops the oldest; its slot, and every other, is untouched until the next PushSlot or
  // Maintain.
  void PopFront() {
    head_ = (head_ + 1) & (capacity_ - 1);
    --size_;
  }

  // Counts one operation towards the shrink period and, at its end, shrinks if the period
  // never needed an eighth of the room. PushSlot counts itself; a caller whose pushes can
  // stop for long (drops stop while flows go on) calls it on its own operations, while it
  // holds no reference into the ring: it may move every slot.
  void Maintain() {
    if (++ops_ < shrink_period_) return;
    if (capacity_ > min_slots_ && peak_ < capacity_ / 8) {
      Resize(std::max(min_slots_, capacity_ / 4));
    }
    ops_ = 0;
    peak_ = size_;
  }

 private:
  void Resize(size_t slots) {
    std::vector<T> moved;
    moved.reserve(slots);  // never reallocated: slots_ stays within `slots` elements
    for (size_t i = 0; i < size_; ++i) moved.push_back(std::move((*this)[i]));
    slots_ = std::move(moved);
    capacity_ = slots;
    head_ = 0;
  }

  std::vector<T> slots_;  // the constructed slots, at most capacity_
  size_t capacity_ = 0;   // 0 or a power of two
  size_t head_ = 0;
  size_t size_ = 0;
  size_t min_slots_;
  uint64_t shrink_period_;
  uint64_t ops_ = 0;
  size_t peak_ = 0;
};

}  // namespace tw
