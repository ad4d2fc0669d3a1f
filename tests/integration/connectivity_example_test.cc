// examples/connectivity-test: the traffic of `cilium connectivity test`'s scenarios that run
// without policies of their own (scripts/gen-connectivity-test.py) passes the corrected
// zero-trust set — `tierwatch simulate` breaks none of them, scenario by scenario — once the
// suite's namespaces carry the bypass label the runbook creates them with; without the label
// every scenario of the suite's pods breaks, and the story's own set breaks cilium-health.
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "deploy_helpers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tw::deploy_test {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr const char* kSet = "deploy/network-policies/app";
constexpr const char* kNamespaceBypass =
    "\"k8s:io.cilium.k8s.namespace.labels.policy.cilium.io/enforce=false\",";

struct Scenario {
  std::string name, test;
  std::vector<std::string> sources;
  std::vector<std::string> lines;  // its flows, in capture order
};

class ConnectivityExampleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = Src("examples/connectivity-test");
    index_ = nlohmann::json::parse(ReadText(dir + "/scenarios.json"));
    std::map<std::string, std::string> by_uuid;
    for (absl::string_view line :
         absl::StrSplit(ReadText(dir + "/capture.jsonl"), '\n', absl::SkipEmpty())) {
      auto j = nlohmann::json::parse(line);
      by_uuid[j["flow"]["uuid"].get<std::string>()] = std::string(line);
      all_.emplace_back(line);
    }
    for (const auto& s : index_["scenarios"]) {
      Scenario sc{s["name"], s["test"], {}, {}};
      for (const auto& src : s["source"]) sc.sources.push_back(src);
      for (const auto& u : s["flows"]) {
        auto it = by_uuid.find(u.get<std::string>());
        if (it != by_uuid.end()) sc.lines.push_back(it->second);
        ++indexed_;
      }
      scenarios_.push_back(std::move(sc));
    }
  }
  static std::vector<std::string> WithoutNamespaceBypass(const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (const auto& l : lines) out.push_back(absl::StrReplaceAll(l, {{kNamespaceBypass, ""}}));
    return out;
  }

  nlohmann::json index_;
  std::vector<std::string> all_;
  std::vector<Scenario> scenarios_;
  size_t indexed_ = 0;
};

TEST_F(ConnectivityExampleTest, EveryScenarioIsNamedWithItsSourceFilesAndOwnsItsFlows) {
  ASSERT_GE(scenarios_.size(), 10u);
  std::set<std::string> names;
  for (const auto& s : scenarios_) {
    EXPECT_TRUE(names.insert(s.name).second) << s.name;
    EXPECT_FALSE(s.lines.empty()) << s.name;
    ASSERT_FALSE(s.sources.empty()) << s.name;
    for (const auto& src : s.sources)
      EXPECT_TRUE(absl::StartsWith(src, "cilium-cli/connectivity/")) << s.name << " " << src;
  }
  // Every flow of the capture belongs to exactly one scenario.
  EXPECT_EQ(indexed_, all_.size());
  for (const char* must :
       {"pod-to-pod", "pod-to-service", "pod-to-world", "pod-to-cidr", "pod-to-host", "host-to-pod",
        "client-to-client", "cilium-health", "setup-dns-test-server"}) {
    EXPECT_TRUE(names.count(must)) << must;
  }
}

TEST_F(ConnectivityExampleTest, GeneratedFilesAreCurrent) {
  if (RunShell("command -v python3 >/dev/null 2>&1").status != 0)
    GTEST_SKIP() << "python3 is absent: the generator cannot be run";
  ShellResult r = RunShell("python3 " + Src("scripts/gen-connectivity-test.py") + " --check");
  EXPECT_EQ(r.status, 0) << r.out;
}

TEST_F(ConnectivityExampleTest, CorrectedSetBreaksNoScenario) {
  nlohmann::json whole = Simulate(kSet, all_);
  ASSERT_FALSE(whole.contains("error")) << whole.dump();
  EXPECT_GT(whole["connections"].get<int>(), 40);
  EXPECT_EQ(whole["broken"], 0) << absl::StrJoin(Broken(whole), "\n");
  EXPECT_EQ(whole["undecided"], 0);
  for (const auto& s : scenarios_) {
    nlohmann::json sim = Simulate(kSet, s.lines);
    ASSERT_FALSE(sim.contains("error")) << s.name << sim.dump();
    EXPECT_GT(sim["connections"].get<int>(), 0) << s.name;
    EXPECT_THAT(Broken(sim), IsEmpty())
        << s.name << " (" << absl::StrJoin(s.sources, ", ") << ") would break";
  }
}

// The runbook's step that creates the suite's namespaces with the bypass label is what makes
// it pass: without it, default-deny-all takes every scenario of the suite's pods down, and
// only Cilium's own health probing is untouched (the set keeps the health endpoint out).
TEST_F(ConnectivityExampleTest, WithoutTheNamespaceLabelEverySuitePodScenarioBreaks) {
  std::vector<std::string> broken_scenarios;
  for (const auto& s : scenarios_) {
    nlohmann::json sim = Simulate(kSet, WithoutNamespaceBypass(s.lines));
    ASSERT_FALSE(sim.contains("error")) << s.name << sim.dump();
    if (!Broken(sim).empty()) broken_scenarios.push_back(s.name);
    for (const auto& b : sim["breaks"]) {
      EXPECT_THAT(b["drop"]["policy"]["responsible"], Contains("default-deny-all")) << s.name;
    }
  }
  std::vector<std::string> expected;
  for (const auto& s : scenarios_)
    if (s.name != "cilium-health") expected.push_back(s.name);
  EXPECT_EQ(broken_scenarios, expected);
  // World destinations are named by the answers the DNS proxy saw (dns-visibility): the
  // by-name test reads as its name, and so does the by-IP test (pod-to-cidr's 1.1.1.1 and
  // 1.0.0.1 are what one.one.one.one resolved to).
  nlohmann::json all = Simulate(kSet, WithoutNamespaceBypass(all_));
  std::vector<std::string> broken = Broken(all);
  EXPECT_THAT(broken, Contains("cilium-test-1/client -> one.one.one.one:443/TCP"));
  EXPECT_THAT(broken, Contains("cilium-test-1/client -> one.one.one.one:80/TCP"));
  for (const auto& b : broken) EXPECT_THAT(b, ::testing::Not(HasSubstr("1.0.0.1")));
}

TEST_F(ConnectivityExampleTest, StorySetBreaksCiliumHealth) {
  for (const auto& s : scenarios_) {
    if (s.name != "cilium-health") continue;
    nlohmann::json sim =
        Simulate("examples/zero-trust-rollout/story-policies", s.lines, "--fail-on critical");
    ASSERT_FALSE(sim.contains("error")) << sim.dump();
    EXPECT_GT(sim["totals"]["tier0_violation"]["connections"].get<int>(), 0) << sim.dump(1);
    EXPECT_THAT(Broken(sim), Contains(HasSubstr("(health) -> (health):4240/TCP")));
  }
}

}  // namespace
}  // namespace tw::deploy_test
