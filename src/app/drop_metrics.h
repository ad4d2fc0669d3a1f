// DropMetricsHandler: classified drops as Prometheus series — counted exactly as
// `tierwatch analyze` counts them (a drop event and its policy-verdict twin are one drop),
// because it sees the same counted drops the run summary aggregates.
//
//   tw::app::DropMetricsHandler drop_metrics(scope, {.max_namespaces = 200});
//   auto classifier = MakeClassifierHandler(..., {&ring, &drop_metrics});
//
// Series (docs/metrics.md):
//   tierwatch_drops_total{class,severity,tier,direction,namespace,predicted}
//     tier, direction and namespace are the enforcing endpoint's: tier "0".."2" (Cilium's
//     health/ingress endpoints are Tier 0), "entity" (world, host, ...) or "unknown";
//     direction "egress" (enforced at the source) or "ingress" (at the destination);
//     namespace as the run summary names it ("business", "(world)"); predicted "true" for
//     AUDIT ("would be dropped").
//   tierwatch_dropped_connections{class,severity}   distinct connections per class
//   tierwatch_baseline_regressions                  distinct baseline connections now dropped
//
// Cardinality: namespace takes at most `max_namespaces` values (first seen, first kept);
// drops of any further namespace count under namespace="_other". Distinct connections are
// tracked up to `max_connections_per_class` per class, as the aggregator does.
//
// Worker thread only (DropHandlers run there); the prometheus handles are atomics, read
// by /metrics from the HTTP threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "app/handler.h"
#include "metrics/label_cap.h"
#include "metrics/scope.h"

namespace tw::app {

struct DropMetricsOptions {
  size_t max_namespaces = 200;
  size_t max_connections_per_class = 10000;
};

class DropMetricsHandler final : public DropHandler {
 public:
  explicit DropMetricsHandler(metrics::Scope& scope, DropMetricsOptions options = {});
  void OnDrop(const std::shared_ptr<const classify::Classification>& drop) override;

  size_t series() const { return counters_.size(); }  // tierwatch_drops_total series so far

  // The label values (tests, docs).
  static std::string TierLabel(const classify::TierInfo& tier);
  static std::string DirectionLabel(classify::Side side);

 private:
  struct Key {
    uint8_t drop_class;
    uint8_t tier;
    uint8_t direction;
    bool predicted;
    uint32_t ns;
    friend bool operator==(const Key& a, const Key& b) {
      return a.drop_class == b.drop_class && a.tier == b.tier && a.direction == b.direction &&
             a.predicted == b.predicted && a.ns == b.ns;
    }
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.drop_class, k.tier, k.direction, k.predicted, k.ns);
    }
  };

  uint32_t NamespaceIndex(const std::string& ns);

  const DropMetricsOptions options_;
  prometheus::Family<prometheus::Counter>& drops_;
  std::array<prometheus::Gauge*, classify::kDropClassCount> connection_gauges_{};
  prometheus::Gauge& regressions_;
  metrics::LabelCap namespaces_;
  absl::flat_hash_map<std::string, uint32_t> ns_index_;  // namespace -> index in ns_labels_
  std::vector<const std::string*> ns_labels_;            // label value per index
  absl::flat_hash_map<const std::string*, uint32_t> label_index_;
  absl::flat_hash_map<Key, prometheus::Counter*> counters_;
  std::array<absl::flat_hash_set<uint64_t>, classify::kDropClassCount> connections_;
};

}  // namespace tw::app
