// Capped exponential backoff with full jitter, for reconnect loops.
//
//   tw::Backoff backoff({.initial = absl::Milliseconds(100), .max = absl::Seconds(30)}, seed);
//   while (!Connect()) Sleep(backoff.Next());
//   backoff.Reset();  // after a success
//
// Randomness is seeded by the caller so that tests are deterministic.
#pragma once

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace tw {

struct BackoffOptions {
  absl::Duration initial = absl::Milliseconds(200);
  absl::Duration max = absl::Seconds(30);
  double multiplier = 2.0;
  // Fraction of the delay that is randomised: 0 = none, 1 = full jitter.
  double jitter = 0.5;
};

class Backoff {
 public:
  Backoff(BackoffOptions options, uint64_t seed) : options_(options), rng_(seed) {}

  // The delay before the next attempt; grows until `max`.
  absl::Duration Next();
  void Reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  BackoffOptions options_;
  std::mt19937_64 rng_;
  int attempt_ = 0;
};

}  // namespace tw
