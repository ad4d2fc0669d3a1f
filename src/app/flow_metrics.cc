#include "app/flow_metrics.h"

#include <string>

#include "app/report.h"

namespace tw::app {

const std::vector<double>& FlowMetricsHandler::LagBuckets() {
  // From tierwatch's own share of the lag (relay message to analysed flow: well under a
  // millisecond when it keeps up; `make bench` reads its p50/p99 from these buckets) through
  // "live" (Hubble Relay's sort buffer is about a second) to "an hour behind".
  static const std::vector<double>* const kBuckets =
      new std::vector<double>{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                              1,      2,     5,     10,    30,   60,    120,  300, 900,  3600};
  return *kBuckets;
}

FlowMetricsHandler::FlowMetricsHandler(metrics::Scope& scope, const TimeSource& clock)
    : clock_(clock),
      events_(scope.Counter("tierwatch_events_total",
                            "Events the analysis received: flows, lost-event notices and node "
                            "status events.")),
      node_status_(scope.Counter("tierwatch_node_status_events_total",
                                 "Node status events from Hubble Relay (nodes connecting, "
                                 "unavailable, ...).")),
      lost_notices_(scope.Counter("tierwatch_lost_event_notices_total",
                                  "LostEvent notices received (each reports one or more lost "
                                  "events).")),
      lag_(scope.Histogram("tierwatch_flow_lag_seconds",
                           "How far behind the wall clock flows are analysed: now minus the "
                           "flow's time, observed per flow.",
                           LagBuckets())) {
  auto& verdicts =
      scope.CounterFamily("tierwatch_flows_total", "Flows analysed, by Hubble verdict.");
  for (int v = 0; v < kVerdicts; ++v) {
    by_verdict_[v] =
        &verdicts.Add({{"verdict", std::string(flow::VerdictName(static_cast<flow::Verdict>(v)))}});
  }
  auto& lost = scope.CounterFamily(
      "tierwatch_relay_lost_events_total",
      "Events Hubble could not deliver, by where they were lost (sum of LostEvent "
      "num_events_lost): the analysis did not see them.");
  for (int s = 0; s < kLostSources; ++s) {
    lost_by_source_[s] = &lost.Add({{"source", std::string(flow::LostEventSourceName(
                                                   static_cast<flow::LostEventSource>(s)))}});
  }
}

void FlowMetricsHandler::OnEvent(const flow::Event& ev) {
  events_.Increment();
  if (ev.flow) {
    const auto v = static_cast<size_t>(ev.flow->verdict);
    if (v < by_verdict_.size()) by_verdict_[v]->Increment();
    const double lag = absl::ToDoubleSeconds(clock_.Now() - ev.flow->time);
    lag_.Observe(lag > 0 ? lag : 0);
  } else if (ev.lost) {
    lost_notices_.Increment();
    const auto s = static_cast<size_t>(ev.lost->source);
    lost_by_source_[s < lost_by_source_.size() ? s : 0]->Increment(
        static_cast<double>(ev.lost->num_events_lost));
  } else if (ev.node_status) {
    node_status_.Increment();
  }
}

void FlowMetricsHandler::Report(RunReport* report) const {
  Summary& s = report->summary;
  auto n = [](const prometheus::Counter* c) { return static_cast<uint64_t>(c->Value()); };
  s.events = n(&events_);
  s.node_status_events = n(&node_status_);
  s.lost_event_messages = n(&lost_notices_);
  s.flows = 0;
  s.by_verdict.clear();
  for (int v = 0; v < kVerdicts; ++v) {
    const uint64_t count = n(by_verdict_[v]);
    s.flows += count;
    if (count) s.by_verdict[std::string(flow::VerdictName(static_cast<flow::Verdict>(v)))] = count;
  }
  s.lost_events = 0;
  s.lost_by_source.clear();
  for (int i = 0; i < kLostSources; ++i) {
    const uint64_t count = n(lost_by_source_[i]);
    s.lost_events += count;
    if (count) {
      s.lost_by_source[std::string(
          flow::LostEventSourceName(static_cast<flow::LostEventSource>(i)))] = count;
    }
  }
}

}  // namespace tw::app
