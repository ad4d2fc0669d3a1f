// One problem found in an input an operator wrote: a config file, a tier model, a policy
// file, a lint finding. Every reader and the linter report this one type, so every command
// prints problems the same way and `-o json` gives them the same keys.
//
//   std::vector<tw::Diagnostic> diags;
//   diags.push_back({tw::Severity::kError, "tiers.yaml", 7, 3, "tiers.tier0.namespaces",
//                    "", "expected a list of namespace names"});
//   std::cerr << diags[0].ToString() << "\n";
//   // tiers.yaml:7:3: error: tiers.tier0.namespaces: expected a list of namespace names
//   return tw::DiagnosticsToStatus(diags);   // InvalidArgument, one diagnostic a line
//
// Text is the compilers' "file:line:column: severity: message" form, so editors and CI
// annotators that read gcc output jump to the place. A lint finding adds its rule:
//   policies/web.yaml:12: error: [TW004 one-way] shop/web: ...
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace tw {

enum class Severity : uint8_t { kError = 0, kWarning = 1, kInfo = 2 };
absl::string_view SeverityName(Severity s);  // "error", "warning", "info"

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;  // as the operator named it; "" when no file is meant
  int line = 0;      // 1-based; 0 = the whole file or unknown
  int column = 0;    // 1-based; 0 = unknown
  // What in the file is meant, as the operator would name it: a YAML path
  // ("relay.filters[0].verdict") or a policy ("shop/web"); "" for the file as a whole.
  std::string path;
  // A stable id tools and docs can refer to ("TW004"), and its short name for people
  // ("one-way"); both "" for plain input errors.
  std::string code;
  std::string code_name;
  std::string message;

  // A problem at file:line[:column]; Error is the one most readers report.
  static Diagnostic At(Severity severity, std::string file, int line, std::string message,
                       int column = 0);
  static Diagnostic Error(std::string file, int line, std::string message, int column = 0) {
    return At(Severity::kError, std::move(file), line, std::move(message), column);
  }

  // "file:line:column: severity: [code code_name] path: message", parts omitted when empty.
  std::string ToString() const;
  // {"severity","file","line","column","path","code","code_name","message"}; file, line,
  // column, path and code are null when unknown, so a consumer never mistakes 0 or "" for a value.
  nlohmann::ordered_json ToJson() const;
};

bool HasErrors(const std::vector<Diagnostic>& diagnostics);
int ErrorCount(const std::vector<Diagnostic>& diagnostics);

// The order problems are read in: file, line, column, then code and path.
bool DiagnosticLess(const Diagnostic& a, const Diagnostic& b);

// Every diagnostic as one InvalidArgument status, one ToString() a line, in DiagnosticLess
// order; OK when `diagnostics` is empty.
absl::Status DiagnosticsToStatus(std::vector<Diagnostic> diagnostics);

}  // namespace tw
