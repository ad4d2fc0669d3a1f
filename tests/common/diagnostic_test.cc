#include "common/diagnostic.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tw {
namespace {

using ::testing::HasSubstr;

TEST(DiagnosticTest, TextIsTheCompilersFormWithOnlyTheKnownParts) {
  Diagnostic d = Diagnostic::Error("tiers.yaml", 7, "expected a list", 3);
  d.path = "tiers[0].namespaces";
  EXPECT_EQ(d.ToString(), "tiers.yaml:7:3: error: tiers[0].namespaces: expected a list");

  Diagnostic lint = Diagnostic::At(Severity::kWarning, "p.yaml", 12, "DNS allowed on UDP/53 only");
  lint.code = "TW005";
  lint.code_name = "dns-tcp-missing";
  lint.path = "shop/web";
  EXPECT_EQ(lint.ToString(),
            "p.yaml:12: warning: [TW005 dns-tcp-missing] shop/web: DNS allowed on UDP/53 only");

  // No line: the file as a whole; no file: no position at all (a column without a line
  // would point nowhere, so it is left out too).
  EXPECT_EQ(Diagnostic::Error("f.yaml", 0, "cannot read", 4).ToString(),
            "f.yaml: error: cannot read");
  EXPECT_EQ(Diagnostic::Error("", 3, "no file").ToString(), "error: no file");
}

TEST(DiagnosticTest, JsonHasEveryKeyWithNullForWhatIsUnknown) {
  Diagnostic d = Diagnostic::Error("c.yaml", 2, "unknown key");
  nlohmann::ordered_json j = d.ToJson();
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_THAT(keys, ::testing::ElementsAre("severity", "file", "line", "column", "path", "code",
                                           "code_name", "message"));
  EXPECT_EQ(j["severity"], "error");
  EXPECT_EQ(j["line"], 2);
  EXPECT_TRUE(j["column"].is_null());
  EXPECT_TRUE(j["path"].is_null());
  EXPECT_TRUE(j["code"].is_null());
}

TEST(DiagnosticTest, StatusListsEveryDiagnosticInFileOrder) {
  std::vector<Diagnostic> ds = {Diagnostic::Error("a.yaml", 9, "late"),
                                Diagnostic::Error("a.yaml", 2, "early", 5),
                                Diagnostic::Error("a.yaml", 2, "same line, earlier column", 1)};
  ds.push_back(Diagnostic::At(Severity::kWarning, "a.yaml", 4, "a warning"));
  EXPECT_EQ(ErrorCount(ds), 3);
  EXPECT_TRUE(HasErrors(ds));
  absl::Status st = DiagnosticsToStatus(ds);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "a.yaml:2:1: error: same line, earlier column\n"
            "a.yaml:2:5: error: early\n"
            "a.yaml:4: warning: a warning\n"
            "a.yaml:9: error: late");
  EXPECT_TRUE(DiagnosticsToStatus({}).ok());
  EXPECT_FALSE(HasErrors({ds[3]}));
}

}  // namespace
}  // namespace tw
