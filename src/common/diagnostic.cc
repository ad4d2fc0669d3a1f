#include "common/diagnostic.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/check.h"

namespace tw {

absl::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kInfo:
      return "info";
  }
  TW_UNREACHABLE("Severity ", static_cast<int>(s));
}

Diagnostic Diagnostic::At(Severity severity, std::string file, int line, std::string message,
                          int column) {
  Diagnostic d;
  d.severity = severity;
  d.file = std::move(file);
  d.line = line;
  d.column = column;
  d.message = std::move(message);
  return d;
}

std::string Diagnostic::ToString() const {
  std::string out = file;
  if (!file.empty() && line > 0) {
    absl::StrAppend(&out, ":", line);
    if (column > 0) absl::StrAppend(&out, ":", column);
  }
  if (!out.empty()) out += ": ";
  absl::StrAppend(&out, SeverityName(severity), ": ");
  if (!code.empty()) {
    absl::StrAppend(&out, "[", code, code_name.empty() ? "" : " ", code_name, "] ");
  }
  if (!path.empty()) absl::StrAppend(&out, path, ": ");
  out += message;
  return out;
}

nlohmann::ordered_json Diagnostic::ToJson() const {
  using J = nlohmann::ordered_json;
  auto text_or_null = [](const std::string& s) { return s.empty() ? J(nullptr) : J(s); };
  auto number_or_null = [](int n) { return n > 0 ? J(n) : J(nullptr); };
  J j;
  j["severity"] = std::string(SeverityName(severity));
  j["file"] = text_or_null(file);
  j["line"] = number_or_null(line);
  j["column"] = number_or_null(column);
  j["path"] = text_or_null(path);
  j["code"] = text_or_null(code);
  j["code_name"] = text_or_null(code_name);
  j["message"] = message;
  return j;
}

bool HasErrors(const std::vector<Diagnostic>& diagnostics) { return ErrorCount(diagnostics) > 0; }

int ErrorCount(const std::vector<Diagnostic>& diagnostics) {
  return static_cast<int>(
      std::count_if(diagnostics.begin(), diagnostics.end(),
                    [](const Diagnostic& d) { return d.severity == Severity::kError; }));
}

bool DiagnosticLess(const Diagnostic& a, const Diagnostic& b) {
  return std::tie(a.file, a.line, a.column, a.code, a.path) <
         std::tie(b.file, b.line, b.column, b.code, b.path);
}

absl::Status DiagnosticsToStatus(std::vector<Diagnostic> diagnostics) {
  if (diagnostics.empty()) return absl::OkStatus();
  std::stable_sort(diagnostics.begin(), diagnostics.end(), DiagnosticLess);
  return absl::InvalidArgumentError(absl::StrJoin(
      diagnostics, "\n", [](std::string* out, const Diagnostic& d) { out->append(d.ToString()); }));
}

}  // namespace tw
