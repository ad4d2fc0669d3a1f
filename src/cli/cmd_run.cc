// Placeholder until the subcommand lands.
#include "cli/commands.h"

namespace tw::cli {

void RegisterRun(CLI::App& /*app*/, CommandContext& /*ctx*/) {}

}  // namespace tw::cli
