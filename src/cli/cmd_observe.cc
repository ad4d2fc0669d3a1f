// Placeholder until the subcommand lands.
#include "cli/commands.h"

namespace tw::cli {

void RegisterObserve(CLI::App& /*app*/, CommandContext& /*ctx*/) {}

}  // namespace tw::cli
