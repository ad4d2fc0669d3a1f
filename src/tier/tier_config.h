// Loading the tier model from YAML (config/tiers.yaml documents the format and holds the
// defaults). Every problem is reported, each with file:line:column, not just the first:
//
//   std::vector<tw::tier::Diagnostic> diags;
//   absl::StatusOr<tw::tier::TierModel> model = tw::tier::LoadTierModel("tiers.yaml", &diags);
//   if (!model.ok()) {
//     std::cerr << model.status().message();   // "3 errors in tiers.yaml:\ntiers.yaml:4:7: ..."
//   }
//
// Sections left out keep their defaults; within a section, fields left out keep theirs.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/diagnostic.h"
#include "tier/tier_model.h"

namespace tw::tier {

// Parses YAML text (`file` names it in messages). On any problem returns InvalidArgument
// whose message lists every diagnostic, one a line; `diagnostics` (optional) receives them.
absl::StatusOr<TierOptions> ParseTierConfig(absl::string_view yaml, absl::string_view file,
                                            std::vector<Diagnostic>* diagnostics = nullptr);

// Reads and parses a file and builds the model. NotFound when the file is missing.
absl::StatusOr<TierModel> LoadTierModel(const std::string& path,
                                        std::vector<Diagnostic>* diagnostics = nullptr);

}  // namespace tw::tier
