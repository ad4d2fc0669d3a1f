// The stats scope: families are got-or-created by name, collect hooks run before every
// read and never after their handle is gone, bridged counters only move forward, and the
// exposition is prometheus-cpp's. The label cap keeps the first values and folds the rest.
#include "metrics/scope.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/label_cap.h"

namespace tw::metrics {
namespace {

using ::testing::HasSubstr;

TEST(ScopeTest, TheSameNameGivesTheSameSeries) {
  Scope scope;
  scope.Counter("t_events_total", "Events.").Increment(2);
  scope.Counter("t_events_total", "Events.").Increment();
  auto& fam = scope.CounterFamily("t_flows_total", "Flows.");
  fam.Add({{"verdict", "DROPPED"}}).Increment(5);
  scope.Counter("t_flows_total", "Flows.", {{"verdict", "DROPPED"}}).Increment();
  scope.Counter("t_flows_total", "Flows.", {{"verdict", "FORWARDED"}}).Increment();
  auto families = scope.Collect();
  EXPECT_EQ(SumOf(families, "t_events_total"), 3);
  EXPECT_EQ(SumOf(families, "t_flows_total"), 7);
  EXPECT_EQ(SumOf(families, "t_flows_total", {{"verdict", "DROPPED"}}), 6);
  EXPECT_EQ(SumOf(families, "t_absent"), std::nullopt);
}

TEST(ScopeTest, RendersThePrometheusTextFormat) {
  Scope scope;
  scope.Counter("t_drops_total", "Drops by class.", {{"class", "dns_blocked"}}).Increment(3);
  scope.Gauge("t_mode", "Mode.", {{"mode", "watch"}}).Set(1);
  scope.Histogram("t_lag_seconds", "Lag.", {1, 10}).Observe(5);
  std::string text = scope.Render();
  EXPECT_THAT(text, HasSubstr("# HELP t_drops_total Drops by class."));
  EXPECT_THAT(text, HasSubstr("# TYPE t_drops_total counter"));
  EXPECT_THAT(text, HasSubstr("t_drops_total{class=\"dns_blocked\"} 3"));
  EXPECT_THAT(text, HasSubstr("t_mode{mode=\"watch\"} 1"));
  EXPECT_THAT(text, HasSubstr("t_lag_seconds_bucket{le=\"10\"} 1"));
  EXPECT_THAT(text, HasSubstr("t_lag_seconds_count 1"));
}

TEST(ScopeTest, HooksRunBeforeEveryReadAndNotAfterTheirHandleIsGone) {
  Scope scope;
  prometheus::Gauge& depth = scope.Gauge("t_depth", "Depth.");
  int runs = 0;
  int queue = 7;
  {
    Scope::Hook hook = scope.AddCollectHook([&] {
      ++runs;
      depth.Set(queue);
    });
    EXPECT_EQ(SumOf(scope.Collect(), "t_depth"), 7);
    queue = 9;
    EXPECT_THAT(scope.Render(), HasSubstr("t_depth 9"));
    scope.Refresh();
    EXPECT_EQ(runs, 3);
    Scope::Hook moved = std::move(hook);  // moving keeps it registered once
    scope.Refresh();
    EXPECT_EQ(runs, 4);
  }
  queue = 1;
  scope.Refresh();
  EXPECT_EQ(runs, 4);
  EXPECT_EQ(depth.Value(), 9);
}

TEST(ScopeTest, BridgedCountersOnlyMoveForwardEvenWithConcurrentReaders) {
  Scope scope;
  prometheus::Counter& reconnects = scope.Counter("t_reconnects_total", "Reconnects.");
  std::atomic<int> source_total{0};
  Scope::Hook hook = scope.AddCollectHook([&] { AdvanceTo(reconnects, source_total.load()); });
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        ++source_total;
        scope.Render();
      }
    });
  }
  for (auto& r : readers) r.join();
  scope.Refresh();
  EXPECT_EQ(reconnects.Value(), 800);  // one reader at a time: no delta counted twice
  AdvanceTo(reconnects, 10);           // a smaller total never winds a counter back
  EXPECT_EQ(reconnects.Value(), 800);
}

TEST(LabelCapTest, KeepsTheFirstValuesAndFoldsTheRest) {
  LabelCap cap(2);
  EXPECT_EQ(cap.Admit("business"), "business");
  EXPECT_EQ(cap.Admit("kube-system"), "kube-system");
  EXPECT_EQ(cap.Admit("observability"), "_other");
  EXPECT_EQ(cap.Admit("business"), "business");  // admitted once, kept
  EXPECT_EQ(cap.Admit("_other"), "_other");
  EXPECT_EQ(cap.admitted(), 2u);
  EXPECT_EQ(cap.folded(), 2u);
  for (int i = 0; i < 100000; ++i) cap.Admit("ns-" + std::to_string(i));
  EXPECT_EQ(cap.admitted(), 2u);  // memory stays at the cap
}

}  // namespace
}  // namespace tw::metrics
