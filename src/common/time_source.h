// Injected clocks, so that code with timeouts, TTLs and periodic work is testable.
//
//   tw::RealTimeSource clock;           // production
//   tw::ManualTimeSource fake(absl::FromUnixSeconds(0));
//   fake.Advance(absl::Seconds(30));    // tests move time by hand
#pragma once

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tw {

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual absl::Time Now() const = 0;
};

class RealTimeSource final : public TimeSource {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

class ManualTimeSource final : public TimeSource {
 public:
  explicit ManualTimeSource(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tw
