// FlowMetricsHandler: the per-event metrics, on every event in both modes — events, flows
// by verdict, node status events, lost events by where they were lost, and how far behind
// the wall clock the stream runs. The run summary's matching fields (events, flows,
// by_verdict, lost_events, ...) are read back from these counters, so /metrics, the status
// API and the shutdown summary cannot disagree.
//
//   tw::app::FlowMetricsHandler metrics(scope, clock);
//   observer.AddHandler(&metrics, tw::app::Activity::kAlways);
//
// Series (docs/metrics.md): tierwatch_events_total, tierwatch_flows_total{verdict},
// tierwatch_node_status_events_total, tierwatch_lost_event_notices_total,
// tierwatch_relay_lost_events_total{source}, tierwatch_flow_lag_seconds (histogram).
// Known label values start at 0, so rate() and alerts work before the first occurrence.
//
// Cost: a handful of atomic adds and one histogram observation per flow, with every
// handle looked up once at construction (bench/metrics_handler_bench.cc).
#pragma once

#include <array>

#include "app/handler.h"
#include "common/time_source.h"
#include "metrics/scope.h"

namespace tw::app {

class FlowMetricsHandler final : public FlowHandler {
 public:
  FlowMetricsHandler(metrics::Scope& scope, const TimeSource& clock);
  void OnEvent(const flow::Event& event) override;
  // report->summary: events, flows, node_status_events, lost_event_messages, lost_events,
  // lost_by_source, by_verdict (label values with a zero count are left out).
  void Report(RunReport* report) const override;

  // Buckets of tierwatch_flow_lag_seconds.
  static const std::vector<double>& LagBuckets();

 private:
  static constexpr int kVerdicts = 8;     // flow::Verdict values
  static constexpr int kLostSources = 4;  // flow::LostEventSource values
  const TimeSource& clock_;
  prometheus::Counter& events_;
  prometheus::Counter& node_status_;
  prometheus::Counter& lost_notices_;
  std::array<prometheus::Counter*, kVerdicts> by_verdict_{};
  std::array<prometheus::Counter*, kLostSources> lost_by_source_{};
  prometheus::Histogram& lag_;
};

}  // namespace tw::app
