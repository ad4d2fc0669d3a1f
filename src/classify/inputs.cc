#include "classify/inputs.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "baseline/persist.h"
#include "tier/tier_config.h"

namespace tw::classify {

absl::StatusOr<Inputs> LoadInputs(const InputPaths& paths, flow::SymbolTable& symbols) {
  Inputs in;
  in.symbols = &symbols;
  if (paths.tiers.empty()) {
    in.tiers = std::make_unique<tier::TierModel>();
  } else {
    auto model = tier::LoadTierModel(paths.tiers);
    if (!model.ok()) return model.status();
    in.tiers = std::make_unique<tier::TierModel>(*std::move(model));
  }
  if (!paths.baseline.empty()) {
    auto b = baseline::LoadBaselineAny(paths.baseline, symbols);
    if (!b.ok()) return b.status();
    in.baseline = std::make_unique<baseline::Baseline>(*std::move(b));
  }
  if (!paths.policies.empty()) {
    auto loaded = policy::LoadPolicies(paths.policies);
    if (!loaded.ok()) return loaded.status();
    std::vector<std::string> errors;
    for (const tw::Diagnostic& d : loaded->diagnostics) {
      if (d.severity == tw::Severity::kError) {
        errors.push_back(d.ToString());
      } else if (d.severity == tw::Severity::kWarning) {
        in.policy_notes.push_back(d);
      }
    }
    if (!errors.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(errors.size(), " error", errors.size() == 1 ? "" : "s", " in the policies (",
                       "fix them or run `tierwatch policy lint`):\n", absl::StrJoin(errors, "\n")));
    }
    if (loaded->policies.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "no CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or NetworkPolicy found in ",
          absl::StrJoin(paths.policies, " ")));
    }
    in.policies = std::make_unique<policy::LoadedPolicies>(*std::move(loaded));
    in.evaluator = std::make_unique<policy::Evaluator>(in.policies->policies);
  }
  return in;
}

}  // namespace tw::classify
