// Placeholder until `tierwatch policy lint` lands (owned by the lint helper): registers
// nothing so the binary links.
#include "cli/policy_lint_cmd.h"

namespace tw::cli {

void RegisterPolicyLint(CLI::App* /*policy_cmd*/, CommandContext& /*ctx*/) {}

}  // namespace tw::cli
