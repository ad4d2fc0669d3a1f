#include "common/time_format.h"

#include "gtest/gtest.h"

namespace tw {
namespace {

TEST(ParseDuration, AcceptsTheCliDialect) {
  EXPECT_EQ(*ParseDuration("30s"), absl::Seconds(30));
  EXPECT_EQ(*ParseDuration("5m"), absl::Minutes(5));
  EXPECT_EQ(*ParseDuration("168h"), absl::Hours(168));
  EXPECT_EQ(*ParseDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseDuration("250ms"), absl::Milliseconds(250));
  EXPECT_EQ(*ParseDuration("7d"), absl::Hours(168));
}

TEST(ParseDuration, RejectsWithAUsefulMessage) {
  for (const char* bad : {"", "abc", "5", "5x", "-5s", "s"}) {
    auto d = ParseDuration(bad);
    EXPECT_FALSE(d.ok()) << bad;
  }
  EXPECT_NE(ParseDuration("5x").status().message().find("unit"), std::string::npos);
}

TEST(ParseTime, Rfc3339AndRelative) {
  auto t = ParseTime("2021-11-10T10:41:26.095357Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatRfc3339(*t), "2021-11-10T10:41:26.095357Z");
  absl::Time now = absl::FromUnixSeconds(1000);
  EXPECT_EQ(*ParseTime("10s", now), absl::FromUnixSeconds(990));
  EXPECT_FALSE(ParseTime("yesterday", now).ok());
}

TEST(FormatRfc3339, UsesShortestOfZeroThreeSixNineDigits) {
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(absl::FromUnixMillis(1234)), "1970-01-01T00:00:01.234Z");
  EXPECT_EQ(FormatRfc3339(absl::FromUnixNanos(1000000001)), "1970-01-01T00:00:01.000000001Z");
}

// Found by fuzz_jsonpb_line: year 221 came out as "221-..." (no padding) with a garbage
// fraction (nanoseconds since 1970 overflow int64 before 1677 and after 2262).
TEST(FormatRfc3339, RoundTripsEveryYearTheParserAccepts) {
  for (const char* s :
       {"0001-01-01T00:00:00Z", "0221-11-10T10:41:26.095357Z", "1600-02-29T23:59:59.999999999Z",
        "1969-12-31T23:59:59.500Z", "2263-01-01T00:00:00.001Z", "9999-12-31T23:59:59.123456789Z"}) {
    absl::StatusOr<absl::Time> t = ParseTime(s);
    ASSERT_TRUE(t.ok()) << s << ": " << t.status();
    EXPECT_EQ(FormatRfc3339(*t), s);
  }
}

}  // namespace
}  // namespace tw
