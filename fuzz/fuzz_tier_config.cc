// Fuzzes the tier model parser (tier/tier_config.h, tiers.yaml): a TierOptions or
// diagnostics, never an exception or a crash.
#include "tier/tier_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<tw::Diagnostic> diags;
  auto r = tw::tier::ParseTierConfig(absl::string_view(reinterpret_cast<const char*>(data), size),
                                     "tiers.yaml", &diags);
  for (const auto& d : diags) (void)d.ToString();
  return 0;
}
