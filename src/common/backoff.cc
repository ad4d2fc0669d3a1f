#include "common/backoff.h"

#include <algorithm>
#include <cmath>

namespace tw {

absl::Duration Backoff::Next() {
  double base = absl::ToDoubleSeconds(options_.initial) * std::pow(options_.multiplier, attempt_);
  base = std::min(base, absl::ToDoubleSeconds(options_.max));
  if (attempt_ < 64) ++attempt_;
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  double jitter = std::clamp(options_.jitter, 0.0, 1.0);
  double delay = base * (1.0 - jitter) + base * jitter * dist(rng_);
  return absl::Seconds(delay);
}

}  // namespace tw
