// Loading what the classifier judges against — the tier model, the baseline and the policy
// set — from the paths a command line or config names, with the errors an operator can act
// on (file:line). `tierwatch analyze`, `tierwatch simulate` and the daemon share it.
//
//   tw::flow::SymbolTable symbols;
//   auto inputs = tw::classify::LoadInputs({.tiers = "tiers.yaml", .baseline = "b.twb",
//                                            .policies = {"deploy/network-policies/app"}},
//                                           symbols);
//   if (!inputs.ok()) { std::cerr << inputs.status().message(); return 2; }
//   tw::classify::DropAnalyzer analyzer(inputs->context());
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "baseline/baseline.h"
#include "classify/classifier.h"
#include "policy/evaluator.h"
#include "policy/parser.h"
#include "tier/tier_model.h"

namespace tw::classify {

struct InputPaths {
  std::string tiers;                  // "" = the default tier model
  std::string baseline;               // "" = none; a snapshot or an exported document
  std::vector<std::string> policies;  // empty = none
};

struct Inputs {
  std::unique_ptr<tier::TierModel> tiers;
  std::unique_ptr<baseline::Baseline> baseline;      // null without --baseline
  std::unique_ptr<policy::LoadedPolicies> policies;  // null without --policies
  std::unique_ptr<policy::Evaluator> evaluator;      // null without --policies
  flow::SymbolTable* symbols = nullptr;
  // Non-error policy diagnostics (warnings, skipped documents) for the caller to show.
  std::vector<tw::Diagnostic> policy_notes;

  ClassifierContext context() const {
    return ClassifierContext{tiers.get(), baseline.get(), evaluator.get(), symbols};
  }
};

// Fails (InvalidArgument/NotFound/DataLoss/...) when a file cannot be read or parsed; a
// policy set with any error-severity diagnostic fails too, listing every error as
// "file:line: error: ..." — the verdicts would otherwise describe a set Cilium would not run.
absl::StatusOr<Inputs> LoadInputs(const InputPaths& paths, flow::SymbolTable& symbols);

}  // namespace tw::classify
