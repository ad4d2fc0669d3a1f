// Hook for `tierwatch policy lint`: cmd_policy.cc creates the `policy` command group and
// calls RegisterPolicyLint() so the linter's subcommand (owned by the lint module's CLI
// file, cmd_policy_lint.cc) is added under it.
//
//   CLI::App* policy = app.add_subcommand("policy", "...");
//   RegisterPolicyLint(policy, ctx);   // adds `policy lint`
#pragma once

#include "CLI/CLI.hpp"
#include "cli/commands.h"

namespace tw::cli {

// Adds the `lint` subcommand to the `policy` command group (stores what to run in ctx.run).
void RegisterPolicyLint(CLI::App* policy_cmd, CommandContext& ctx);

}  // namespace tw::cli
