// One CLI dialect across commands: the nearest command for a typo, `version`, one-line
// summaries, help without internal jargon or CLI11 artefacts, one --capture flag taking
// several files everywhere, refused nonsense values, and text outputs that never pass a
// control character from a flow to the terminal.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/paths.h"
#include "testing/run.h"

namespace tw {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

using Result = testing::RunResult;
using testing::Slurp;

class CliDialect : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("tw_dialect_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ex_ = testing::SourceDir() + "/examples/zero-trust-rollout/";
  }
  void TearDown() override { fs::remove_all(dir_); }
  Result Run(const std::string& args) {
    return testing::RunTierwatch(args, dir_, {.in_dir = true, .timeout_s = 120});
  }
  fs::path dir_;
  std::string ex_;
};

TEST_F(CliDialect, TyposGetTheNearestCommand) {
  Result r = Run("observ");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command \"observ\"; did you mean \"observe\"?"));
  r = Run("baseline lern --capture x");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("tierwatch baseline: unknown command \"lern\"; did you mean "
                               "\"learn\"?"));
  r = Run("version");
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.out, HasSubstr("tierwatch 0.1.0"));
  EXPECT_THAT(Run("--version").out, HasSubstr("tierwatch 0.1.0"));
}

TEST_F(CliDialect, HelpIsOneLinePerCommandWithoutJargonOrArtefacts) {
  Result top = Run("--help");
  ASSERT_EQ(top.status, 0);
  std::string subs = top.out.substr(top.out.find("Subcommands:"));
  for (const auto& line : std::vector<std::string>(absl::StrSplit(subs, '\n'))) {
    if (line.empty() || line == "Subcommands:") continue;
    EXPECT_EQ(line.rfind("  ", 0), 0u) << line;
    EXPECT_NE(line[2], ' ') << "a summary spilled onto a second line: " << line;
  }
  for (const char* cmd :
       {"observe", "replay", "baseline", "baseline learn", "baseline export", "baseline diff",
        "audit", "analyze", "policy", "policy verdict", "policy lint", "simulate", "version"}) {
    Result h = Run(std::string(cmd) + " --help");
    EXPECT_EQ(h.status, 0) << cmd;
    for (const char* bad : {"story's", "the story", "FR2", "... ...", "UINT", "CAPTURE..."}) {
      EXPECT_THAT(h.out, Not(HasSubstr(bad))) << cmd << " --help says " << bad;
    }
  }
}

TEST_F(CliDialect, OneCaptureFlagTakesSeveralFiles) {
  const std::string two = ex_ + "before.jsonl " + ex_ + "audit.jsonl";
  EXPECT_EQ(Run("observe --capture " + two + " --last 1").status, 0);
  EXPECT_EQ(Run("observe --input-file " + two + " --last 1").status, 0);
  EXPECT_EQ(Run("analyze --capture " + two).status, 0);
  EXPECT_EQ(Run("policy verdict --policies " + testing::SourceDir() +
                "/deploy/network-policies --capture " + two)
                .status,
            0);
  EXPECT_EQ(Run("baseline learn --capture " + two + " --out b.twb").status, 0);
  EXPECT_EQ(Run("audit --baseline b.twb --capture " + two).status, 0);
  // Arguments nobody takes are named in the order given.
  Result extra = Run("baseline diff b.twb b.twb c d");
  EXPECT_EQ(extra.status, 2);
  EXPECT_THAT(extra.err, HasSubstr("c d")) << extra.err;
}

TEST_F(CliDialect, NonsenseValuesAreRefused) {
  EXPECT_EQ(Run("observe --capture " + ex_ + "after.jsonl --last -1").status, 2);
  EXPECT_EQ(Run("observe --capture " + ex_ + "after.jsonl --last 0").status, 2);
  EXPECT_EQ(Run("observe --relay 127.0.0.1:1 --connect-timeout 0s").status, 2);
  EXPECT_EQ(Run("baseline learn --relay 127.0.0.1:1 --connect-timeout -5s --out x.twb").status, 2);
  EXPECT_EQ(Run("analyze " + ex_ + "after.jsonl --top 0").status, 2);
  EXPECT_EQ(Run("replay --capture " + ex_ + "after.jsonl --history 0").status, 2);
}

// A pod name or DNS name carrying ESC sequences, through every text report.
TEST_F(CliDialect, TextOutputsNeverPassControlCharactersFromFlows) {
  std::string line = Slurp(ex_ + "before.jsonl");
  line = line.substr(0, line.find('\n'));
  std::ofstream evil(dir_ / "evil.jsonl");
  for (const std::string& src : std::vector<std::string>{Slurp(ex_ + "after.jsonl")}) {
    std::string s = src;
    // Every pod name gets an ESC sequence and a CR.
    std::string from = "\"pod_name\":\"", to = "\"pod_name\":\"\\u001b[2J\\r";
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
      s.replace(at, from.size(), to);
    }
    evil << s;
  }
  evil.close();
  ASSERT_EQ(Run("baseline learn --capture " + ex_ + "before.jsonl --out b.twb").status, 0);
  for (const std::string& cmd : {std::string("observe --capture evil.jsonl --last 20"),
                                 std::string("observe --capture evil.jsonl --last 5 -o dict"),
                                 std::string("observe --capture evil.jsonl --last 5 -o table"),
                                 std::string("analyze evil.jsonl --baseline b.twb"),
                                 std::string("audit --baseline b.twb --capture evil.jsonl"),
                                 "policy verdict --policies " + testing::SourceDir() +
                                     "/deploy/network-policies --capture evil.jsonl"}) {
    Result r = Run(cmd);
    EXPECT_TRUE(r.status == 0 || r.status == 1) << cmd << ": " << r.err;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << cmd;
    EXPECT_EQ(r.out.find('\r'), std::string::npos) << cmd;
  }
}

}  // namespace
}  // namespace tw
