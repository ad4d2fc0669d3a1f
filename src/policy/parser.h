// Reading CNP/CCNP/KNP YAML into the policy model (types.h), with every schema error
// collected as a Diagnostic carrying file:line and the policy name.
//
//   absl::StatusOr<tw::policy::LoadResult> r = tw::policy::LoadPolicies({"policies/"});
//   if (!r.ok()) ...;                      // a path that cannot be read (NotFound, ...)
//   for (const auto& d : r->diagnostics) std::cerr << d.ToString() << "\n";
//   tw::policy::Evaluator eval(r->policies);
//
// Files and directories (recursive, *.yaml / *.yml, sorted by path), multi-document YAML.
// Each document is parsed on its own, so a YAML syntax error or a schema error in one
// document never hides the others. A policy with an error-severity diagnostic is left out
// of `policies` (it would not be admitted by the apiserver/agent) and kept in `rejected`.
// Flux `Kustomization` (kustomize.toolkit.fluxcd.io) and kustomize `kustomization.yaml`
// files are recognised and skipped with an info; other kinds are skipped with an info.
//
// What is validated (Cilium rule_validation.go and the CRD schema, 1.17/1.18): unknown
// fields at every level; exactly one of endpointSelector/nodeSelector; no nodeSelector in
// a CNP; at least one non-empty ingress/ingressDeny/egress/egressDeny (1.17+); one L3 peer
// kind per element; icmps not together with toPorts; ports 0-65535 or a name; protocol
// TCP/UDP/SCTP/ANY; endPort >= port; DNS rules only on egress, with an explicit port 53 and
// no range; no toFQDNs in egressDeny; no L7 in deny rules; entity names from the CRD enum;
// CIDRs and except prefixes (except inside its cidr); selector operators and values.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/types.h"

namespace tw::policy {

enum class Severity : uint8_t { kError = 0, kWarning = 1, kInfo = 2 };
absl::string_view SeverityName(Severity s);  // "error", "warning", "info"

// One finding about an input file: a parse/schema error, a skipped document, a warning.
// The linter reuses this type for its findings (rule_id "TW00x").
struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;
  int line = 0;        // 1-based; 0 = whole file / unknown
  std::string policy;  // Policy::DisplayName() of the document, "" when unknown
  std::string message;
  std::string rule_id;  // "" for parser diagnostics; lint sets "TW009" etc.

  // "file:line: error: policy 'ns/name': message" (parts omitted when empty).
  std::string ToString() const;
};

struct LoadResult {
  PolicySet policies;            // valid policies, in file/document order
  std::vector<Policy> rejected;  // policies with error diagnostics (as far as parsed)
  std::vector<Diagnostic> diagnostics;
  std::vector<std::string> files;  // files read, in order
  int documents = 0;               // non-empty YAML documents seen
  int skipped_documents = 0;       // kustomizations, other kinds

  bool HasErrors() const;
  int ErrorCount() const;
};

// Loads files and directories. Fails (NotFound/PermissionDenied/...) only when a path
// cannot be read; everything wrong inside a file is a diagnostic.
absl::StatusOr<LoadResult> LoadPolicies(const std::vector<std::string>& paths);

// Parses one file's text (all its documents) into `out` (appends). `filename` is used for
// diagnostics, source locations and the kustomization.yaml name check.
void ParsePolicyText(absl::string_view text, absl::string_view filename, LoadResult& out);

// Convenience for tests: parses text and returns the result.
LoadResult ParsePolicyText(absl::string_view text, absl::string_view filename = "<inline>");

}  // namespace tw::policy
