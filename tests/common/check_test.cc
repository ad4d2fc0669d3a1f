// TW_CHECK and TW_UNREACHABLE: a broken invariant aborts and says where and why.
#include "common/check.h"

#include <string>

#include "gtest/gtest.h"

namespace tw {
namespace {

int CheckedIndex(const std::string& s, size_t i) {
  TW_CHECK(i < s.size(), "index ", i, " of \"", s, "\"");
  return s[i];
}

enum class Color { kRed, kBlue };
const char* ColorName(Color c) {
  switch (c) {
    case Color::kRed:
      return "red";
    case Color::kBlue:
      return "blue";
  }
  TW_UNREACHABLE("Color ", static_cast<int>(c));
}

TEST(CheckTest, PassingCheckDoesNothing) {
  EXPECT_EQ(CheckedIndex("abc", 1), 'b');
  EXPECT_STREQ(ColorName(Color::kBlue), "blue");
}

TEST(CheckDeathTest, FailingCheckAbortsWithFileLineConditionAndMessage) {
  EXPECT_DEATH(CheckedIndex("abc", 7),
               "check_test\\.cc:[0-9]+: check failed: i < s\\.size\\(\\): index 7 of \"abc\"");
}

TEST(CheckDeathTest, UnreachableAbortsWithTheValue) {
  EXPECT_DEATH(ColorName(static_cast<Color>(5)),
               "check_test\\.cc:[0-9]+: check failed: unreachable: Color 5");
}

TEST(CheckDeathTest, MessageIsOptional) {
  EXPECT_DEATH(TW_CHECK(1 + 1 == 3), "check failed: 1 \\+ 1 == 3\n");
}

}  // namespace
}  // namespace tw
