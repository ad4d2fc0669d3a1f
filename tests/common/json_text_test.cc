// DumpJson never throws: invalid UTF-8 (Latin-1 text, a stray \xff) becomes U+FFFD and the
// text stays valid JSON; valid UTF-8 passes through unchanged.
#include "common/json_text.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tw {
namespace {

TEST(DumpJsonTest, ReplacesInvalidUtf8InsteadOfThrowing) {
  nlohmann::ordered_json j{{"workload", "n8n\xff"}, {"policy", "caf\xe9"}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);  // what the renderers did
  std::string text;
  ASSERT_NO_THROW(text = DumpJson(j));
  EXPECT_EQ(text, "{\"workload\":\"n8n\xef\xbf\xbd\",\"policy\":\"caf\xef\xbf\xbd\"}");
  EXPECT_EQ(nlohmann::json::parse(text)["workload"], "n8n\xef\xbf\xbd");
}

TEST(DumpJsonTest, ReplacesInvalidUtf8InKeysAndIndentedOutput) {
  nlohmann::json j{{"ns\xc3", nlohmann::json::array({"ok", "\xe9t\xe9"})}};
  std::string text;
  ASSERT_NO_THROW(text = DumpJson(j, 2));
  EXPECT_NE(text.find('\n'), std::string::npos);
  EXPECT_FALSE(nlohmann::json::parse(text, nullptr, false).is_discarded());
}

TEST(DumpJsonTest, KeepsValidUtf8AsIs) {
  nlohmann::json j{{"name", "caf\xc3\xa9 \xe2\x9c\x93"}};
  EXPECT_EQ(DumpJson(j), "{\"name\":\"caf\xc3\xa9 \xe2\x9c\x93\"}");
}

}  // namespace
}  // namespace tw
