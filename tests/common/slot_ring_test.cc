// SlotRing: FIFO order through growth and wrap-around, slots reused with their contents
// (the point: no allocation per element once grown), and room given back only after a
// whole quiet period.
#include "common/slot_ring.h"

#include <string>

#include "gtest/gtest.h"

namespace tw {
namespace {

TEST(SlotRingTest, KeepsFifoOrderThroughGrowthAndWrap) {
  SlotRing<int> ring;
  int next_in = 0, next_out = 0;
  // Pushes run ahead of pops by a growing margin, so the ring grows while wrapped.
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 3 * round + 5; ++i) ring.PushSlot() = next_in++;
    for (int i = 0; i < 2 * round + 3; ++i) {
      ASSERT_EQ(ring.front(), next_out++);
      ring.PopFront();
    }
    for (size_t i = 0; i < ring.size(); ++i) ASSERT_EQ(ring[i], next_out + static_cast<int>(i));
  }
  EXPECT_EQ(ring.size(), static_cast<size_t>(next_in - next_out));
  EXPECT_GE(ring.capacity(), ring.size());
}

TEST(SlotRingTest, ASlotKeepsItsContentsUntilReused) {
  SlotRing<std::string> ring;
  ring.PushSlot() = std::string(100, 'a');
  const std::string* slot = &ring.front();
  const char* buffer = slot->data();
  ring.PopFront();
  EXPECT_EQ(*slot, std::string(100, 'a')) << "readable after PopFront until the next push";
  // Cycle once round the ring: the first slot comes back with its old string, whose
  // buffer an assignment reuses instead of allocating.
  for (size_t i = 1; i < ring.capacity(); ++i) {
    ring.PushSlot() = "x";
    ring.PopFront();
  }
  std::string& again = ring.PushSlot();
  ASSERT_EQ(&again, slot);
  EXPECT_EQ(again, std::string(100, 'a'));
  again.assign(90, 'b');
  EXPECT_EQ(again.data(), buffer);
}

TEST(SlotRingTest, GivesRoomBackOnlyAfterAQuietPeriod) {
  SlotRing<int> ring(/*min_slots=*/64, /*shrink_period=*/1000);
  for (int i = 0; i < 5000; ++i) ring.PushSlot() = i;  // 5 periods; the last check saw 4,999
  EXPECT_EQ(ring.capacity(), 8192u);
  while (!ring.empty()) ring.PopFront();
  for (int i = 0; i < 1000; ++i) ring.Maintain();
  EXPECT_EQ(ring.capacity(), 8192u) << "the period that saw the burst keeps its room";
  for (int i = 0; i < 1000; ++i) ring.Maintain();
  EXPECT_EQ(ring.capacity(), 2048u) << "a quiet period gives three quarters back";
  for (int i = 0; i < 5000; ++i) ring.Maintain();
  EXPECT_EQ(ring.capacity(), 64u) << "down to min_slots, no further";
  for (int i = 0; i < 100; ++i) ring.PushSlot() = i;
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(ring.front(), i) << "still a working FIFO";
    ring.PopFront();
  }
}

TEST(SlotRingTest, KeepsItsRoomWhileAnEighthIsInUse) {
  SlotRing<int> ring(/*min_slots=*/64, /*shrink_period=*/1000);
  for (int i = 0; i < 2000; ++i) ring.PushSlot() = i;
  for (int i = 0; i < 1700; ++i) ring.PopFront();
  ASSERT_EQ(ring.capacity(), 2048u);
  for (int i = 0; i < 10000; ++i) {  // a steady 300 held: above 2048 / 8
    ring.PushSlot() = i;
    ring.PopFront();
  }
  EXPECT_EQ(ring.capacity(), 2048u);
  while (!ring.empty()) ring.PopFront();
  for (int i = 0; i < 2000; ++i) ring.Maintain();
  EXPECT_EQ(ring.capacity(), 512u);
}

}  // namespace
}  // namespace tw
