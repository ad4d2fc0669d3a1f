#include "common/logging.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tw {
namespace {

std::string Format(bool json, const std::string& message) {
  auto formatter = MakeLogFormatter(json);
  spdlog::details::log_msg msg(spdlog::source_loc{}, "tierwatch", spdlog::level::warn, message);
  spdlog::memory_buf_t out;
  formatter->format(msg, out);
  return std::string(out.data(), out.size());
}

// A structured message quotes its values (source="capture a.jsonl"); the JSON line used to
// carry them unescaped and stopped being JSON.
TEST(LogFormatTest, JsonLinesStayJsonWhateverTheMessageHolds) {
  const std::string message =
      "daemon started source=\"capture C:\\\\a.jsonl\" note=\"line\nbreak\ttab\x01\"";
  const std::string line = Format(true, message);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  nlohmann::json j = nlohmann::json::parse(line);  // throws, failing the test, if not JSON
  EXPECT_EQ(j["msg"], message);
  EXPECT_EQ(j["level"], "warning");
  EXPECT_THAT(std::string(j["time"]), ::testing::EndsWith("Z"));
}

TEST(LogFormatTest, TextLinesCarryTheMessageAsWritten) {
  const std::string line = Format(false, "relay connected addr=\"r:80\"");
  EXPECT_THAT(line, ::testing::HasSubstr(" warning relay connected addr=\"r:80\""));
}

}  // namespace
}  // namespace tw
