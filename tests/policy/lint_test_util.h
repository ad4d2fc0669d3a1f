// Helpers for the lint tests: lint inline YAML or a directory, and look findings up.
#pragma once

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "policy/lint.h"
#include "policy/parser.h"

namespace tw::policy::lint_testing {

inline LintFindings LintYaml(const std::string& yaml, const LintOptions& opts = {},
                             const std::string& file = "test.yaml") {
  LoadedPolicies r = ParsePolicyText(yaml, file);
  return Lint(r, opts);
}

inline std::vector<const Diagnostic*> With(const LintFindings& f, const std::string& rule,
                                           const std::string& policy = "") {
  std::vector<const Diagnostic*> out;
  for (const auto& x : f)
    if (x.code == rule && (policy.empty() || x.path == policy)) out.push_back(&x);
  return out;
}

inline bool Has(const LintFindings& f, const std::string& rule, const std::string& policy = "") {
  return !With(f, rule, policy).empty();
}

inline std::string Dump(const LintFindings& f) {
  std::string s;
  for (const auto& x : f) s += x.ToString() + "\n";
  return s.empty() ? "(no findings)\n" : s;
}

// The text of a file's line (1-based), trimmed; "" when out of range.
inline std::string LineText(const std::string& file, int line) {
  std::ifstream in(file);
  std::string l;
  for (int i = 1; std::getline(in, l); ++i) {
    if (i == line) {
      size_t b = l.find_first_not_of(" \t");
      size_t e = l.find_last_not_of(" \t\r");
      return b == std::string::npos ? "" : l.substr(b, e - b + 1);
    }
  }
  return "";
}

}  // namespace tw::policy::lint_testing
