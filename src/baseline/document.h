// The documented baseline (story FR24): a stable, sorted, reviewable YAML or JSON document
// of a baseline's connections, to commit to Git and compare later traffic against.
//
//   std::string yaml = tw::baseline::ExportBaselineDocument(baseline, DocumentFormat::kYaml);
//   absl::StatusOr<Baseline> b = tw::baseline::ParseBaselineDocument(text, "baseline.yaml",
//   symbols);
//
// Shape (JSON uses the same keys):
//
//   apiVersion: tierwatch.io/v1
//   kind: TierwatchBaseline
//   metadata:
//     generatedFrom: capture:before.jsonl
//     timeRange: {from: "2026-11-20T08:00:00Z", to: "2026-11-27T08:00:00Z"}
//     connections: 2
//   connections:
//     - source: {namespace: business, workload: odoo}
//       destination: {namespace: business, workload: postgres}
//       protocol: TCP
//       port: 5432
//       firstSeen: "2026-11-20T08:00:01Z"
//       lastSeen: "2026-11-27T07:59:58Z"
//       count: 1234
//       nodes: [node-a, node-b]
//       verdicts: [FORWARDED]
//       byIpOnly: false
//     - source: {namespace: cert-manager, workload: cert-manager}
//       destination: {fqdn: acme-v02.api.letsencrypt.org}     # or {entity: world}, {ip: ...}
//       ...
//   workloads:                         # the labels policies select workloads by
//     - namespace: business
//       workload: odoo
//       serviceAccount: odoo
//       labels: [k8s:app.kubernetes.io/name=odoo, k8s:io.kubernetes.pod.namespace=business, ...]
//
// Connections are sorted by source, destination, protocol, port; the document carries no
// export time, so exporting the same baseline twice gives the same bytes. When parsing, only
// source, destination, protocol and port are required (hand-written entries are fine);
// every problem is reported with file:line. `workloads` is optional (documents exported before
// tierwatch kept labels have none; their workloads then have no known labels).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "baseline/baseline.h"
#include "nlohmann/json.hpp"

namespace tw::baseline {

inline constexpr absl::string_view kDocumentApiVersion = "tierwatch.io/v1";
inline constexpr absl::string_view kDocumentKind = "TierwatchBaseline";

enum class DocumentFormat { kYaml, kJson };

std::string ExportBaselineDocument(const Baseline& baseline, DocumentFormat format);

// YAML or JSON text (JSON is read as YAML). `name` is the file, for messages.
absl::StatusOr<Baseline> ParseBaselineDocument(absl::string_view text, absl::string_view name,
                                               flow::SymbolTable& symbols);

// The JSON objects used by the document, diff and audit output.
nlohmann::ordered_json PeerJson(const flow::Peer& peer);
nlohmann::ordered_json ConnectionJson(const ConnectionRecord& record);

}  // namespace tw::baseline
