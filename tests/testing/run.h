// Running the real tierwatch binary from tests: stdout and stderr to files in the test's
// directory, stdin from /dev/null, the exit status decoded.
//
//   tw::testing::RunResult r = tw::testing::RunTierwatch("baseline learn --capture x.jsonl",
//                                                        dir, {.in_dir = true, .timeout_s = 60});
//   EXPECT_EQ(r.status, 0) << r.err;
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "testing/paths.h"

namespace tw::testing {

// The whole file ("" when it cannot be read).
inline std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RunResult {
  int status = -1;  // the exit status; -1 when killed by a signal
  std::string out;
  std::string err;
};

struct RunOptions {
  bool in_dir = false;  // run with `dir` as the working directory (relative paths land there)
  int timeout_s = 0;    // > 0: killed after this many seconds (a hang becomes a failure)
};

// Runs `command_line` (a shell command) with stdout/stderr in dir/stdout.txt, dir/stderr.txt.
inline RunResult RunShell(const std::string& command_line, const std::filesystem::path& dir,
                          RunOptions options = {}) {
  std::filesystem::path out = dir / "stdout.txt", err = dir / "stderr.txt";
  std::string cmd;
  if (options.in_dir) cmd += "cd " + dir.string() + " && ";
  if (options.timeout_s > 0) cmd += "timeout " + std::to_string(options.timeout_s) + " ";
  cmd += command_line + " >" + out.string() + " 2>" + err.string() + " </dev/null";
  int rc = std::system(cmd.c_str());
  RunResult r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = Slurp(out);
  r.err = Slurp(err);
  return r;
}

// `tierwatch ARGS` (ARGS as the shell splits them).
inline RunResult RunTierwatch(const std::string& args, const std::filesystem::path& dir,
                              RunOptions options = {}) {
  return RunShell(TierwatchBin() + " " + args, dir, options);
}

}  // namespace tw::testing
