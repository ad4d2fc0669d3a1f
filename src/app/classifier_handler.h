// The watch-mode handler: every DROPPED/AUDIT flow classified (class, severity,
// explanation, policy attribution) against the tier model, the learned baseline and the
// policies, each denied packet counted once (a drop event and its policy-verdict twin are
// one drop) — the same pieces, in the same order, as `tierwatch analyze` (DropClassifier,
// DropStream, DropAggregator, BypassTracker). Each counted drop then goes to the
// DropHandlers: the recent-drops ring and the drop metrics.
//
//   auto c = tw::app::MakeClassifierHandler(config, symbols, learner->baseline(), scope,
//                                           {&ring, &drop_metrics});
//   if (!c.ok()) ...;                        // unreadable tier file or policies: bad input
//   observer.AddHandler(c->get(), tw::app::Activity::kWatch);
//
// Drops carry their full reasoning (DropStream's explain), so /api/v1/drops/{id} and
// `tierwatch explain` print exactly what `tierwatch analyze --explain ID` prints.
// The baseline is the learner's live object: read on the same worker thread that (in
// learn mode) writes it, so no copy and no lock.
//
// Metrics: tierwatch_bypassed_endpoints, tierwatch_bypass_oldest_seconds (refreshed when
// read).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "app/handler.h"
#include "baseline/baseline.h"
#include "config/config.h"
#include "flow/symbol.h"
#include "metrics/scope.h"

namespace tw::app {

// Builds the watch-mode handler (a test seam: fakes need not classify anything).
using ClassifierFactory = std::function<absl::StatusOr<std::unique_ptr<FlowHandler>>(
    const config::DaemonConfig& config, flow::SymbolTable& symbols,
    const baseline::Baseline* baseline, metrics::Scope& scope,
    std::vector<DropHandler*> drop_handlers)>;

// Loads the tier model (config.tiers, "" = built-in) and the policies (config.policies);
// `baseline` may be null (no baseline: nothing is a regression).
absl::StatusOr<std::unique_ptr<FlowHandler>> MakeClassifierHandler(
    const config::DaemonConfig& config, flow::SymbolTable& symbols,
    const baseline::Baseline* baseline, metrics::Scope& scope,
    std::vector<DropHandler*> drop_handlers);

}  // namespace tw::app
