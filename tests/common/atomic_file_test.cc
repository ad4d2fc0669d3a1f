// Replacing files safely: unique temporaries, no symlink following, the writer lock, stale
// temporary files of a crashed writer, and that a second process is refused or waits.
#include "common/atomic_file.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tw {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tw_atomic_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string dir_;
};

TEST_F(AtomicFileTest, WritesReplacesAndLeavesNoTemporary) {
  const std::string p = Path("b.twb");
  ASSERT_TRUE(WriteFileAtomically(p, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(p, "second").ok());
  EXPECT_EQ(Slurp(p), "second");
  // Only the file and its (kept) lock file remain.
  EXPECT_THAT(Entries(), ::testing::ElementsAre("b.twb", "b.twb.lock"));
}

TEST_F(AtomicFileTest, UnlockedWritesLeaveNoLockFileInTheUsersTree) {
  const std::string p = Path("policy.yaml");
  AtomicWriteOptions o;
  o.lock = false;
  ASSERT_TRUE(WriteFileAtomically(p, "a", o).ok());
  ASSERT_TRUE(WriteFileAtomically(p, "b", o).ok());
  EXPECT_EQ(Slurp(p), "b");
  EXPECT_THAT(Entries(), ::testing::ElementsAre("policy.yaml"));
}

TEST_F(AtomicFileTest, APlantedSymlinkAtTheOldTemporaryNameIsNeverFollowed) {
  const std::string p = Path("b.twb");
  const std::string victim = Path("victim");
  std::ofstream(victim) << "precious";
  fs::create_symlink(victim, p + ".tmp");
  ASSERT_TRUE(WriteFileAtomically(p, "data").ok());
  EXPECT_EQ(Slurp(victim), "precious");
  EXPECT_EQ(Slurp(p), "data");
  EXPECT_FALSE(fs::is_symlink(p));
  // The planted link is not ours to remove either.
  EXPECT_TRUE(fs::is_symlink(p + ".tmp"));
}

TEST_F(AtomicFileTest, ASymlinkAtThePathIsReplacedNotWrittenThrough) {
  const std::string p = Path("b.twb");
  const std::string victim = Path("victim");
  std::ofstream(victim) << "precious";
  fs::create_symlink(victim, p);
  ASSERT_TRUE(WriteFileAtomically(p, "data").ok());
  EXPECT_EQ(Slurp(victim), "precious");
  EXPECT_FALSE(fs::is_symlink(p));
  EXPECT_EQ(Slurp(p), "data");
}

TEST_F(AtomicFileTest, ASymlinkAtTheLockFileIsRefusedNamingIt) {
  const std::string p = Path("b.twb");
  const std::string victim = Path("victim");
  std::ofstream(victim) << "precious";
  fs::create_symlink(victim, p + ".lock");
  absl::Status st = WriteFileAtomically(p, "data");
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("b.twb.lock is a symlink"));
  EXPECT_EQ(Slurp(victim), "precious");
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(AtomicFileTest, StaleTemporariesOfACrashedWriterAreRemoved) {
  const std::string p = Path("b.twb");
  std::ofstream(p + ".tmp-123-00000000deadbeef") << "half";
  std::ofstream(p + ".tmp") << "old-style half";
  std::ofstream(Path("other.twb.tmp-1-2")) << "not ours";
  ASSERT_TRUE(WriteFileAtomically(p, "data").ok());
  EXPECT_THAT(Entries(), ::testing::ElementsAre("b.twb", "b.twb.lock", "other.twb.tmp-1-2"));
}

TEST_F(AtomicFileTest, AnUnwritableDirectoryFailsAndKeepsThePreviousFile) {
  const std::string p = Path("b.twb");
  ASSERT_TRUE(WriteFileAtomically(p, "previous").ok());
  absl::Status st = WriteFileAtomically(Path("no/such/dir/x"), "x");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(Slurp(p), "previous");
}

TEST_F(AtomicFileTest, TheLockRefusesASecondHolderNamingThePid) {
  const std::string p = Path("b.twb");
  auto held = FileLock::Acquire(p, absl::ZeroDuration());
  ASSERT_TRUE(held.ok()) << held.status();
  // flock conflicts between open file descriptions, even in one process.
  auto second = FileLock::Acquire(p, absl::Milliseconds(20));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr(absl::StrCat("(pid ", ::getpid(), ") is writing ", p)));
  // A writer that does not hold it is refused too, and writes nothing.
  absl::Status st = WriteFileAtomically(p, "x", {.lock_wait = absl::Milliseconds(20)});
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(fs::exists(p));
  // The holder writes through its lock.
  ASSERT_TRUE(WriteFileAtomically(p, "mine", {.held_lock = &*held}).ok());
  EXPECT_EQ(Slurp(p), "mine");
  // Released on destruction.
  { FileLock gone = *std::move(held); }
  EXPECT_TRUE(FileLock::Acquire(p, absl::ZeroDuration()).ok());
}

TEST_F(AtomicFileTest, AKilledHolderLeavesNoStaleLock) {
  const std::string p = Path("b.twb");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = FileLock::Acquire(p, absl::ZeroDuration());
    char c = lock.ok() ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  EXPECT_FALSE(FileLock::Acquire(p, absl::ZeroDuration()).ok());
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  EXPECT_TRUE(FileLock::Acquire(p, absl::ZeroDuration()).ok());
}

TEST_F(AtomicFileTest, ConcurrentWritersEachInstallAWholeFile) {
  // Several processes write distinct contents to one file; every observed content is one
  // writer's whole data, and the final one is whole too.
  const std::string p = Path("b.twb");
  constexpr int kWriters = 4;
  std::vector<pid_t> kids;
  for (int w = 0; w < kWriters; ++w) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      std::string data(64 * 1024, static_cast<char>('a' + w));
      int failures = 0;
      for (int i = 0; i < 20; ++i) failures += WriteFileAtomically(p, data).ok() ? 0 : 1;
      ::_exit(failures);
    }
    kids.push_back(child);
  }
  for (pid_t k : kids) {
    int status = 0;
    ::waitpid(k, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::string final = Slurp(p);
  ASSERT_EQ(final.size(), 64u * 1024);
  EXPECT_EQ(final.find_first_not_of(final[0]), std::string::npos);
  EXPECT_THAT(Entries(), ::testing::ElementsAre("b.twb", "b.twb.lock"));
}

}  // namespace
}  // namespace tw
