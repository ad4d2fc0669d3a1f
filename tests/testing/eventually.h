// Bounded waits on a condition: polls until it holds or a deadline passes. The deadline only
// turns a hang into a failure; it is not a timing assertion.
//
//   ASSERT_TRUE(tw::testing::Eventually([&] { return sink.size() == 3; }));
#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tw::testing {

template <typename F>
bool Eventually(F cond, absl::Duration deadline = absl::Seconds(30),
                absl::Duration poll = absl::Milliseconds(2)) {
  const absl::Time end = absl::Now() + deadline;
  while (absl::Now() < end) {
    if (cond()) return true;
    absl::SleepFor(poll);
  }
  return cond();
}

}  // namespace tw::testing
