// `tierwatch suggest` end to end: the real binary on the bundled example, the files it writes
// (rendered by `kubectl kustomize` where kubectl is installed), `tierwatch simulate` and
// `tierwatch policy lint` on them, re-running, and the exit statuses (0 proven, 1 a proof
// fails or a connection cannot be closed, 2 bad input).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/paths.h"
#include "testing/run.h"

namespace tw {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using Result = testing::RunResult;
using testing::Slurp;

// Every file under `dir`, path -> bytes.
std::map<std::string, std::string> Tree(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = Slurp(e.path());
  }
  return out;
}

class SuggestCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(testing::TierwatchBin()))
        << testing::TierwatchBin() << " is missing: build the tierwatch target first";
    dir_ = fs::path(::testing::TempDir()) / ("tw_suggest_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    example_ = fs::path(testing::SourceDir()) / "examples" / "zero-trust-rollout";
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result Exec(const std::string& cmdline) {
    return testing::RunShell(cmdline, dir_, {.in_dir = true});
  }
  Result Run(const std::string& args) { return Exec(testing::TierwatchBin() + " " + args); }
  std::string Example(const char* name) { return (example_ / name).string(); }
  void LearnBefore() {
    Result r = Run("baseline learn --capture " + Example("before.jsonl") + " --out before.twb");
    ASSERT_EQ(r.status, 0) << r.out << r.err;
  }

  fs::path dir_, example_;
};

TEST_F(SuggestCli, SuggestsProvesAndReRunsWithoutADiff) {
  LearnBefore();
  Result r = Run("suggest --baseline before.twb --out suggestions");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("policies: none given: assuming the tier model's target state"));
  EXPECT_THAT(r.out, HasSubstr("closure: the policies in force plus the suggestions allow 47 of "
                               "47 connections: ok"));
  EXPECT_THAT(r.out, HasSubstr("none allowed by a suggestion, ok"));
  EXPECT_THAT(r.out, HasSubstr("no schema errors (TW009)"));
  EXPECT_THAT(r.out, HasSubstr("check it yourself: tierwatch simulate --policies suggestions "
                               "--baseline before.twb"));
  EXPECT_TRUE(fs::exists(dir_ / "suggestions/business/odoo/networkpolicy.yaml"));
  EXPECT_TRUE(fs::exists(dir_ / "suggestions/business/kustomization.yaml"));
  EXPECT_TRUE(fs::exists(dir_ / "suggestions/cluster-wide/target-default-deny.yaml"));
  auto first = Tree(dir_ / "suggestions");

  // The closure, as the CI gate checks it.
  Result sim = Run("simulate --policies suggestions --baseline before.twb");
  EXPECT_EQ(sim.status, 0) << sim.out << sim.err;
  EXPECT_THAT(sim.out, HasSubstr("47 connections: 47 allowed, 0 would break"));
  // Lint over what was written.
  Result lint = Run("policy lint suggestions");
  EXPECT_EQ(lint.status, 0) << lint.out << lint.err;
  EXPECT_THAT(lint.out, HasSubstr("0 error(s)"));

  // Again: nothing changes.
  r = Run("suggest --baseline before.twb --out suggestions");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("(0 written, "));
  EXPECT_EQ(Tree(dir_ / "suggestions"), first);
  // The exported document gives the same suggestions (it carries the labels).
  ASSERT_EQ(Run("baseline export before.twb --out before.yaml").status, 0);
  r = Run("suggest --baseline before.yaml --out from-doc");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  auto from_doc = Tree(dir_ / "from-doc");
  ASSERT_EQ(from_doc.size(), first.size());
  for (const auto& [path, text] : first) {
    if (path.find("kustomization") != std::string::npos) continue;
    // Only the header's source differs (the file each came from is named the same).
    EXPECT_EQ(from_doc[path].substr(from_doc[path].find("apiVersion:")),
              text.substr(text.find("apiVersion:")))
        << path;
  }
}

TEST_F(SuggestCli, KubectlKustomizeRendersEveryDirectory) {
  if (std::system("kubectl version --client >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "kubectl is not installed (it is not a Debian 12 package); this test renders "
                    "the suggestions with `kubectl kustomize` where it is";
  }
  LearnBefore();
  Result r = Run("suggest --baseline before.twb --policies " + Example("story-policies") +
                 " --out suggestions");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  int dirs = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "suggestions")) {
    if (!e.is_directory()) continue;
    ++dirs;
    Result k = Exec("kubectl kustomize " + e.path().string());
    EXPECT_EQ(k.status, 0) << e.path() << ": " << k.err;
    EXPECT_THAT(k.out, HasSubstr("kind: Cilium")) << e.path();
  }
  EXPECT_GE(dirs, 5);  // business, cert-manager, cluster-wide, external-secrets, observability
  Result k = Exec("kubectl kustomize suggestions/cluster-wide");
  EXPECT_THAT(k.out, HasSubstr("name: tierwatch-kube-system-coredns"));
}

TEST_F(SuggestCli, OnCallDropsFromSeveralCapturesInOneFlag) {
  Result r = Run("suggest --capture " + Example("after.jsonl") + " " + Example("audit.jsonl") +
                 " --policies " + Example("story-policies") + " --only-dropped --out oncall");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("connections seen DROPPED or AUDIT: 0 allowed already"));
  EXPECT_THAT(r.out, HasSubstr("cluster-wide/kube-system-coredns.yaml"));
  EXPECT_THAT(r.out, HasSubstr("(fix for allow-dns-ingress, allow-metrics-scraping)"));
  std::string fix = Slurp(dir_ / "oncall/cluster-wide/kube-system-coredns.yaml");
  EXPECT_THAT(fix, HasSubstr("seen DROPPED"));
}

TEST_F(SuggestCli, ExitStatuses) {
  LearnBefore();
  // Bad usage: 2.
  EXPECT_EQ(Run("suggest --out s").status, 2);
  Result both =
      Run("suggest --baseline before.twb --capture " + Example("after.jsonl") + " --out s");
  EXPECT_EQ(both.status, 2);
  EXPECT_THAT(both.err, HasSubstr("exactly one of --baseline FILE, --capture FILE... or --relay"));
  EXPECT_EQ(Run("suggest --relay 127.0.0.1:1 --out s").status, 2);  // no --duration
  EXPECT_EQ(Run("suggest --baseline missing.twb --out s").status, 2);
  // A file someone else wrote is never replaced: 2, and the file is intact.
  fs::create_directories(dir_ / "mine/business");
  { std::ofstream(dir_ / "mine/business/kustomization.yaml") << "resources: [mine.yaml]\n"; }
  Result refused = Run("suggest --baseline before.twb --out mine");
  EXPECT_EQ(refused.status, 2);
  EXPECT_THAT(refused.err, HasSubstr("tierwatch suggest did not write it"));
  EXPECT_EQ(Slurp(dir_ / "mine/business/kustomization.yaml"), "resources: [mine.yaml]\n");
  // A connection an allow cannot close (an explicit deny rule): 1, and why.
  {
    std::ofstream(dir_ / "deny.yaml") << R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: no-postgres, namespace: business}
spec:
  endpointSelector: {matchLabels: {app.kubernetes.io/name: odoo}}
  egressDeny:
    - toEndpoints: [{matchLabels: {app.kubernetes.io/name: postgres}}]
)";
  }
  Result denied = Run("suggest --baseline before.twb --policies deny.yaml --out denied");
  EXPECT_EQ(denied.status, 1) << denied.out << denied.err;
  EXPECT_THAT(denied.out, HasSubstr("business/odoo -> business/postgres:5432/TCP: egress is "
                                    "denied by CiliumNetworkPolicy business/no-postgres"));
  EXPECT_THAT(denied.out, HasSubstr("closure: "));
  EXPECT_THAT(denied.out, HasSubstr("FAILED, 1 still dropped"));
  // --help teaches.
  Result help = Run("suggest --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_THAT(help.out, HasSubstr("Examples:"));
}

}  // namespace
}  // namespace tw
