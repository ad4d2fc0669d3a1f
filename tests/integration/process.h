// Child processes for the integration tests: the real tierwatch binary with stdout and
// stderr in files, signals, bounded waits on what it prints.
//
//   tw::testing::Process p({tw::testing::TierwatchBin(), "replay", ...}, dir / "o", dir / "e");
//   std::string addr = p.AwaitListening();  // "listening on HOST:PORT"
//   ASSERT_FALSE(addr.empty());
//   p.Signal(SIGTERM);
//   EXPECT_EQ(p.Wait(), 0);
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tw::testing {

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Process {
 public:
  // `fsize_limit` > 0: the child runs under that RLIMIT_FSIZE (bytes per file it writes,
  // stdout and stderr included), as on a filling disk.
  Process(std::vector<std::string> args, const std::filesystem::path& out,
          const std::filesystem::path& err, rlim_t fsize_limit = 0)
      : out_(out), err_(err) {
    pid_ = fork();
    if (pid_ == 0) {
      if (fsize_limit > 0) {
        struct rlimit rl = {fsize_limit, fsize_limit};
        setrlimit(RLIMIT_FSIZE, &rl);
      }
      int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(o, 1);
      dup2(e, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~Process() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      Wait();
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  void Signal(int sig) { kill(pid_, sig); }
  // Exit status, or 128 + signal; -1 when it did not exit within `timeout` (then killed).
  int Wait(absl::Duration timeout = absl::Seconds(60)) {
    absl::Time deadline = absl::Now() + timeout;
    int status = 0;
    for (;;) {
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (absl::Now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        reaped_ = true;
        return -1;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string out() const { return ReadFile(out_); }
  std::string err() const { return ReadFile(err_); }
  // Waits until stderr contains `text` (the deadline only turns a hang into a failure).
  bool AwaitErr(const std::string& text, int occurrences = 1) const {
    return Await([&] { return Count(err(), text) >= occurrences; });
  }
  bool AwaitOut(const std::string& text, int occurrences = 1) const {
    return Await([&] { return Count(out(), text) >= occurrences; });
  }
  // The address a server announced with "listening on HOST:PORT" on stdout (tierwatch
  // replay, run's HTTP listener); "" when it did not within the deadline.
  std::string AwaitListening() const {
    static constexpr char kListening[] = "listening on ";
    if (!AwaitOut(kListening)) return "";
    std::string out = this->out();
    std::string addr = out.substr(out.find(kListening) + sizeof(kListening) - 1);
    addr = addr.substr(0, addr.find('\n'));
    while (!addr.empty() && addr.back() == '\r') addr.pop_back();
    return addr;
  }
  template <typename F>
  static bool Await(F cond, absl::Duration timeout = absl::Seconds(30)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (cond()) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return cond();
  }
  static int Count(const std::string& haystack, const std::string& text) {
    int n = 0;
    for (size_t pos = haystack.find(text); pos != std::string::npos;
         pos = haystack.find(text, pos + 1)) {
      ++n;
    }
    return n;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::filesystem::path out_, err_;
};

}  // namespace tw::testing
