// Fuzzes the daemon config parser (config/config.h, `run --config`): every problem is a
// Diagnostic with a line, never an exception, a crash or unbounded memory (alias bombs).
#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tw::config::ParsedConfig r = tw::config::Parse(
      absl::string_view(reinterpret_cast<const char*>(data), size), "/fuzz/tierwatch.yaml");
  for (const auto& e : r.errors) (void)e.ToString();
  return 0;
}
