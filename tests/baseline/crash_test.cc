// Crash safety of snapshot saving: a child process saves a large baseline over the same path
// again and again and is killed with SIGKILL at a random moment (seeded, so every run kills
// at the same offsets); afterwards the file must always load and be exactly the last snapshot
// the child finished or the one it was writing — never a mix, never unreadable.
//
// Each snapshot is ~4.5 MB (a padded source string) over 2,000 connections, so that most of
// a save is spent writing, syncing and renaming — where a crash can do damage — rather than
// encoding.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "baseline/persist.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace tw::baseline {
namespace {

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testutil::TempDir("crash");
    base_ = std::make_unique<Baseline>(testutil::Synthetic(s_, 2000, 7));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Generation k: the base plus connections 0..k-1, named "generation k <padding>".
  // Advance() turns generation k-1 into k.
  static std::string Source(int k) {
    return absl::StrCat("generation ", k, " ", std::string(size_t{4} << 20, 'x'));
  }
  void Advance(Baseline& b, int k) {
    b.Record(testutil::Key(s_, "gen", absl::StrCat("c", k - 1), "gen", "server", 8000),
             testutil::kT0 + absl::Seconds(k), s_.Intern("node-a"), flow::Verdict::kForwarded);
    b.set_source(Source(k));
  }

  flow::SymbolTable s_;
  std::string dir_;
  std::unique_ptr<Baseline> base_;
};

TEST_F(CrashTest, KillNineWhileSavingLeavesPreviousOrNewSnapshot) {
  const std::string path = dir_ + "/baseline.twb";
  int generation = 0;
  Baseline expected = *base_;  // generation `generation`, as the parent knows it
  expected.set_source(Source(0));
  ASSERT_TRUE(SaveSnapshot(expected, path).ok());
  int interrupted = 0;  // kills that left a half-written temporary file behind
  int unreported = 0;   // kills between a save's rename and its report

  constexpr int kIterations = 50;
  for (int iter = 0; iter < kIterations; ++iter) {
    SCOPED_TRACE(absl::StrCat("iteration ", iter, ", generation on disk ", generation));
    int pipefd[2];
    ASSERT_EQ(pipe(pipefd), 0);
    const int first = generation + 1;
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Child: save generation first, first+1, ... forever, reporting each finished save.
      close(pipefd[0]);
      Baseline& b = expected;  // the child's own copy of the parent's memory
      for (int k = first;; ++k) {
        Advance(b, k);
        if (!SaveSnapshot(b, path).ok()) _exit(3);
        if (write(pipefd[1], &k, sizeof(k)) != sizeof(k)) _exit(4);
      }
    }
    close(pipefd[1]);
    std::mt19937 rng(1000 + iter);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300000));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited by itself with " << WEXITSTATUS(status);

    int finished = generation;
    int k;
    while (read(pipefd[0], &k, sizeof(k)) == sizeof(k)) finished = k;
    close(pipefd[0]);
    if (std::filesystem::exists(path + ".tmp")) ++interrupted;

    absl::StatusOr<Baseline> loaded = LoadSnapshot(path, s_);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    int on_disk = -1;
    absl::string_view src = loaded->source();
    ASSERT_TRUE(absl::ConsumePrefix(&src, "generation "));
    ASSERT_TRUE(absl::SimpleAtoi(src.substr(0, src.find(' ')), &on_disk));
    // The last finished save, or the one under way when the kill came (its rename may have
    // happened before it could report).
    EXPECT_TRUE(on_disk == finished || on_disk == finished + 1)
        << "on disk " << on_disk << ", last finished " << finished;
    if (on_disk == finished + 1) ++unreported;
    ASSERT_GE(on_disk, generation);
    while (generation < on_disk) Advance(expected, ++generation);
    EXPECT_TRUE(*loaded == expected);
  }
  std::cout << "crash test: " << kIterations << " kills, " << interrupted
            << " in the middle of writing a snapshot, " << unreported
            << " right after a rename, last generation " << generation << "\n";
}

}  // namespace
}  // namespace tw::baseline
