// `tierwatch policy lint`: finds the mistakes a zero-trust Cilium policy set makes when its
// policies are combined — an allow that allows nothing, default-deny switched on for Tier 0,
// toFQDNs without DNS visibility, one-way allows, and more (the TW0xx rules below).
//
//   absl::StatusOr<tw::policy::LoadedPolicies> r =
//   tw::policy::LoadPolicies({"deploy/network-policies"}); tw::policy::LintOptions opts;  // the
//   story's tier model by default tw::policy::LintFindings f = tw::policy::Lint(*r, opts); for
//   (const auto& x : f) std::cout << x.ToString() << "\n"; bool gate_failed = tw::HasErrors(f);
//
// The rules reason over selectors and rules, never over policy names: the linter builds a
// small symbolic cluster from the set itself — one representative endpoint per distinct
// way the set's selectors can see a pod, in every namespace the set or the tier model
// mentions plus an unnamed Tier 2 namespace, each also with the debug-bypass label, plus
// Cilium's reserved endpoints — and asks the policy evaluator (evaluator.h) about those
// representatives where a concrete probe is simplest. Renaming policies or reordering
// documents and files does not change the findings.
//
// The linter is told the tier model as plain lists (LintOptions); it does not include
// src/tier. Findings point at the rule most responsible (the toFQDNs element, the one-way
// allow, the UDP-only port, the differing exclusion list), with file:line. docs/lint.md
// describes every rule with examples.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/tier_defaults.h"
#include "policy/parser.h"
#include "policy/types.h"

namespace tw::policy {

// The facts of the tier model the rules need. Defaults: the story's model.
struct LintOptions {
  // Never policed: a policy that can select pods here must not switch default-deny on.
  std::vector<std::string> tier0_namespaces = defaults::Strings(defaults::kTier0Namespaces);
  // Shell globs over namespace names that are Tier 0 too ("cilium-*"). A NotIn list cannot
  // name them, so TW006 compares lists against tier0_namespaces only.
  std::vector<std::string> tier0_patterns;
  // Controlled access (used to build representative endpoints and in messages).
  std::vector<std::string> tier1_namespaces = defaults::Strings(defaults::kTier1Namespaces);
  std::vector<std::string> tier1_patterns;
  // Namespaces whose controllers need the kube-apiserver (TW008).
  std::vector<std::string> controller_namespaces =
      defaults::Strings(defaults::kApiserverEgressNamespaces);
  // kube-apiserver backend ports (policy sees the port after service translation).
  std::vector<uint16_t> apiserver_ports = {6443, 443};
  // The DNS service: its namespace, pod labels (key without source, value) and ports.
  std::string dns_namespace = std::string(defaults::kDnsNamespace);
  std::vector<std::pair<std::string, std::string>> dns_labels = {
      {std::string(defaults::kDnsLabelKey), std::string(defaults::kDnsLabelValue)}};
  std::vector<uint16_t> dns_ports = {defaults::kDnsPort};
  // The debug-bypass pod label (key without source, value).
  std::string bypass_label_key = std::string(defaults::kBypassLabelKey);
  std::string bypass_label_value = std::string(defaults::kBypassLabelValue);

  // Whether a namespace is Tier 0 (listed or matching a pattern).
  bool IsTier0(absl::string_view ns) const;
};

// A lint finding is a Diagnostic: code is the rule id ("TW004"), code_name its name
// ("one-way"), path the policy's DisplayName() ("" for file-level findings).
using LintFindings = std::vector<Diagnostic>;

// The rule catalogue (id, name, default severity, one-line summary), in id order.
struct LintRuleInfo {
  absl::string_view id;
  absl::string_view name;
  Severity severity;
  absl::string_view summary;
};
const std::vector<LintRuleInfo>& LintRules();

// Lints a set of valid policies (TW001-TW008, TW010). Findings are sorted by file, line,
// rule id and policy.
LintFindings Lint(const PolicySet& policies, const LintOptions& options = {});

// Lints what LoadPolicies() returned: the parser's error diagnostics become TW009 (schema)
// findings, and the valid policies are linted as above (rejected ones are left out).
LintFindings Lint(const LoadedPolicies& loaded, const LintOptions& options = {});

// Counts per severity.
struct LintSummary {
  int errors = 0;
  int warnings = 0;
  int infos = 0;
};
LintSummary Summarize(const LintFindings& findings);

}  // namespace tw::policy
