// Shared flag helpers so every subcommand speaks the same dialect:
//   --capture FILE (repeatable, "-" = stdin), --policies PATH..., -o text|json,
//   durations like 30s/5m/168h, times in RFC 3339, --log-level.
#pragma once

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"

namespace tw::cli {

// --capture FILE, repeatable; "-" reads standard input.
CLI::Option* AddCaptureOption(CLI::App* cmd, std::vector<std::string>* files,
                              const std::string& name = "--capture");
// --policies PATH... (files or directories of CNP/CCNP/KNP YAML).
CLI::Option* AddPoliciesOption(CLI::App* cmd, std::vector<std::string>* paths);
// -o/--output with the allowed formats (first is the default).
CLI::Option* AddOutputOption(CLI::App* cmd, std::string* format,
                             const std::vector<std::string>& formats);
// A duration flag parsed with tw::ParseDuration ("30s", "5m", "168h").
CLI::Option* AddDurationOption(CLI::App* cmd, const std::string& name, absl::Duration* out,
                               const std::string& help);
// Global --log-level (default warn for one-shot commands, so stdout/stderr stay readable).
void AddLoggingOptions(CLI::App* app, std::string* level, bool* json);

}  // namespace tw::cli
