// Live suggestions through the real binaries: `tierwatch run` watching the example's after
// phase (from a `tierwatch replay` relay) with the story's policies and a baseline learned
// from the before phase keeps the connections of its baseline_regression, platform_blocked,
// metrics_scrape_blocked and dns_blocked drops and serves the proven set;
// `tierwatch suggest --server` writes it as the offline command writes its own; and
// `tierwatch simulate` (the CI gate) shows the closure: with the story's policies plus the
// written suggestions, nothing of the baseline breaks in those classes any more.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/http.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/process.h"
#include "nlohmann/json.hpp"
#include "testing/paths.h"

namespace tw {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using tw::testing::Process;

const char* const kClasses[] = {"baseline_regression", "platform_blocked", "metrics_scrape_blocked",
                                "dns_blocked"};

std::string Example(const std::string& f) {
  return tw::testing::SourceDir() + "/examples/zero-trust-rollout/" + f;
}

struct Result {
  int status;
  std::string out, err;
};

class SuggestLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("tw_suggest_live_", getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    daemon_.reset();
    relay_.reset();
    fs::remove_all(dir_);
  }

  Result Run(const std::string& name, std::vector<std::string> args) {
    args.insert(args.begin(), tw::testing::TierwatchBin());
    Process p(args, dir_ / (name + ".out"), dir_ / (name + ".err"));
    int st = p.Wait();
    return {st, p.out(), p.err()};
  }

  std::string StartRelay(const std::string& capture) {
    relay_ = std::make_unique<Process>(
        std::vector<std::string>{tw::testing::TierwatchBin(), "replay", "--capture", capture,
                                 "--listen", "127.0.0.1:0"},
        dir_ / "relay.out", dir_ / "relay.err");
    return relay_->AwaitListening();
  }

  // Starts `tierwatch run` on `yaml`; returns the HTTP address it logged ("" on failure).
  std::string StartDaemon(const std::string& yaml) {
    { std::ofstream(dir_ / "tierwatch.yaml") << yaml; }
    daemon_ = std::make_unique<Process>(
        std::vector<std::string>{tw::testing::TierwatchBin(), "run", "--config",
                                 (dir_ / "tierwatch.yaml").string()},
        dir_ / "run.out", dir_ / "run.err");
    if (!daemon_->AwaitErr("http listening addr=")) return "";
    std::string err = daemon_->err();
    size_t pos = err.find("http listening addr=") + 20;
    return err.substr(pos, err.find(' ', pos) - pos);
  }

  json GetJson(const std::string& http, const std::string& path) {
    auto r = api::HttpGet("http://" + http, path);
    if (!r.ok() || r->status != 200) return json();
    return json::parse(r->body, nullptr, false);
  }

  fs::path dir_;
  std::unique_ptr<Process> relay_, daemon_;
};

TEST_F(SuggestLiveTest, TheDaemonsSetWrittenBySuggestServerClosesTheStorysBreakage) {
  const std::string baseline = (dir_ / "baseline.twb").string();
  Result learned =
      Run("learn", {"baseline", "learn", "--capture", Example("before.jsonl"), "--out", baseline});
  ASSERT_EQ(learned.status, 0) << learned.err;
  const std::string policies = Example("story-policies");
  const std::string fail_on =
      "baseline_regression,platform_blocked,metrics_scrape_blocked,dns_blocked";

  // Without suggestions, the story's policies break baseline connections in those classes
  // (what the closure below must undo).
  Result before = Run("simulate-before", {"simulate", "--policies", policies, "--baseline",
                                          baseline, "--fail-on", fail_on, "-o", "json"});
  ASSERT_EQ(before.status, 1) << before.err;
  json totals = json::parse(before.out)["totals"];
  double broken_before = 0;
  for (const char* c : kClasses) broken_before += totals[c]["connections"].get<double>();
  EXPECT_GT(broken_before, 0);

  const std::string relay = StartRelay(Example("after.jsonl"));
  ASSERT_FALSE(relay.empty()) << relay_->err();
  const std::string http = StartDaemon(absl::StrCat(
      "relay: {address: \"", relay, "\", backlog: all}\nmode: watch\nbaseline: {path: ", baseline,
      "}\npolicies: [", policies,
      "]\nhttp: {listen: \"127.0.0.1:0\"}\nsuggestions: {interval: 1s}\nlog: {level: info}\n"));
  ASSERT_FALSE(http.empty()) << daemon_->err();

  // Every drop read and released (the example's README: 307 counted drops) ...
  ASSERT_TRUE(Process::Await([&] {
    json s = GetJson(http, "/api/v1/status");
    return s.is_object() && s["drops"].is_object() && s["drops"]["events"] == 307;
  })) << GetJson(http, "/api/v1/status").dump();
  double kept_classes = 0;
  const json status = GetJson(http, "/api/v1/status");
  for (const json& c : status["drops"]["classes"]) {
    for (const char* k : kClasses) {
      if (c["class"] == k) kept_classes += c["events"].get<double>();
    }
  }
  ASSERT_GT(kept_classes, 0);
  // ... and the served set computed from all of those.
  json s;
  ASSERT_TRUE(Process::Await([&] {
    s = GetJson(http, "/api/v1/suggestions?format=json");
    return s.is_object() && s["drops"] == kept_classes && s["pending"] == false &&
           s.contains("computed") && s["computed"]["drops"] == kept_classes;
  })) << s.dump();
  EXPECT_EQ(s["computed"]["policies_in_force"], 8);
  EXPECT_EQ(s["computed"]["proofs"]["ok"], true) << s["computed"]["proofs"]["text"];
  EXPECT_EQ(s["computed"]["proofs"]["closure"]["still_denied"], 0);
  EXPECT_EQ(s["computed"]["unresolved_count"], 0);
  EXPECT_GT(s["count"].get<int>(), 0);
  const double policies_served = s["computed"]["policies"]["app"].get<double>() +
                                 s["computed"]["policies"]["cluster_wide"].get<double>();
  auto scrape = api::HttpGet("http://" + http, "/metrics");
  ASSERT_TRUE(scrape.ok());
  double gauge = 0;
  for (absl::string_view line : absl::StrSplit(scrape->body, '\n')) {
    if (absl::StartsWith(line, "tierwatch_suggestions{")) {
      gauge += std::stod(std::string(line.substr(line.rfind(' ') + 1)));
    }
  }
  EXPECT_EQ(gauge, policies_served);

  // suggest --server writes it, as the offline command would: the same files.
  const std::string out = (dir_ / "suggestions").string();
  Result written = Run("suggest", {"suggest", "--server", "http://" + http, "--out", out});
  ASSERT_EQ(written.status, 0) << written.out << written.err;
  EXPECT_THAT(written.out, HasSubstr("proofs: ok"));
  EXPECT_THAT(written.out, HasSubstr("policies in force: 8 loaded by the daemon"));
  for (const json& f : s["files"]) {
    EXPECT_EQ(tw::testing::ReadFile(fs::path(out) / f["path"].get<std::string>()),
              f["content"].get<std::string>())
        << f["path"];
  }
  EXPECT_TRUE(fs::exists(fs::path(out) / "business/odoo/networkpolicy.yaml"));
  // Again: nothing changes.
  Result again = Run("suggest-again", {"suggest", "--server", "http://" + http, "--out", out});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_THAT(again.out,
              HasSubstr(absl::StrCat("(0 written, ", s["count"].get<int>(), " unchanged)")));

  // A file tierwatch did not write is never replaced, and nothing else is written.
  const fs::path foreign = dir_ / "foreign";
  fs::create_directories(foreign / "business");
  { std::ofstream(foreign / "business/kustomization.yaml") << "resources: [mine.yaml]\n"; }
  Result refused =
      Run("suggest-foreign", {"suggest", "--server", "http://" + http, "--out", foreign.string()});
  EXPECT_EQ(refused.status, 2);
  EXPECT_THAT(refused.err, HasSubstr("business/kustomization.yaml"));
  EXPECT_EQ(tw::testing::ReadFile(foreign / "business/kustomization.yaml"),
            "resources: [mine.yaml]\n");
  EXPECT_FALSE(fs::exists(foreign / "business/odoo"));

  // The closure as CI checks it: the story's policies plus the written suggestions break no
  // baseline connection in those classes.
  Result closed = Run("simulate", {"simulate", "--policies", policies, out, "--baseline", baseline,
                                   "--fail-on", fail_on, "-o", "json"});
  EXPECT_EQ(closed.status, 0) << closed.out << closed.err;
  totals = json::parse(closed.out)["totals"];
  for (const char* c : kClasses) {
    EXPECT_EQ(totals[c]["connections"], 0) << c;
    EXPECT_EQ(totals[c]["drops"], 0) << c;
  }

  daemon_->Signal(SIGTERM);
  EXPECT_EQ(daemon_->Wait(), 0) << daemon_->err();
  relay_->Signal(SIGTERM);
  relay_->Wait();
}

TEST_F(SuggestLiveTest, AnUnreachableServerIsExitTwoNamingTheUrlAndTheCause) {
  Result r = Run("unreachable",
                 {"suggest", "--server", "http://127.0.0.1:1", "--out", (dir_ / "s").string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot reach tierwatch at http://127.0.0.1:1/api/v1/suggestions"));
  EXPECT_THAT(r.err, HasSubstr("connection failed"));
  EXPECT_FALSE(fs::exists(dir_ / "s"));
  // Options that describe an offline computation do not apply to the daemon's set.
  r = Run("server-policies", {"suggest", "--server", "http://127.0.0.1:1", "--policies", "p.yaml",
                              "--out", (dir_ / "s").string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("--server takes the daemon's set as it is"));
}

}  // namespace
}  // namespace tw
