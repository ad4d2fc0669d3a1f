#include "app/drop_metrics.h"

#include "absl/hash/hash.h"
#include "app/summary.h"

namespace tw::app {

namespace {
constexpr const char* kTierLabels[] = {"0", "1", "2", "entity", "unknown"};
constexpr const char* kDirectionLabels[] = {"egress", "ingress"};

uint8_t TierIndex(const classify::TierInfo& t) {
  switch (t.kind) {
    case tier::TierKind::kNamespace:
      return t.level >= 0 && t.level <= 2 ? static_cast<uint8_t>(t.level) : 4;
    case tier::TierKind::kCiliumReserved:
      return 0;  // Cilium's health and ingress endpoints: Tier 0 (classifier rule 4)
    case tier::TierKind::kEntity:
      return 3;
    case tier::TierKind::kUnknown:
      return 4;
  }
  return 4;
}
}  // namespace

std::string DropMetricsHandler::TierLabel(const classify::TierInfo& tier) {
  return kTierLabels[TierIndex(tier)];
}

std::string DropMetricsHandler::DirectionLabel(classify::Side side) {
  return kDirectionLabels[side == classify::Side::kSource ? 0 : 1];
}

DropMetricsHandler::DropMetricsHandler(metrics::Scope& scope, DropMetricsOptions options)
    : options_(options),
      drops_(scope.CounterFamily(
          "tierwatch_drops_total",
          "Classified drops, counted as `tierwatch analyze` counts them (a drop event and its "
          "policy-verdict twin are one). tier, direction and namespace are the enforcing "
          "endpoint's; predicted=\"true\" for AUDIT (would be dropped).")),
      regressions_(scope.Gauge("tierwatch_baseline_regressions",
                               "Distinct connections of the baseline that are now dropped "
                               "(class baseline_regression): they used to work.")),
      namespaces_(options.max_namespaces) {
  auto& conns = scope.GaugeFamily(
      "tierwatch_dropped_connections",
      "Distinct connections (source -> destination:port/protocol) with drops, by class.");
  for (classify::DropClass c : classify::AllDropClasses()) {
    connection_gauges_[static_cast<int>(c)] =
        &conns.Add({{"class", std::string(classify::DropClassName(c))},
                    {"severity", std::string(classify::SeverityName(classify::SeverityOf(c)))}});
  }
}

uint32_t DropMetricsHandler::NamespaceIndex(const std::string& ns) {
  auto it = ns_index_.find(ns);
  if (it != ns_index_.end()) return it->second;
  const std::string& label = namespaces_.Admit(ns);
  // Every folded namespace shares the index of "_other".
  auto [li, fresh] = label_index_.try_emplace(&label, static_cast<uint32_t>(ns_labels_.size()));
  if (fresh) ns_labels_.push_back(&label);
  // Folded names are remembered too, but only so many: a namespace flood must not grow
  // memory without bound (beyond it, a folded name costs one more LabelCap lookup).
  if (ns_index_.size() < 4 * options_.max_namespaces + 1024) ns_index_.emplace(ns, li->second);
  return li->second;
}

void DropMetricsHandler::OnDrop(const std::shared_ptr<const classify::Classification>& drop) {
  const classify::Classification& c = *drop;
  const int ci = static_cast<int>(c.drop_class);
  Key key{static_cast<uint8_t>(ci), TierIndex(c.enforcing().tier),
          static_cast<uint8_t>(c.enforcing_side == classify::Side::kSource ? 0 : 1), c.predicted,
          NamespaceIndex(NamespaceOrEntity(c.enforcing_endpoint()))};
  auto it = counters_.find(key);
  if (it == counters_.end()) {
    prometheus::Counter& counter =
        drops_.Add({{"class", std::string(classify::DropClassName(c.drop_class))},
                    {"severity", std::string(classify::SeverityName(c.severity))},
                    {"tier", kTierLabels[key.tier]},
                    {"direction", kDirectionLabels[key.direction]},
                    {"namespace", *ns_labels_[key.ns]},
                    {"predicted", c.predicted ? "true" : "false"}});
    it = counters_.emplace(key, &counter).first;
  }
  it->second->Increment();

  // Distinct connections, keyed as the aggregator keys them.
  auto& seen = connections_[ci];
  if (seen.size() < options_.max_connections_per_class &&
      seen.insert(absl::HashOf(c.ConnectionText())).second) {
    connection_gauges_[ci]->Set(static_cast<double>(seen.size()));
    if (c.drop_class == classify::DropClass::kBaselineRegression) {
      regressions_.Set(static_cast<double>(seen.size()));
    }
  }
}

}  // namespace tw::app
