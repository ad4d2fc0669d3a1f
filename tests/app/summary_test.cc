// The run summary counts what arrived by verdict, namespace, drop reason, event type, node
// and lost events, and lists the most frequent denied connections. The counts that are
// also metrics come from FlowMetricsHandler, the rest from SummaryHandler: both fill one
// Summary.
#include "app/summary.h"

#include "app/flow_metrics.h"
#include "app/report.h"
#include "common/time_source.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_flows.h"

namespace tw::app {
namespace {

using testing::FlowEvent;
using testing::FlowSpec;
using ::testing::HasSubstr;

// The summary as the daemon assembles it: both handlers see every event and report into
// one RunReport.
class Both {
 public:
  explicit Both(flow::SymbolTable& s) : summary_(s), metrics_(scope_, clock_) {}
  void OnEvent(const flow::Event& ev) {
    summary_.OnEvent(ev);
    metrics_.OnEvent(ev);
  }
  Summary Snapshot() const {
    RunReport r;
    summary_.Report(&r);
    metrics_.Report(&r);
    return r.summary;
  }
  metrics::Scope& scope() { return scope_; }

 private:
  ManualTimeSource clock_{absl::FromUnixSeconds(1764300010)};
  metrics::Scope scope_;
  SummaryHandler summary_;
  FlowMetricsHandler metrics_;
};

TEST(SummaryTest, CountsByVerdictNamespaceReasonTypeNodeAndLost) {
  flow::SymbolTable s;
  Both sink(s);
  sink.OnEvent(FlowEvent(s, {}));  // business/odoo -> business/postgres FORWARDED
  sink.OnEvent(FlowEvent(s, {.src_ns = "observability",
                             .src_app = "vmagent",
                             .dst_ns = "business",
                             .dst_app = "n8n",
                             .port = 9100,
                             .verdict = flow::Verdict::kDropped,
                             .drop_reason = flow::kDropPolicyDenied,
                             .event_type = flow::kEventDrop,
                             .node = "worker-2"}));
  sink.OnEvent(FlowEvent(s, {.src_ns = "observability",
                             .src_app = "vmagent",
                             .dst_ns = "business",
                             .dst_app = "n8n",
                             .port = 9100,
                             .verdict = flow::Verdict::kDropped,
                             .drop_reason = flow::kDropPolicyDenied,
                             .event_type = flow::kEventDrop,
                             .node = "worker-2",
                             .unix_seconds = 1764300005}));
  sink.OnEvent(FlowEvent(s, {.dst_app = "odoo",
                             .port = 8069,
                             .verdict = flow::Verdict::kAudit,
                             .event_type = flow::kEventPolicyVerdict}));
  sink.OnEvent(FlowEvent(s, {.port = 443, .world_destination = true}));
  sink.OnEvent(testing::LostEvent(7));
  flow::Event status;
  status.node_status = flow::NodeStatus{flow::NodeState::kConnected, {"worker-1"}, ""};
  sink.OnEvent(status);

  Summary sum = sink.Snapshot();
  EXPECT_EQ(sum.events, 7u);
  EXPECT_EQ(sum.flows, 5u);
  EXPECT_EQ(sum.lost_events, 7u);
  EXPECT_EQ(sum.lost_event_messages, 1u);
  EXPECT_EQ(sum.lost_by_source["PERF_EVENT_RING_BUFFER"], 7u);
  EXPECT_EQ(sum.node_status_events, 1u);
  EXPECT_EQ(sum.by_verdict["FORWARDED"], 2u);
  EXPECT_EQ(sum.by_verdict["DROPPED"], 2u);
  EXPECT_EQ(sum.by_verdict["AUDIT"], 1u);
  EXPECT_EQ(sum.by_event_type["trace"], 2u);
  EXPECT_EQ(sum.by_event_type["drop"], 2u);
  EXPECT_EQ(sum.by_event_type["policy-verdict"], 1u);
  EXPECT_EQ(sum.by_node["worker-1"], 3u);
  EXPECT_EQ(sum.by_node["worker-2"], 2u);
  EXPECT_EQ(sum.drop_reasons["POLICY_DENIED"], 2u);
  // A flow inside one namespace counts once for it; across namespaces once for each.
  EXPECT_EQ(sum.by_namespace["business"].flows, 5u);
  EXPECT_EQ(sum.by_namespace["business"].forwarded, 2u);
  EXPECT_EQ(sum.by_namespace["business"].dropped, 2u);
  EXPECT_EQ(sum.by_namespace["business"].audit, 1u);
  EXPECT_EQ(sum.by_namespace["observability"].flows, 2u);
  EXPECT_EQ(sum.by_namespace["(world)"].flows, 1u);
  ASSERT_EQ(sum.top_denied.size(), 2u);
  EXPECT_EQ(sum.denied_connections, 2u);
  EXPECT_EQ(sum.top_denied[0].events, 2u);
  EXPECT_EQ(sum.top_denied[0].verdict, "DROPPED");
  EXPECT_EQ(sum.top_denied[0].drop_reason, "POLICY_DENIED");
  EXPECT_EQ(sum.top_denied[0].connection, "observability/vmagent -> business/n8n:9100/TCP");
  EXPECT_EQ(sum.top_denied[1].verdict, "AUDIT");
  EXPECT_EQ(sum.top_denied[1].drop_reason, "");
  ASSERT_TRUE(sum.first_flow_time.has_value());
  EXPECT_EQ(*sum.last_flow_time - *sum.first_flow_time, absl::Seconds(5));

  // The same numbers on /metrics.
  auto families = sink.scope().Collect();
  EXPECT_EQ(metrics::SumOf(families, "tierwatch_events_total"), 7);
  EXPECT_EQ(metrics::SumOf(families, "tierwatch_flows_total"), 5);
  EXPECT_EQ(metrics::SumOf(families, "tierwatch_flows_total", {{"verdict", "DROPPED"}}), 2);
  EXPECT_EQ(metrics::SumOf(families, "tierwatch_relay_lost_events_total",
                           {{"source", "PERF_EVENT_RING_BUFFER"}}),
            7);
  // Every flow observed once in the lag histogram.
  EXPECT_EQ(metrics::SumOf(families, "tierwatch_flow_lag_seconds"), 5);

  std::string text = FormatSummaryText(sum);
  EXPECT_THAT(text, HasSubstr("events 7: flows 5, lost events 7, node status 1"));
  EXPECT_THAT(text, HasSubstr("by verdict"));
  EXPECT_THAT(text, HasSubstr("POLICY_DENIED"));
  EXPECT_THAT(text, HasSubstr("observability/vmagent -> business/n8n:9100/TCP"));
  EXPECT_THAT(text, HasSubstr("PERF_EVENT_RING_BUFFER"));
}

TEST(SummaryTest, DeniedConnectionsAreCapped) {
  flow::SymbolTable s;
  SummaryHandler sink(s, {.top_denied = 3, .max_denied_tracked = 5});
  for (int i = 0; i < 20; ++i) {
    sink.OnEvent(FlowEvent(s, {.port = static_cast<uint16_t>(1000 + i),
                               .verdict = flow::Verdict::kDropped,
                               .drop_reason = flow::kDropPolicyDenied}));
  }
  Summary sum = sink.Snapshot();
  EXPECT_EQ(sum.denied_connections, 6u);  // five tracked + "(other connections)"
  ASSERT_EQ(sum.top_denied.size(), 3u);
  EXPECT_EQ(sum.top_denied[0].connection, "(other connections)");
  EXPECT_EQ(sum.top_denied[0].events, 15u);
}

TEST(SummaryTest, EmptySummaryPrintsTheHeadlineOnly) {
  std::string text = FormatSummaryText(Summary{});
  EXPECT_EQ(text, "events 0: flows 0, lost events 0, node status 0\n");
}

}  // namespace
}  // namespace tw::app
