// Placeholder until the subcommand lands.
#include "cli/commands.h"

namespace tw::cli {

void RegisterSimulate(CLI::App& /*app*/, CommandContext& /*ctx*/) {}

}  // namespace tw::cli
