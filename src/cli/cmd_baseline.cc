// Placeholder until the subcommands land.
#include "cli/commands.h"

namespace tw::cli {

void RegisterBaseline(CLI::App& /*app*/, CommandContext& /*ctx*/) {}
void RegisterAudit(CLI::App& /*app*/, CommandContext& /*ctx*/) {}

}  // namespace tw::cli
