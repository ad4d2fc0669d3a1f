// tierwatch: the one binary. Subcommands live in cli/*.cc and register themselves through
// cli/commands.h; main only wires logging and exit codes.
#include "absl/synchronization/mutex.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  // Debian's Abseil keeps a lock-order graph for every absl::Mutex acquisition (deadlock
  // detection, on in its build): ≈ 3 % of the live path's CPU (GraphCycles in perf). The
  // tests, which do not run this main, keep it on to catch lock-order cycles.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return tw::cli::Main(argc, argv);
}
