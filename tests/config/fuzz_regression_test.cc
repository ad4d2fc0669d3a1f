// Inputs fuzz/fuzz_daemon_config found: each once hung or crashed the config parser.
#include "config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tw::config {
namespace {

using ::testing::HasSubstr;

// yaml-cpp 0.7's LoadAll loops forever, allocating, on a stream holding a lone "," (the
// fuzzer's 2.4 KB case reduces to it); Parse must return with an error instead.
TEST(ConfigFuzzRegressionTest, LoneCommaIsAnErrorNotAHang) {
  for (const char* text : {",", "\n,\n", "relay:\n  address: a:1\n,\n"}) {
    ParsedConfig r = Parse(text, "tierwatch.yaml");
    EXPECT_FALSE(r.errors.empty()) << text;
  }
}

TEST(ConfigFuzzRegressionTest, SecondDocumentStillReportedWithItsLine) {
  ParsedConfig r = Parse("mode: learn\n---\nmode: watch\n", "tierwatch.yaml");
  ASSERT_FALSE(r.errors.empty());
  bool found = false;
  for (const auto& e : r.errors) {
    if (e.message.find("one YAML document") != std::string::npos) {
      found = true;
      // The "---" that starts it (2) or its first key (3).
      EXPECT_THAT(e.line, ::testing::AnyOf(2, 3)) << e.ToString();
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace tw::config
