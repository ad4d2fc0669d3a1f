// tierwatch: the one binary. Subcommands live in cli/*.cc and register themselves through
// cli/commands.h; main only wires logging and exit codes.
#include "cli/commands.h"

int main(int argc, char** argv) { return tw::cli::Main(argc, argv); }
