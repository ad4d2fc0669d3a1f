// Every `-o json` output survives bytes that are not UTF-8 (issue 12 item 3): before, each of
// these aborted with nlohmann type_error 316 (SIGABRT). Now invalid bytes print as U+FFFD,
// stdout is valid JSON and the exit status is the command's usual one.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/paths.h"

namespace tw {
namespace {

namespace fs = std::filesystem;

class JsonUtf8Test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("tw_json_utf8_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    capture_ = fs::path(testing::SourceDir()) / "examples" / "zero-trust-rollout" / "before.jsonl";
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  std::string Read(const std::string& name) {
    std::ifstream in(dir_ / name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Runs tierwatch in dir_; returns the exit status (-1 when killed by a signal).
  int Run(const std::string& args) {
    std::string cmd = "cd " + dir_.string() + " && " + testing::TierwatchBin() + " " + args +
                      " >out.txt 2>err.txt </dev/null";
    int rc = std::system(cmd.c_str());
    out_ = Read("out.txt");
    err_ = Read("err.txt");
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  // A documented baseline whose first workload name ends in a \xff byte.
  void WriteBadBaseline() {
    ASSERT_EQ(Run("baseline learn --capture " + capture_.string() + " --out good.twb"), 0) << err_;
    ASSERT_EQ(Run("baseline export good.twb --out good.yaml"), 0) << err_;
    std::string doc = Read("good.yaml");
    const std::string from = "workload: n8n}";
    size_t at = doc.find(from);
    ASSERT_NE(at, std::string::npos) << "the example baseline has no n8n workload";
    doc.replace(at, from.size(), "workload: \"n8n\xff\"}");
    Write("bad.yaml", doc);
  }
  void ExpectValidJsonWithReplacement() {
    EXPECT_EQ(err_.find("type_error"), std::string::npos) << err_;
    auto j = nlohmann::json::parse(out_, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << out_.substr(0, 400);
    EXPECT_NE(out_.find("\xef\xbf\xbd"), std::string::npos) << "no U+FFFD in the output";
  }

  fs::path dir_, capture_;
  std::string out_, err_;
};

TEST_F(JsonUtf8Test, PolicyLintJsonOnLatin1File) {
  Write("latin1.yaml",
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: caf\xe9\n"
        "  namespace: shop\nspec:\n  endpointSelector:\n    matchLabels: {app: \"caf\xe9\"}\n"
        "  ingress:\n  - fromEndpoints:\n    - matchLabels: {app: \"\xe9t\xe9\"}\n"
        "    toPorts:\n    - ports:\n      - port: \"70000\"\n");
  int rc = Run("policy lint latin1.yaml -o json");
  EXPECT_TRUE(rc == 0 || rc == 1) << "exit " << rc << ": " << err_;
  ExpectValidJsonWithReplacement();
}

TEST_F(JsonUtf8Test, BaselineExportJsonWithFfByteInWorkload) {
  WriteBadBaseline();
  EXPECT_EQ(Run("baseline export bad.yaml -o json"), 0) << err_;
  ExpectValidJsonWithReplacement();
}

TEST_F(JsonUtf8Test, BaselineDiffJsonWithFfByteInWorkload) {
  WriteBadBaseline();
  EXPECT_EQ(Run("baseline diff good.yaml bad.yaml -o json"), 1) << err_;
  ExpectValidJsonWithReplacement();
}

TEST_F(JsonUtf8Test, AuditJsonWithFfByteInWorkload) {
  WriteBadBaseline();
  int rc = Run("audit --baseline bad.yaml --capture " + capture_.string() + " -o json");
  EXPECT_EQ(rc, 1) << err_;  // the n8n connections differ from the renamed workload's
  ExpectValidJsonWithReplacement();
}

}  // namespace
}  // namespace tw
