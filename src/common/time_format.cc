#include "common/time_format.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tw {

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  absl::string_view s = absl::StripAsciiWhitespace(text);
  if (s.empty()) return absl::InvalidArgumentError("empty duration (expected e.g. 30s, 5m, 168h)");
  absl::string_view orig = s;
  absl::Duration total = absl::ZeroDuration();
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && (absl::ascii_isdigit(s[i]) || s[i] == '.')) ++i;
    if (i == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid duration \"", orig, "\" (expected e.g. 30s, 5m, 168h)"));
    }
    double value = 0;
    if (!absl::SimpleAtod(s.substr(0, i), &value)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid number in duration \"", orig, "\""));
    }
    s.remove_prefix(i);
    size_t j = 0;
    while (j < s.size() && absl::ascii_isalpha(s[j])) ++j;
    absl::string_view unit = s.substr(0, j);
    s.remove_prefix(j);
    absl::Duration u;
    if (unit == "ns")
      u = absl::Nanoseconds(1);
    else if (unit == "us" || unit == "µs")
      u = absl::Microseconds(1);
    else if (unit == "ms")
      u = absl::Milliseconds(1);
    else if (unit == "s")
      u = absl::Seconds(1);
    else if (unit == "m")
      u = absl::Minutes(1);
    else if (unit == "h")
      u = absl::Hours(1);
    else if (unit == "d")
      u = absl::Hours(24);
    else {
      return absl::InvalidArgumentError(absl::StrCat("invalid unit \"", unit, "\" in duration \"",
                                                     orig, "\" (use ns, us, ms, s, m, h, d)"));
    }
    total += value * u;
  }
  return total;
}

absl::StatusOr<absl::Time> ParseTime(absl::string_view text) {
  absl::Time t;
  std::string err;
  std::string s(absl::StripAsciiWhitespace(text));
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return t;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid time \"", s, "\" (expected RFC 3339, e.g. 2026-11-28T10:00:00Z)"));
}

absl::StatusOr<absl::Time> ParseTime(absl::string_view text, absl::Time now) {
  auto t = ParseTime(text);
  if (t.ok()) return t;
  auto d = ParseDuration(text);
  if (d.ok()) return now - *d;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid time \"", text,
                   "\" (expected RFC 3339 like 2026-11-28T10:00:00Z, or a duration "
                   "before now like 5m)"));
}

std::string FormatRfc3339(absl::Time t) {
  // Whole seconds floor toward the past, so the fraction is never negative; neither
  // absl::ToUnixNanos (saturates outside 1677..2262) nor %Y (no zero padding below year
  // 1000) is used, so every time the RFC 3339 parsers accept (years 0001..9999) round-trips.
  const int64_t secs = absl::ToUnixSeconds(t);
  const int64_t nanos = absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(secs));
  const absl::CivilSecond c = absl::ToCivilSecond(absl::FromUnixSeconds(secs), absl::UTCTimeZone());
  std::string base = absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d", c.year(), c.month(), c.day(),
                                     c.hour(), c.minute(), c.second());
  if (nanos == 0) return base + "Z";
  if (nanos % 1000000 == 0) return absl::StrFormat("%s.%03dZ", base, nanos / 1000000);
  if (nanos % 1000 == 0) return absl::StrFormat("%s.%06dZ", base, nanos / 1000);
  return absl::StrFormat("%s.%09dZ", base, nanos);
}

std::string FormatDuration(absl::Duration d) { return absl::FormatDuration(d); }

}  // namespace tw
