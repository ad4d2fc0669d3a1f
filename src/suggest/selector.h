// Choosing a workload's selector from its stable labels: the smallest set of
// app.kubernetes.io/name, app.kubernetes.io/instance, app, k8s-app, name, version and the
// service-account label that every pod of the workload carries and that no other workload
// seen in its namespace carries in full. Never pod-template-hash, controller-revision-hash,
// statefulset pod names or IPs (the baseline does not even keep the per-pod labels).
//
//   SelectorChooser chooser(baseline);   // indexes every labelled workload by namespace
//   std::optional<SelectorChoice> c = chooser.Choose(Peer::Workload(ns, "reviews-v2"));
//   // bookinfo: reviews-v1/v2/v3 share app=reviews -> {app: reviews, version: v2}
//
// `version` only ever refines an identifying label (app=reviews, version=v2), never selects
// on its own. Endpoint.workloads names (reviews-v2) are not labels: when no stable label tells two
// workloads apart, the service account usually does; when nothing does, the choice is all
// stable labels, marked not unique, with the other workloads it also selects.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "baseline/baseline.h"
#include "flow/connection.h"
#include "suggest/suggest.h"

namespace tw::suggest {

// The stable label keys, in order of preference.
const std::vector<std::string>& StableLabelKeys();
inline constexpr absl::string_view kServiceAccountKey = "io.cilium.k8s.policy.serviceaccount";
inline constexpr absl::string_view kNamespaceKey = "k8s:io.kubernetes.pod.namespace";

struct SelectorChoice {
  std::vector<MatchLabel> labels;  // keys without the "k8s:" source, in preference order
  bool unique = true;
  std::vector<flow::Peer> also_selects;  // other workloads of the namespace (when !unique)
  // The workload's labels are unknown (seen only through Cilium's L7 proxy, which reports the
  // world identity without labels, or a baseline from before labels were kept): `labels` is
  // empty and the rule selects its whole namespace, a declared widening.
  bool labels_unknown = false;
};

class SelectorChooser {
 public:
  explicit SelectorChooser(const baseline::Baseline& b);

  // nullopt when the workload carries no stable label at all, or its labels and its
  // namespace are both unknown (`why` says which). Unknown labels in a known namespace give
  // the namespace-wide choice (`labels_unknown`).
  std::optional<SelectorChoice> Choose(const flow::Peer& workload,
                                       std::string* why = nullptr) const;

  // The other labelled workloads of a namespace (sorted), for negative probes.
  std::vector<flow::Peer> WorkloadsIn(absl::string_view ns) const;
  // Every namespace with a labelled workload, sorted.
  std::vector<std::string> Namespaces() const;

 private:
  struct Known {
    flow::Peer peer;
    absl::Span<const flow::Symbol> labels;
  };
  const baseline::Baseline& baseline_;
  absl::flat_hash_map<std::string, std::vector<Known>> by_namespace_;
};

// Whether a label set ("k8s:app=x", ...) satisfies every matchLabel (plain keys match any
// source, as Cilium's `any:`; "k8s:"-prefixed keys only k8s labels).
bool LabelsMatch(absl::Span<const flow::Symbol> labels, const std::vector<MatchLabel>& selector);

}  // namespace tw::suggest
