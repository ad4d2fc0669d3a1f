// The tierwatch command line: one binary, CLI11 subcommands, one dialect.
//
// Each cmd_*.cc file defines one Register* function that adds its subcommand(s) to the
// app and, in the subcommand's callback, stores what to run in `ctx.run`. Main() parses,
// runs the chosen command and maps the result to the exit status:
//   0 done (analyze, observe, learn, verdict: whatever they find)
//   1 findings of a gate (lint errors, simulated breakage, audit or diff differences)
//   2 bad usage or input
//   130 interrupted (Ctrl-C) before the work was done; nothing written
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace tw::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;

struct CommandContext {
  // Set by the chosen subcommand's callback; returns the exit status.
  std::function<int()> run;
};

void RegisterObserve(CLI::App& app, CommandContext& ctx);   // cmd_observe.cc
void RegisterReplay(CLI::App& app, CommandContext& ctx);    // cmd_replay.cc
void RegisterRun(CLI::App& app, CommandContext& ctx);       // cmd_run.cc
void RegisterBaseline(CLI::App& app, CommandContext& ctx);  // cmd_baseline.cc (learn/export/diff)
// cmd_baseline_merge.cc: `baseline merge`, added under `baseline` (after RegisterBaseline)
void RegisterBaselineMerge(CLI::App& app, CommandContext& ctx);
void RegisterAudit(CLI::App& app, CommandContext& ctx);     // cmd_baseline.cc
void RegisterAnalyze(CLI::App& app, CommandContext& ctx);   // cmd_analyze.cc
void RegisterPolicy(CLI::App& app, CommandContext& ctx);    // cmd_policy.cc (verdict/lint)
void RegisterSimulate(CLI::App& app, CommandContext& ctx);  // cmd_simulate.cc
void RegisterDrops(CLI::App& app, CommandContext& ctx);     // cmd_drops.cc (a daemon's API)
void RegisterExplain(CLI::App& app, CommandContext& ctx);   // cmd_explain.cc (a daemon's API)
void RegisterSuggest(CLI::App& app, CommandContext& ctx);   // cmd_suggest.cc

int Main(int argc, char** argv);

}  // namespace tw::cli
