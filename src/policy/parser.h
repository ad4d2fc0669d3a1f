// Reading CNP/CCNP/KNP YAML into the policy model (types.h), with every schema error
// collected as a Diagnostic carrying file:line and the policy name.
//
//   absl::StatusOr<tw::policy::LoadedPolicies> r = tw::policy::LoadPolicies({"policies/"});
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
#include "common/diagnostic.h"
#include "policy/types.h"

namespace tw::policy {

struct LoadedPolicies {
  PolicySet policies;                   // valid policies, in file/document order
  std::vector<Policy> rejected;         // policies with error diagnostics (as far as parsed)
  std::vector<Diagnostic> diagnostics;  // path = the policy's DisplayName(), once known
  std::vector<std::string> files;       // files read, in order
  int documents = 0;                    // non-empty YAML documents seen
  int skipped_documents = 0;            // kustomizations, other kinds

  bool HasErrors() const;
  int ErrorCount() const;
};

// Loads files and directories. Fails (NotFound/PermissionDenied/...) only when a path
// cannot be read; everything wrong inside a file is a diagnostic.
absl::StatusOr<LoadedPolicies> LoadPolicies(const std::vector<std::string>& paths);

// Parses one file's text (all its documents) into `out` (appends). `filename` is used for
// diagnostics, source locations and the kustomization.yaml name check.
void ParsePolicyText(absl::string_view text, absl::string_view filename, LoadedPolicies& out);

// Convenience for tests: parses text and returns the result.
LoadedPolicies ParsePolicyText(absl::string_view text, absl::string_view filename = "<inline>");

}  // namespace tw::policy
