// Fuzzes the policy YAML parser (policy/parser.h): every input becomes policies and
// diagnostics; nothing throws, nothing grows without bound (YAML alias bombs).
#include "policy/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tw::policy::LoadedPolicies out;
  tw::policy::ParsePolicyText(absl::string_view(reinterpret_cast<const char*>(data), size),
                              "fuzz.yaml", out);
  for (const auto& d : out.diagnostics) (void)d.ToString();
  return 0;
}
