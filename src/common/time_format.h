// The CLI's one dialect for durations and times.
//
//   ParseDuration("30s"), ParseDuration("5m"), ParseDuration("168h"), ParseDuration("1h30m")
//   ParseTime("2026-11-28T10:00:00Z")        // RFC 3339
//   ParseTime("5m", now)                     // relative: 5 minutes before `now`, as hubble
//   FormatRfc3339(t) -> "2026-11-28T10:00:00.123456789Z" (RFC 3339, UTC, shortest fraction)
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tw {

// Accepts Go-style durations: a sequence of <number><unit> with units ns, us, ms, s, m, h
// and also d (24h). Rejects negatives and empty strings.
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);

// RFC 3339 (with or without fractional seconds, Z or offset). When `now` is given, a
// duration such as "5m" means that long before `now`, as `hubble observe --since 5m`.
absl::StatusOr<absl::Time> ParseTime(absl::string_view text);
absl::StatusOr<absl::Time> ParseTime(absl::string_view text, absl::Time now);

// RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as protobuf's JSON mapping writes.
std::string FormatRfc3339(absl::Time t);

std::string FormatDuration(absl::Duration d);

}  // namespace tw
