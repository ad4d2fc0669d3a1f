// Backoff: growth to the cap, jitter bounds, reset, determinism by seed. Pure arithmetic:
// nothing here sleeps.
#include "common/backoff.h"

#include <algorithm>
#include <vector>

#include "gtest/gtest.h"

namespace tw {
namespace {

TEST(BackoffTest, GrowsToTheCapWithJitterInsideBounds) {
  Backoff b({absl::Milliseconds(100), absl::Seconds(1), 2.0, 0.5}, 42);
  for (int i = 0; i < 10; ++i) {
    absl::Duration d = b.Next();
    absl::Duration cap = std::min(absl::Milliseconds(100) * (1 << i), absl::Seconds(1));
    EXPECT_GE(d, cap / 2) << i;
    EXPECT_LE(d, cap) << i;
  }
  b.Reset();
  EXPECT_LE(b.Next(), absl::Milliseconds(100));
}

TEST(BackoffTest, WithoutJitterTheDelaysAreExact) {
  Backoff b({absl::Seconds(1), absl::Seconds(10), 2.0, 0.0}, 1);
  std::vector<absl::Duration> got;
  for (int i = 0; i < 6; ++i) got.push_back(b.Next());
  EXPECT_EQ(got,
            (std::vector<absl::Duration>{absl::Seconds(1), absl::Seconds(2), absl::Seconds(4),
                                         absl::Seconds(8), absl::Seconds(10), absl::Seconds(10)}));
  EXPECT_EQ(b.attempts(), 6);
}

TEST(BackoffTest, ResetStartsAgainAtInitial) {
  Backoff b({absl::Seconds(1), absl::Seconds(30), 2.0, 0.0}, 1);
  for (int i = 0; i < 5; ++i) b.Next();
  b.Reset();
  EXPECT_EQ(b.attempts(), 0);
  EXPECT_EQ(b.Next(), absl::Seconds(1));
}

TEST(BackoffTest, SameSeedSameDelaysOtherSeedOtherDelays) {
  BackoffOptions o{absl::Milliseconds(100), absl::Seconds(30), 2.0, 1.0};
  Backoff a(o, 7), b(o, 7), c(o, 8);
  bool differs = false;
  for (int i = 0; i < 8; ++i) {
    absl::Duration x = a.Next();
    EXPECT_EQ(x, b.Next());
    differs |= x != c.Next();
  }
  EXPECT_TRUE(differs);
}

TEST(BackoffTest, ManyAttemptsNeitherOverflowNorExceedTheCap) {
  Backoff b({absl::Milliseconds(1), absl::Seconds(5), 3.0, 0.5}, 3);
  for (int i = 0; i < 10000; ++i) {
    absl::Duration d = b.Next();
    ASSERT_LE(d, absl::Seconds(5));
    ASSERT_GE(d, absl::ZeroDuration());
  }
}

}  // namespace
}  // namespace tw
