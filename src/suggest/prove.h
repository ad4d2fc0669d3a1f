// The proofs `tierwatch suggest` runs on its own output before anyone trusts it:
//
//  1. Reparse: every written file goes through tierwatch's policy parser; a schema error
//     (lint TW009) in a suggestion fails.
//  2. Closure: the policies in force (or the assumed target) plus the suggestions allow
//     every input connection — what `tierwatch simulate --policies EXISTING DIR --baseline
//     FILE` reports as zero drops.
//  3. Least privilege: the suggestions allow no (workload, destination, protocol, port) that
//     is not in the input. Negative connections are generated per suggested rule — the
//     neighbouring ports and the other protocol, other workloads of the peer's and of the
//     subject's namespace, the same labels in another namespace, a sibling DNS name, the next
//     address, another entity — and each must stay denied at that side unless the policies
//     in force already allowed it. Declared widenings (a DNS rule added for toFQDNs, FQDN
//     patterns, a selector that cannot single a workload out) are listed, not failed.
//  4. Lint: `tierwatch policy lint` over existing + suggested reports no error in the
//     suggestions, and no error the existing policies did not already have.
//
//   ProofReport proof = Prove(connections, set, files, tiers, options, "suggestions/");
//   std::cout << RenderProof(proof);
//   if (!proof.ok()) return 1;
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "baseline/baseline.h"
#include "flow/connection.h"
#include "policy/lint.h"
#include "policy/parser.h"
#include "suggest/render.h"
#include "suggest/suggest.h"
#include "tier/tier_model.h"

namespace tw::suggest {

struct ProofItem {
  flow::ConnectionKey key;
  std::string what;  // the side and why
};

struct ProofReport {
  // Reparse.
  size_t files_parsed = 0;
  std::vector<tw::Diagnostic> parse_errors;
  // Closure.
  uint64_t closure_checked = 0;
  uint64_t closure_allowed = 0;
  uint64_t still_denied_count = 0;
  std::vector<ProofItem> still_denied;  // the first ones
  std::vector<ProofItem> undecided;     // not drops; listed
  // Least privilege.
  uint64_t negatives_checked = 0;
  std::vector<ProofItem> violations;  // allowed by a suggestion, not in the input
  std::vector<ProofItem> declared;    // allowed by a declared widening
  // Lint.
  std::vector<tw::Diagnostic> lint_errors;           // new errors (suggestions' doing)
  std::vector<tw::Diagnostic> lint_errors_existing;  // the existing set had them already
  size_t lint_warnings = 0;
  bool lint_skipped = false;  // more policies than SuggestOptions::max_lint_policies
  size_t lint_policies = 0;   // policies linted (or that would have been)

  bool closure_ok() const { return still_denied_count == 0; }
  bool ok() const {
    return parse_errors.empty() && closure_ok() && violations.empty() && lint_errors.empty();
  }
};

// `file_prefix` is put before each file's path in messages ("suggestions/").
ProofReport Prove(const baseline::Baseline& connections, const SuggestionSet& set,
                  const std::vector<OutputFile>& files, const tier::TierModel& tiers,
                  const SuggestOptions& options, const std::string& file_prefix = "");

// The tier model's facts as the linter takes them (policy/ does not include tier/): for
// `policy lint --tiers` and the proofs' lint, one conversion.
policy::LintOptions LintOptionsFor(const tier::TierModel& tiers);

// A human summary of the proofs (each line starts with "closure", "least privilege", ...).
std::string RenderProof(const ProofReport& proof, size_t max_listed = 20);

}  // namespace tw::suggest
