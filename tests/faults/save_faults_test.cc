// Faults around the baseline file, with the real binary: kill -9 at random moments of a
// save, a file size limit (disk full), a corrupt baseline and `run --reset-baseline`.
// Counts: 200 kills in `make test`, 1000 in `make soak` (TIERWATCH_SOAK=1).
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/http.h"
#include "baseline/persist.h"
#include "faults/fault_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/process.h"
#include "testing/paths.h"

namespace tw::faults {
namespace {

using ::testing::HasSubstr;
using tw::testing::Process;

// Runs the binary with `args`; with `fsize_limit` > 0 under that RLIMIT_FSIZE, SIGXFSZ
// ignored (as on a full disk, writes then fail with an errno instead of killing).
int RunLimited(const std::vector<std::string>& args, const fs::path& err, rlim_t fsize_limit) {
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (fsize_limit > 0) {
      struct rlimit rl = {fsize_limit, fsize_limit};
      ::setrlimit(RLIMIT_FSIZE, &rl);
      ::signal(SIGXFSZ, SIG_IGN);  // inherited across exec
    }
    std::FILE* e = std::freopen(err.c_str(), "w", stderr);
    std::FILE* o = std::freopen("/dev/null", "w", stdout);
    (void)e;
    (void)o;
    std::vector<char*> argv;
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<std::string> Learn(const fs::path& capture, const fs::path& out) {
  return {tw::testing::TierwatchBin(),
          "baseline",
          "learn",
          "--capture",
          capture.string(),
          "--out",
          out.string()};
}

size_t Connections(const fs::path& snapshot, std::string* error) {
  flow::SymbolTable s;
  auto b = baseline::LoadSnapshot(snapshot.string(), s);
  if (!b.ok()) {
    *error = std::string(b.status().message());
    return 0;
  }
  return b->size();
}

class SaveFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = ScratchDir("save"); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(SaveFaultsTest, KillDuringSaveAlwaysLeavesAWholeSnapshot) {
  const int kills = Count(200, 1000);
  // Two captures of different sizes: after every kill the file holds the previous run's
  // snapshot or the new one, whole — never a mix, never garbage.
  const fs::path a = WriteCapture(dir_ / "a.jsonl", 600, "a");
  const fs::path b = WriteCapture(dir_ / "b.jsonl", 700, "b");
  const fs::path out = dir_ / "baseline.twb";
  std::string error;
  absl::Time t0 = absl::Now();
  ASSERT_EQ(RunLimited(Learn(a, out), dir_ / "err", 0), 0) << Slurp(dir_ / "err");
  const absl::Duration one_run = absl::Now() - t0;
  const size_t size_a = Connections(out, &error);
  ASSERT_EQ(RunLimited(Learn(b, out), dir_ / "err", 0), 0) << Slurp(dir_ / "err");
  const size_t size_b = Connections(out, &error);
  ASSERT_GT(size_a, 0u);
  ASSERT_NE(size_a, size_b);

  std::mt19937_64 rng(12345);  // fixed seed: a failure reproduces
  std::uniform_int_distribution<int64_t> delay_us(0, absl::ToInt64Microseconds(one_run * 1.2) + 1);
  size_t previous = size_b;
  int killed = 0, finished = 0, corrupt = 0, mixed = 0;
  for (int i = 0; i < kills; ++i) {
    const bool use_a = i % 2 == 0;
    const size_t expected = use_a ? size_a : size_b;
    Process p(Learn(use_a ? a : b, out), dir_ / "o", dir_ / "e");
    absl::SleepFor(absl::Microseconds(delay_us(rng)));
    p.Signal(SIGKILL);
    int rc = p.Wait();
    (rc == 128 + SIGKILL ? killed : finished)++;
    error.clear();
    size_t now = Connections(out, &error);
    if (!error.empty()) {
      ++corrupt;
      ADD_FAILURE() << "kill " << i << ": " << error;
      continue;
    }
    if (now != previous && now != expected) ++mixed;
    if (rc == 0) {
      EXPECT_EQ(now, expected) << "a finished run must have installed its data";
    }
    previous = now;
  }
  EXPECT_EQ(corrupt, 0);
  EXPECT_EQ(mixed, 0);
  // The counts for the report (kills that landed mid-run vs runs that had finished).
  std::fflush(stdout);
  std::printf("fault-counts kill_during_save runs=%d killed=%d finished=%d corrupt=%d mixed=%d\n",
              kills, killed, finished, corrupt, mixed);
  std::fflush(stdout);
  EXPECT_GT(killed, 0) << "no kill landed inside a run: the delays are too long";
  // Leftover temporary files of killed saves are removed by the next save.
  ASSERT_EQ(RunLimited(Learn(a, out), dir_ / "err", 0), 0);
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find("baseline.twb.tmp"), std::string::npos) << e.path();
  }
}

TEST_F(SaveFaultsTest, AFullDiskFailsTheSaveClearlyAndKeepsThePreviousSnapshot) {
  const fs::path small = WriteCapture(dir_ / "small.jsonl", 20, "s");
  const fs::path big = WriteCapture(dir_ / "big.jsonl", 4000, "b");
  const fs::path out = dir_ / "baseline.twb";
  ASSERT_EQ(RunLimited(Learn(small, out), dir_ / "err", 0), 0) << Slurp(dir_ / "err");
  const std::string before = Slurp(out);
  ASSERT_LT(before.size(), 16u * 1024);

  // 16 KiB: the small snapshot fits, the big one does not.
  int rc = RunLimited(Learn(big, out), dir_ / "err", 16 * 1024);
  std::string err = Slurp(dir_ / "err");
  EXPECT_NE(rc, 0);
  EXPECT_LT(rc, 128) << "killed by a signal instead of failing: " << err;
  EXPECT_THAT(err, HasSubstr("cannot write " + out.string()));
  EXPECT_THAT(err, HasSubstr("File too large"));
  EXPECT_EQ(Slurp(out), before);
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  }
}

// The same at the daemon: `tierwatch run` learning from a relay under a file-size limit
// its snapshot outgrows. Every periodic save fails with a log line and
// tierwatch_baseline_saves_total{result="error"}; the previous snapshot stays byte for byte;
// the daemon keeps reading flows and answering; the failed final save makes the exit
// non-zero (not a kill by SIGXFSZ: tierwatch ignores it, so writes fail with EFBIG).
TEST_F(SaveFaultsTest, TheDaemonSurvivesAFullDiskCountsFailedSavesAndKeepsTheSnapshot) {
  const fs::path small = WriteCapture(dir_ / "small.jsonl", 20, "s");
  const fs::path big = WriteCapture(dir_ / "big.jsonl", 4000, "b");
  const fs::path out = dir_ / "baseline.twb";
  ASSERT_EQ(RunLimited(Learn(small, out), dir_ / "err", 0), 0) << Slurp(dir_ / "err");
  const std::string before = Slurp(out);

  Process relay(
      {tw::testing::TierwatchBin(), "replay", "--capture", big.string(), "--listen", "127.0.0.1:0"},
      dir_ / "relay.out", dir_ / "relay.err");
  const std::string relay_addr = relay.AwaitListening();
  ASSERT_FALSE(relay_addr.empty()) << relay.err();
  std::ofstream(dir_ / "tw.yaml") << "relay: {address: \"" << relay_addr
                                  << "\", backlog: all}\nmode: learn\nlearn_for: 168h\n"
                                     "baseline: {path: "
                                  << out.string()
                                  << ", save_interval: 1s}\nhttp: {listen: \"127.0.0.1:0\"}\n"
                                     "log: {level: info}\n";
  // 16 KiB per file: the 20-connection snapshot fits, the 4020-connection one does not;
  // the daemon's own log (stderr) stays well below it for the test's length.
  Process daemon({tw::testing::TierwatchBin(), "run", "--config", (dir_ / "tw.yaml").string()},
                 dir_ / "run.out", dir_ / "run.err", 16 * 1024);
  ASSERT_TRUE(daemon.AwaitErr("http listening addr=")) << daemon.err();
  std::string err = daemon.err();
  const size_t at = err.find("http listening addr=") + 20;
  const std::string http = "http://" + err.substr(at, err.find(' ', at) - at);

  auto metric = [&](const std::string& series) -> double {
    auto r = api::HttpGet(http, "/metrics");
    if (!r.ok() || r->status != 200) return -1;
    size_t p = r->body.find("\n" + series + " ");
    if (p == std::string::npos) return 0;
    return std::stod(r->body.substr(p + series.size() + 2));
  };
  const std::string failed = "tierwatch_baseline_saves_total{result=\"error\"}";
  ASSERT_TRUE(Process::Await([&] { return metric(failed) >= 2; })) << daemon.err();
  EXPECT_EQ(metric("tierwatch_baseline_saves_total{result=\"ok\"}"), 0);
  // Still reading and answering: every flow of the relay arrived, the probes answer.
  EXPECT_TRUE(Process::Await([&] { return metric("tierwatch_events_total") >= 4000; }));
  auto health = api::HttpGet(http, "/healthz");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(Slurp(out), before);
  EXPECT_THAT(daemon.err(), HasSubstr("baseline save failed path=" + out.string()));
  EXPECT_THAT(daemon.err(), HasSubstr("File too large"));

  daemon.Signal(SIGTERM);
  const int rc = daemon.Wait();
  EXPECT_NE(rc, 0) << "a failed final save must not look like success";
  EXPECT_LT(rc, 128) << "killed by a signal: " << daemon.err();
  EXPECT_EQ(Slurp(out), before);
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  }
  relay.Signal(SIGTERM);
  relay.Wait();
}

class ResetBaselineTest : public SaveFaultsTest {
 protected:
  std::vector<std::string> Run(const fs::path& capture, bool reset) {
    std::ofstream(dir_ / "tw.yaml")
        << "mode: learn\nlearn_for: 168h\nbaseline:\n  path: " << (dir_ / "baseline.twb").string()
        << "\nhttp:\n  listen: \"127.0.0.1:0\"\n";
    std::vector<std::string> args = {tw::testing::TierwatchBin(), "run",       "--config",
                                     (dir_ / "tw.yaml").string(), "--capture", capture.string()};
    if (reset) args.push_back("--reset-baseline");
    return args;
  }
};

TEST_F(ResetBaselineTest, TheAdviceNamesTheFlagAndTheFlagMovesTheFileAsideNeverDeleting) {
  const fs::path cap = WriteCapture(dir_ / "c.jsonl", 30, "c");
  const fs::path path = dir_ / "baseline.twb";
  std::ofstream(path) << "TWBASE garbage that is no snapshot";
  const std::string bad = Slurp(path);

  // Without the flag: refused (exit 2), file untouched, the advice names the flag.
  Process refused(Run(cap, false), dir_ / "r.out", dir_ / "r.err");
  EXPECT_EQ(refused.Wait(), 2) << refused.err();
  EXPECT_THAT(refused.err(), HasSubstr("tierwatch run --reset-baseline"));
  EXPECT_EQ(Slurp(path), bad);

  // With it: moved to PATH.unreadable-<unix seconds>, byte for byte, and learning starts.
  Process reset(Run(cap, true), dir_ / "s.out", dir_ / "s.err");
  EXPECT_EQ(reset.Wait(), 0) << reset.err();
  EXPECT_THAT(reset.err(), HasSubstr("baseline reset (--reset-baseline)"));
  std::vector<fs::path> aside;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().filename().string().rfind("baseline.twb.unreadable-", 0) == 0) {
      aside.push_back(e.path());
    }
  }
  ASSERT_EQ(aside.size(), 1u);
  EXPECT_EQ(Slurp(aside[0]), bad);
  std::string error;
  EXPECT_EQ(Connections(path, &error), 30u) << error;

  // A loadable baseline is kept by the flag.
  Process again(Run(cap, true), dir_ / "t.out", dir_ / "t.err");
  EXPECT_EQ(again.Wait(), 0) << again.err();
  EXPECT_THAT(again.err(), ::testing::Not(HasSubstr("baseline reset")));
  EXPECT_EQ(Connections(path, &error), 30u) << error;
}

}  // namespace
}  // namespace tw::faults
