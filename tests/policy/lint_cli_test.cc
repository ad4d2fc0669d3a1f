// `tierwatch policy lint` as a process: exit status, text and JSON output, --tiers.
// Runs the built binary; skips (saying why) when it has not been built.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/paths.h"

namespace tw::policy {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct ProcessResult {
  int exit_code = -1;
  std::string out;
};

// Runs `tierwatch ARGS` from the source directory (so relative paths are the repo's);
// stderr is folded into the output.
ProcessResult Tierwatch(const std::string& args) {
  std::string cmd = "cd '" + tw::testing::SourceDir() + "' && '" + tw::testing::TierwatchBin() +
                    "' " + args + " 2>&1";
  ProcessResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class LintCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(tw::testing::TierwatchBin()))
      GTEST_SKIP() << "tierwatch binary not built at " << tw::testing::TierwatchBin();
  }
};

TEST_F(LintCliTest, StoryTemplatesFailTheGate) {
  ProcessResult r = Tierwatch("policy lint tests/policy/testdata/story");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("tests/policy/testdata/story/tier1-observability.yaml:12: error: "
                               "[TW001 allow-nothing] tier1-observability-egress: "));
  EXPECT_THAT(r.out, HasSubstr("[TW003 fqdn-no-dns-visibility] tier1-cert-manager-egress"));
  EXPECT_THAT(r.out, HasSubstr("error(s)"));
  EXPECT_THAT(r.out, HasSubstr("lint failed"));
}

TEST_F(LintCliTest, CorrectedSetPassesTheGate) {
  ProcessResult r =
      Tierwatch("policy lint --policies deploy/network-policies --tiers config/tiers.yaml");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("0 error(s), 0 warning(s)"));
}

TEST_F(LintCliTest, JsonIsAnArrayOfFindings) {
  ProcessResult r = Tierwatch("policy lint tests/policy/testdata/story -o json");
  ASSERT_EQ(r.exit_code, 1) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_FALSE(j.empty());
  bool tw004 = false;
  for (const auto& f : j) {
    for (const char* k :
         {"severity", "file", "line", "column", "path", "code", "code_name", "message"})
      EXPECT_TRUE(f.contains(k)) << f.dump();
    EXPECT_THAT(std::string(f["severity"]), ::testing::AnyOf("error", "warning", "info"));
    if (f["code"] == "TW004" && f["path"] == "tier1-external-secrets-egress") {
      EXPECT_EQ(f["code_name"], "one-way");
      tw004 = true;
      EXPECT_EQ(f["line"], 12);
      EXPECT_EQ(f["severity"], "error");
    }
  }
  EXPECT_TRUE(tw004) << r.out;
}

TEST_F(LintCliTest, JsonOfACleanSetIsAnEmptyArray) {
  ProcessResult r = Tierwatch("policy lint deploy/network-policies/app -o json");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out), nlohmann::json::array());
}

TEST_F(LintCliTest, TierFileChangesTheModel) {
  fs::path tiers = fs::temp_directory_path() / ("tw-lint-tiers-" + std::to_string(::getpid()));
  std::ofstream(tiers) << "tiers:\n"
                          "  - level: 0\n"
                          "    namespaces: [kube-system, flux-system]\n"
                          "  - level: 1\n"
                          "    namespaces: [observability]\n"
                          "  - level: 2\n"
                          "    default: true\n";
  ProcessResult r = Tierwatch("policy lint deploy/network-policies --tiers " + tiers.string());
  // default-deny-all still excludes cilium and cilium-secrets: its list now differs.
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("[TW006 tier0-exclusions-inconsistent] default-deny-all"));
  fs::remove(tiers);
}

TEST_F(LintCliTest, BadUsageAndUnreadableInputExitTwo) {
  EXPECT_EQ(Tierwatch("policy lint").exit_code, 2);
  ProcessResult missing = Tierwatch("policy lint /nonexistent/policies");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.out, HasSubstr("/nonexistent/policies"));
  ProcessResult tiers =
      Tierwatch("policy lint deploy/network-policies --tiers /nonexistent/tiers.yaml");
  EXPECT_EQ(tiers.exit_code, 2) << tiers.out;
  EXPECT_EQ(Tierwatch("policy lint deploy/network-policies -o yaml").exit_code, 2);
}

TEST_F(LintCliTest, HelpTeachesTheRules) {
  ProcessResult r = Tierwatch("policy lint --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("TW010 reimposes-default-deny"));
  EXPECT_THAT(r.out, HasSubstr("Examples:"));
}

}  // namespace
}  // namespace tw::policy
