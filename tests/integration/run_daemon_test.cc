// `tierwatch run` as a real process against a real `tierwatch replay` relay process: SIGHUP
// reloads (applied, rejected, reconnecting to another relay), SIGTERM shuts down with exit
// status 0, a summary on stdout and a baseline snapshot on disk; bad configs exit 2 with
// FILE:LINE; watch mode with a baseline.path that names no file exits 2.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "baseline/persist.h"
#include "flow/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/process.h"
#include "nlohmann/json.hpp"
#include "testing/paths.h"

namespace tw::run_daemon_test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

void WriteFile(const fs::path& p, const std::string& text) {
  // Written beside and renamed, as a config management tool would: the daemon never reads
  // a half-written file.
  fs::path tmp = p;
  tmp += ".tmp";
  std::ofstream(tmp) << text;
  fs::rename(tmp, p);
}

using tw::testing::Process;

class RunDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("tw_run_daemon_", getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A capture of `n` connections (business/app-i -> business/db:5432), each seen twice,
  // starting at `start` unix seconds.
  fs::path Capture(const std::string& name, int n, int64_t start) {
    flow::SymbolTable s;
    std::ofstream out(dir_ / name);
    for (int rep = 0; rep < 2; ++rep) {
      for (int i = 0; i < n; ++i) {
        flow::Event ev;
        flow::Flow& f = ev.flow.emplace();
        f.time = absl::FromUnixSeconds(start + rep * 10 + i);
        f.uuid = absl::StrCat(name, "-", rep, "-", i);
        f.verdict = flow::Verdict::kForwarded;
        f.l4.protocol = flow::Protocol::kTCP;
        f.l4.source_port = 40000 + i;
        f.l4.destination_port = 5432;
        f.l4.tcp_flags = flow::kSYN;
        f.source_ip = "10.0.1.1";
        f.destination_ip = "10.0.2.2";
        f.ip_version = flow::IpVersion::kIPv4;
        f.source.namespace_ = s.Intern("business");
        f.source.labels = {s.Intern(absl::StrCat("k8s:app=app-", name.substr(0, 1), i))};
        f.destination.namespace_ = s.Intern("business");
        f.destination.labels = {s.Intern("k8s:app=db")};
        f.type = flow::FlowType::kL3L4;
        f.event_type = flow::kEventTrace;
        f.is_reply = false;
        f.node_name = s.Intern("worker-1");
        ev.node_name = f.node_name;
        ev.time = f.time;
        out << flow::EventToJson(ev) << "\n";
      }
    }
    return dir_ / name;
  }

  // Starts `tierwatch replay` on a free port; returns its address.
  std::string StartRelay(const fs::path& capture, std::unique_ptr<Process>* proc) {
    std::string name = capture.stem().string();
    *proc = std::make_unique<Process>(
        std::vector<std::string>{tw::testing::TierwatchBin(), "replay", "--capture",
                                 capture.string(), "--listen", "127.0.0.1:0"},
        dir_ / (name + "-relay.out"), dir_ / (name + "-relay.err"));
    std::string addr = (*proc)->AwaitListening();
    EXPECT_FALSE(addr.empty()) << (*proc)->err();
    return addr;
  }

  std::string Config(const std::string& relay, const std::string& mode,
                     const std::string& extra = "") {
    return absl::StrCat(
        "relay:\n  address: \"", relay, "\"\n  backlog: all\nmode: ", mode,
        "\nlearn_for: 168h\nbaseline:\n  path: ", (dir_ / "baseline.twb").string(),
        "\n  save_interval: 1s\nhttp:\n  listen: \"127.0.0.1:0\"\nlog:\n  level: info\n", extra);
  }

  std::unique_ptr<Process> StartDaemon(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {tw::testing::TierwatchBin(), "run", "--config",
                                     (dir_ / "tierwatch.yaml").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<Process>(args, dir_ / "run.out", dir_ / "run.err");
  }

  fs::path dir_;
};

TEST_F(RunDaemonTest, SighupAppliesTheNewModeAndSigtermExitsCleanlyWithSummaryAndSnapshot) {
  std::unique_ptr<Process> relay;
  std::string addr = StartRelay(Capture("a.jsonl", 3, 1764300000), &relay);
  ASSERT_FALSE(addr.empty());
  WriteFile(dir_ / "tierwatch.yaml", Config(addr, "learn"));
  auto daemon = StartDaemon({"-o", "json"});

  // save_interval 1s: a periodic save that reports all three connections proves every flow
  // was learned (no sleeping and hoping).
  ASSERT_TRUE(daemon->AwaitErr("connections=3")) << daemon->err();
  WriteFile(dir_ / "tierwatch.yaml", Config(addr, "watch"));
  daemon->Signal(SIGHUP);
  ASSERT_TRUE(daemon->AwaitErr("mode switched from=learn to=watch reason=\"config reload\""))
      << daemon->err();
  daemon->Signal(SIGTERM);
  ASSERT_EQ(daemon->Wait(), 0) << daemon->err();

  nlohmann::json report = nlohmann::json::parse(daemon->out());
  EXPECT_EQ(report["mode"], "watch");
  EXPECT_EQ(report["stop_reason"], "SIGTERM");
  EXPECT_EQ(report["config_reloads"]["applied"], 1);
  EXPECT_EQ(report["config_reloads"]["rejected"], 0);
  EXPECT_EQ(report["summary"]["flows"], 6);
  EXPECT_EQ(report["summary"]["by_verdict"]["FORWARDED"], 6);
  EXPECT_EQ(report["summary"]["by_namespace"]["business"]["flows"], 6);
  EXPECT_EQ(report["baseline"]["connections"], 3);
  EXPECT_FALSE(report["drops"].is_null());  // watch mode reports classes
  EXPECT_EQ(report["drops"]["events"], 0);

  flow::SymbolTable s;
  auto snapshot = baseline::LoadSnapshot((dir_ / "baseline.twb").string(), s);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->size(), 3u);
  relay->Signal(SIGTERM);
  relay->Wait();
}

TEST_F(RunDaemonTest, AnInvalidConfigOnSighupIsLoggedAndTheRunningOneKept) {
  std::unique_ptr<Process> relay;
  std::string addr = StartRelay(Capture("a.jsonl", 2, 1764300000), &relay);
  ASSERT_FALSE(addr.empty());
  WriteFile(dir_ / "tierwatch.yaml", Config(addr, "learn"));
  auto daemon = StartDaemon();
  ASSERT_TRUE(daemon->AwaitErr("connections=2")) << daemon->err();

  WriteFile(dir_ / "tierwatch.yaml", "relay:\n  address: x:1\nmode: sometimes\nlearn_for: 1x\n");
  daemon->Signal(SIGHUP);
  ASSERT_TRUE(daemon->AwaitErr("config reload rejected")) << daemon->err();
  EXPECT_THAT(daemon->err(), HasSubstr("tierwatch.yaml:3:7: error: mode: expected learn or watch"));
  EXPECT_THAT(daemon->err(), HasSubstr("tierwatch.yaml:4:12: error: learn_for:"));
  // The unreadable mode is said once, not also as the default's consequence.
  EXPECT_THAT(daemon->err(), ::testing::Not(HasSubstr("baseline.path: required in learn mode")));

  daemon->Signal(SIGINT);
  ASSERT_EQ(daemon->Wait(), 0) << daemon->err();
  std::string out = daemon->out();
  EXPECT_THAT(out, HasSubstr("stopped: SIGINT"));
  EXPECT_THAT(out, HasSubstr("mode: learn"));
  EXPECT_THAT(out, HasSubstr("config reloads: 0 applied, 1 rejected"));
  EXPECT_THAT(out, HasSubstr("baseline: 2 connections"));
  EXPECT_THAT(out, HasSubstr("FORWARDED"));
  relay->Signal(SIGTERM);
  relay->Wait();
}

// The probe's 528-byte config: 8 levels of 10 nested aliases under relay.filters. It once
// grew `run --check` without end and aborted a running daemon with std::bad_alloc.
std::string AliasBombConfig(const std::string& relay) {
  std::string y =
      absl::StrCat("relay:\n  address: \"", relay, "\"\n  filters:\n    - l0: &l0 [x]\n");
  for (int i = 1; i <= 8; ++i) {
    absl::StrAppend(&y, "      l", i, ": &l", i, " [");
    for (int j = 0; j < 10; ++j) absl::StrAppend(&y, j ? "," : "", "*l", i - 1);
    absl::StrAppend(&y, "]\n");
  }
  return y;
}

TEST_F(RunDaemonTest, AnAliasBombOnSighupIsRejectedAndTheRunningConfigKept) {
  std::unique_ptr<Process> relay;
  std::string addr = StartRelay(Capture("a.jsonl", 2, 1764300000), &relay);
  ASSERT_FALSE(addr.empty());
  WriteFile(dir_ / "tierwatch.yaml", Config(addr, "learn"));
  auto daemon = StartDaemon();
  ASSERT_TRUE(daemon->AwaitErr("connections=2")) << daemon->err();

  WriteFile(dir_ / "tierwatch.yaml", AliasBombConfig(addr));
  daemon->Signal(SIGHUP);
  ASSERT_TRUE(daemon->AwaitErr("config reload rejected")) << daemon->err();
  EXPECT_THAT(daemon->err(), HasSubstr("tierwatch.yaml:5:11: error: relay.filters[0].l"));
  EXPECT_THAT(daemon->err(), HasSubstr("expands to more than 100000 YAML nodes"));

  daemon->Signal(SIGINT);
  ASSERT_EQ(daemon->Wait(), 0) << daemon->err();
  EXPECT_THAT(daemon->out(), HasSubstr("config reloads: 0 applied, 1 rejected"));
  EXPECT_THAT(daemon->out(), HasSubstr("baseline: 2 connections"));
  relay->Signal(SIGTERM);
  relay->Wait();
}

TEST_F(RunDaemonTest, CheckRefusesAnAliasBombAtItsLine) {
  WriteFile(dir_ / "tierwatch.yaml", AliasBombConfig("127.0.0.1:1"));
  auto daemon = StartDaemon({"--check"});
  EXPECT_EQ(daemon->Wait(), 2) << daemon->err();
  EXPECT_THAT(daemon->err(), HasSubstr("tierwatch.yaml:5:11: error: relay.filters[0].l"));
  EXPECT_THAT(daemon->err(), HasSubstr("refusing to read it"));
}

// --check used to say "config OK" for files that do not exist, and the daemon then failed
// on them one at a time without a line.
TEST_F(RunDaemonTest, CheckReportsEveryMissingFileAtOnceAtItsLine) {
  WriteFile(dir_ / "tierwatch.yaml",
            "relay:\n"                                   // 1
            "  address: 127.0.0.1:1\n"                   // 2
            "  tls: {enabled: true, ca_file: ca.pem}\n"  // 3
            "mode: learn\n"                              // 4
            "baseline:\n"                                // 5
            "  path: gone/baseline.twb\n"                // 6
            "tiers: tiers.yaml\n"                        // 7
            "policies: [policies]\n");                   // 8
  auto daemon = StartDaemon({"--check"});
  EXPECT_EQ(daemon->Wait(), 2) << daemon->err();
  std::string err = daemon->err();
  EXPECT_THAT(err, HasSubstr("tierwatch.yaml:3:33: error: relay.tls.ca_file: CA file "));
  EXPECT_THAT(err, HasSubstr("tierwatch.yaml:6:9: error: baseline.path: the directory "));
  EXPECT_THAT(err, HasSubstr("tierwatch.yaml:7:8: error: tiers: tier config "));
  EXPECT_THAT(err, HasSubstr("tierwatch.yaml:8:12: error: policies[0]: "));
  EXPECT_EQ(daemon->out(), "");
}

TEST_F(RunDaemonTest, CheckReadsTheTierFileAndThePolicies) {
  WriteFile(dir_ / "tiers.yaml", "tiers:\n  - level: 7\n");
  fs::create_directories(dir_ / "policies");
  WriteFile(dir_ / "policies" / "p.yaml",
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, "
            "namespace: ns}\nspec:\n  endpointSelector: {}\n  egres: []\n");
  WriteFile(dir_ / "tierwatch.yaml",
            Config("127.0.0.1:1", "learn", "tiers: tiers.yaml\npolicies: [policies]\n"));
  auto daemon = StartDaemon({"--check"});
  EXPECT_EQ(daemon->Wait(), 2) << daemon->err();
  std::string err = daemon->err();
  EXPECT_THAT(err, HasSubstr("tiers.yaml:2:"));
  EXPECT_THAT(err, HasSubstr("tiers[0].level: expected an integer from 0 to 2, got \"7\""));
  EXPECT_THAT(err, HasSubstr("p.yaml:6:"));
  EXPECT_THAT(err, HasSubstr("unknown field \"egres\""));
}

TEST_F(RunDaemonTest, RelayFlagWinsOverTheConfigAndSurvivesAReload) {
  std::unique_ptr<Process> relay;
  std::string addr = StartRelay(Capture("a.jsonl", 2, 1764300000), &relay);
  ASSERT_FALSE(addr.empty());
  // The config names a relay nobody listens on; --relay names the real one.
  WriteFile(dir_ / "tierwatch.yaml", Config("127.0.0.1:1", "learn"));
  auto daemon = StartDaemon({"--relay", addr});
  ASSERT_TRUE(daemon->AwaitErr("connections=2")) << daemon->err();
  WriteFile(dir_ / "tierwatch.yaml", Config("127.0.0.1:1", "watch"));
  daemon->Signal(SIGHUP);
  ASSERT_TRUE(daemon->AwaitErr("config reloaded")) << daemon->err();
  daemon->Signal(SIGINT);
  ASSERT_EQ(daemon->Wait(), 0) << daemon->err();
  EXPECT_THAT(daemon->err(), ::testing::Not(HasSubstr("relay settings changed")));
  EXPECT_THAT(daemon->out(), HasSubstr(addr));
  relay->Signal(SIGTERM);
  relay->Wait();
}

TEST_F(RunDaemonTest, CheckAcceptsTheRelayFromTheCommandLine) {
  WriteFile(dir_ / "tierwatch.yaml", "mode: learn\nbaseline:\n  path: b.twb\n");
  auto daemon = StartDaemon({"--check", "--relay", "127.0.0.1:4245"});
  EXPECT_EQ(daemon->Wait(), 0) << daemon->err();
  EXPECT_THAT(daemon->out(), HasSubstr("config OK"));
  EXPECT_THAT(daemon->out(), HasSubstr("relay 127.0.0.1:4245"));
  auto two_cas =
      StartDaemon({"--check", "--relay", "a:1", "--tls-ca-cert-files", "a.pem", "b.pem"});
  EXPECT_EQ(two_cas->Wait(), 2);
  EXPECT_THAT(two_cas->err(), HasSubstr("the daemon takes one CA file"));
}

TEST_F(RunDaemonTest, AChangedRelayOnSighupReconnectsAndContinues) {
  std::unique_ptr<Process> relay_a, relay_b;
  std::string a = StartRelay(Capture("a.jsonl", 2, 1764300000), &relay_a);
  // Relay B's traffic is newer: the reconnect resumes after the newest flow read from A.
  std::string b = StartRelay(Capture("b.jsonl", 3, 1764300100), &relay_b);
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  WriteFile(dir_ / "tierwatch.yaml", Config(a, "learn"));
  auto daemon = StartDaemon({"-o", "json"});
  ASSERT_TRUE(daemon->AwaitErr("connections=2")) << daemon->err();

  WriteFile(dir_ / "tierwatch.yaml", Config(b, "learn"));
  daemon->Signal(SIGHUP);
  ASSERT_TRUE(daemon->AwaitErr("relay settings changed, reconnecting")) << daemon->err();
  ASSERT_TRUE(daemon->AwaitErr("connections=5")) << daemon->err();
  daemon->Signal(SIGTERM);
  ASSERT_EQ(daemon->Wait(), 0) << daemon->err();
  nlohmann::json report = nlohmann::json::parse(daemon->out());
  EXPECT_EQ(report["summary"]["flows"], 10);
  EXPECT_EQ(report["source_stats"]["restarts_on_reload"], 1);
  EXPECT_EQ(report["baseline"]["connections"], 5);
  EXPECT_THAT(report["source"].get<std::string>(), HasSubstr(b));
}

TEST_F(RunDaemonTest, BadConfigExitsTwoWithEveryErrorAtItsLine) {
  WriteFile(
      dir_ / "tierwatch.yaml",
      "relay:\n  adress: x:1\nmode: learn\nlearn_for: forever\npipeline: {overflow: spill}\n");
  auto daemon = StartDaemon();
  EXPECT_EQ(daemon->Wait(), 2);
  std::string err = daemon->err();
  EXPECT_THAT(err, HasSubstr("tierwatch.yaml:1:1: error: relay.address: required"));
  EXPECT_THAT(err,
              HasSubstr("tierwatch.yaml:2:3: error: relay: unknown key \"adress\" (did you mean"));
  EXPECT_THAT(err, HasSubstr("tierwatch.yaml:4:12: error: learn_for: expected a duration"));
  EXPECT_THAT(err,
              HasSubstr("tierwatch.yaml:5:22: error: pipeline.overflow: expected block or drop"));
  EXPECT_THAT(err, HasSubstr("baseline.path: required in learn mode"));
  EXPECT_EQ(daemon->out(), "");
}

TEST_F(RunDaemonTest, CheckValidatesWithoutStarting) {
  WriteFile(dir_ / "tierwatch.yaml", Config("127.0.0.1:1", "learn"));
  auto daemon = StartDaemon({"--check"});
  EXPECT_EQ(daemon->Wait(), 0) << daemon->err();
  EXPECT_THAT(daemon->out(), HasSubstr("config OK"));
  EXPECT_FALSE(fs::exists(dir_ / "baseline.twb"));

  auto example = std::make_unique<Process>(
      std::vector<std::string>{tw::testing::TierwatchBin(), "run", "--config",
                               tw::testing::SourceDir() + "/config/tierwatch.example.yaml",
                               "--check-syntax"},
      dir_ / "ex.out", dir_ / "ex.err");
  EXPECT_EQ(example->Wait(), 0) << example->err();
  // Full --check also looks at the machine: the example's /var/lib/tierwatch is not here.
  auto here = std::make_unique<Process>(
      std::vector<std::string>{tw::testing::TierwatchBin(), "run", "--config",
                               tw::testing::SourceDir() + "/config/tierwatch.example.yaml",
                               "--check"},
      dir_ / "ex2.out", dir_ / "ex2.err");
  if (!fs::exists("/var/lib/tierwatch")) {
    EXPECT_EQ(here->Wait(), 2);
    EXPECT_THAT(here->err(),
                HasSubstr("tierwatch.example.yaml:93:9: error: baseline.path: the directory"));
  } else {
    here->Wait();
  }
}

TEST_F(RunDaemonTest, CapturesEndTheRunAndTheSummaryIsPrinted) {
  fs::path capture = Capture("c.jsonl", 4, 1764300000);
  WriteFile(dir_ / "tierwatch.yaml",
            "mode: learn\nbaseline: {path: b.twb}\nhttp: {listen: \"127.0.0.1:0\"}\n");
  auto daemon = StartDaemon({"--capture", capture.string(), "--duration", "5m"});
  ASSERT_EQ(daemon->Wait(), 0) << daemon->err();
  std::string out = daemon->out();
  EXPECT_THAT(out, HasSubstr("stopped: source ended"));
  EXPECT_THAT(out, HasSubstr("baseline: 4 connections"));
  EXPECT_THAT(out, HasSubstr("events 8: flows 8"));
  EXPECT_TRUE(fs::exists(dir_ / "b.twb"));  // relative to the config file
}

TEST_F(RunDaemonTest, DurationStopsAFollowingRun) {
  std::unique_ptr<Process> relay;
  fs::path capture = Capture("a.jsonl", 1, 1764300000);
  std::string addr = StartRelay(capture, &relay);
  ASSERT_FALSE(addr.empty());
  // Watch mode needs the baseline it compares against.
  Process learn({tw::testing::TierwatchBin(), "baseline", "learn", "--capture", capture.string(),
                 "--out", (dir_ / "baseline.twb").string()},
                dir_ / "learn.out", dir_ / "learn.err");
  ASSERT_EQ(learn.Wait(), 0) << learn.err();
  WriteFile(dir_ / "tierwatch.yaml", Config(addr, "watch"));
  auto daemon = StartDaemon({"--duration", "1s", "--log-level", "warn"});
  ASSERT_EQ(daemon->Wait(), 0) << daemon->err();
  EXPECT_THAT(daemon->out(), HasSubstr("stopped: duration"));
  EXPECT_THAT(daemon->out(), HasSubstr("mode: watch"));
  EXPECT_EQ(daemon->err(), "");  // --log-level warn wins over the config's info
  relay->Signal(SIGTERM);
  relay->Wait();
}

// issue 10: a mistyped baseline.path in watch mode used to run on with connections=0, so
// baseline_regression could never fire.
TEST_F(RunDaemonTest, WatchWithABaselinePathThatNamesNoFileExitsTwo) {
  WriteFile(dir_ / "tierwatch.yaml", Config("127.0.0.1:1", "watch"));
  auto daemon = StartDaemon({"--duration", "30s"});
  EXPECT_EQ(daemon->Wait(), 2) << daemon->err();
  EXPECT_THAT(daemon->err(), HasSubstr("baseline.path: no baseline at"));
  EXPECT_THAT(daemon->err(), HasSubstr((dir_ / "baseline.twb").string()));
  EXPECT_EQ(daemon->out(), "");
  EXPECT_FALSE(fs::exists(dir_ / "baseline.twb"));  // nothing was created in its place
}

TEST_F(RunDaemonTest, WatchWithoutABaselineRunsButSaysSoLoudly) {
  fs::path capture = Capture("c.jsonl", 2, 1764300000);
  WriteFile(dir_ / "tierwatch.yaml", "mode: watch\nhttp: {listen: \"\"}\n");
  auto daemon = StartDaemon({"--capture", capture.string(), "--log-level", "warn"});
  ASSERT_EQ(daemon->Wait(), 0) << daemon->err();
  EXPECT_THAT(daemon->err(), HasSubstr("watch mode WITHOUT a baseline"));
  EXPECT_THAT(daemon->out(), HasSubstr("baseline: none (baseline.path is not set)"));
}

// issue 10: the summary pointed at `--explain ID`, which `run` does not have. It now names
// a command that works: for a run over captures, the exact `tierwatch analyze` line.
TEST_F(RunDaemonTest, TheSummaryPointsAtACommandThatExplainsADrop) {
  const std::string example = tw::testing::SourceDir() + "/examples/zero-trust-rollout/";
  const std::string baseline = (dir_ / "b.twb").string();
  Process learn({tw::testing::TierwatchBin(), "baseline", "learn", "--capture",
                 example + "before.jsonl", "--out", baseline},
                dir_ / "learn.out", dir_ / "learn.err");
  ASSERT_EQ(learn.Wait(), 0) << learn.err();
  WriteFile(dir_ / "tierwatch.yaml",
            absl::StrCat("mode: watch\nbaseline: {path: ", baseline, "}\nhttp: {listen: \"\"}\n"));
  auto daemon = StartDaemon({"--capture", example + "after.jsonl"});
  ASSERT_EQ(daemon->Wait(), 0) << daemon->err();
  const std::string out = daemon->out();
  const std::string hint = absl::StrCat("`tierwatch analyze ", example, "after.jsonl --baseline ",
                                        baseline, " --explain ID`");
  EXPECT_THAT(out, HasSubstr(hint));
  // The hinted command works with an id the summary prints.
  size_t at = out.find("(id ");
  ASSERT_NE(at, std::string::npos) << out;
  std::string id = out.substr(at + 4, 12);
  Process explain({tw::testing::TierwatchBin(), "analyze", example + "after.jsonl", "--baseline",
                   baseline, "--explain", id},
                  dir_ / "explain.out", dir_ / "explain.err");
  EXPECT_EQ(explain.Wait(), 0) << explain.err();
  EXPECT_THAT(explain.out(), HasSubstr(absl::StrCat("drop ", id, ":")));
}

}  // namespace
}  // namespace tw::run_daemon_test
