// Overload: a source offers flows several times faster than a deliberately slowed sink
// can take them, then the load drops below capacity. With `overflow: drop` the queue stays
// at its capacity, every shed flow is counted in tierwatch_pipeline_shed_total, RSS stays
// under a stated bound, and once the load drops nothing more is shed. With the default
// `overflow: block` nothing is shed: the source waits (counted in ..._blocked_total).
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "app/pipeline.h"
#include "faults/fault_util.h"
#include "gtest/gtest.h"
#include "metrics/scope.h"
#include "testing/eventually.h"

namespace tw::faults {
namespace {

// A flow the size of a real one: labels, names, a uuid (about 1 KB on the heap).
flow::Event RealisticFlow(flow::SymbolTable& s, int i) {
  flow::Event ev;
  flow::Flow& f = ev.flow.emplace();
  f.time = absl::FromUnixSeconds(1764300000) + absl::Microseconds(i);
  f.uuid = absl::StrCat("overload-", i, "-", std::string(24, 'u'));
  f.verdict = flow::Verdict::kForwarded;
  f.l4.protocol = flow::Protocol::kTCP;
  f.l4.source_port = static_cast<uint16_t>(40000 + i % 20000);
  f.l4.destination_port = 8080;
  f.source_ip = "10.0.1.1";
  f.destination_ip = "10.0.2.2";
  f.source.namespace_ = s.Intern(absl::StrCat("ns-", i % 50));
  f.source.labels = {s.Intern("k8s:app=frontend"), s.Intern("k8s:team=shop")};
  f.destination.namespace_ = s.Intern("business");
  f.destination.labels = {s.Intern("k8s:app=db")};
  f.summary = std::string(200, 's');
  return ev;
}

// Sleeps `per_event` for every event: a sink with a known capacity.
class SlowSink : public app::FlowHandler {
 public:
  explicit SlowSink(absl::Duration per_event) : per_event_(per_event) {}
  void OnEvent(const flow::Event&) override {
    absl::SleepFor(per_event_);
    seen_.fetch_add(1);
  }
  uint64_t seen() const { return seen_.load(); }

 private:
  absl::Duration per_event_;
  std::atomic<uint64_t> seen_{0};
};

double Metric(metrics::Scope& scope, const std::string& name) {
  return metrics::SumOf(scope.Collect(), name).value_or(-1);
}

struct Phase {
  uint64_t offered = 0;
  double peak_rss = 0;
  size_t peak_depth = 0;
};

// Offers `n` flows, pausing `gap` between them (zero: as fast as Push returns), and samples
// RSS and depth as it goes.
Phase Offer(app::Pipeline& p, flow::SymbolTable& s, int first, int n, absl::Duration gap) {
  Phase ph;
  for (int i = first; i < first + n; ++i) {
    EXPECT_TRUE(p.Push(RealisticFlow(s, i)));
    ++ph.offered;
    if (gap > absl::ZeroDuration()) absl::SleepFor(gap);
    if (i % 1024 == 0) {
      ph.peak_rss = std::max(ph.peak_rss, RssMiB());
      ph.peak_depth = std::max(ph.peak_depth, p.stats().depth);
    }
  }
  return ph;
}

constexpr size_t kCapacity = 4096;
// Above the process's RSS before the overload: the queue (4096 flows of ~1 KB) plus
// allocator slack. Unbounded buffering of the overload phase would need ~100 MB and more.
constexpr double kRssBoundMiB = 48;

TEST(OverloadFaultTest, DropPolicyShedsAndCountsKeepsMemoryBoundedAndRecovers) {
  metrics::Scope scope;
  // ~10k flows/s of capacity (plus sleep overshoot); offered as fast as the source can.
  SlowSink sink(absl::Microseconds(100));
  app::Pipeline p({.queue_capacity = kCapacity, .overflow = app::Overflow::kDrop, .scope = &scope});
  p.AddSink(&sink);
  p.Start();
  flow::SymbolTable s;
  const double rss_before = RssMiB();

  const int overload = Count(100000, 1000000);
  Phase hot = Offer(p, s, 0, overload, absl::ZeroDuration());
  const app::PipelineStats after_hot = p.stats();
  EXPECT_GT(after_hot.dropped, 0u) << "the sink kept up: no overload was produced";
  EXPECT_LE(after_hot.max_depth, kCapacity);
  EXPECT_EQ(Metric(scope, "tierwatch_pipeline_shed_total"), static_cast<double>(after_hot.dropped));
  if (kRssBoundsHold) {
    EXPECT_LT(hot.peak_rss - rss_before, kRssBoundMiB)
        << "RSS grew from " << rss_before << " to " << hot.peak_rss << " MiB";
  }

  // Let the queue drain, then offer below capacity (about 1k flows/s): nothing more shed.
  ASSERT_TRUE(tw::testing::Eventually([&] { return p.stats().depth == 0; }, absl::Seconds(60)));
  const int calm = 1000;
  Offer(p, s, overload, calm, absl::Milliseconds(1));
  p.Close();
  p.Join();
  const app::PipelineStats end = p.stats();
  EXPECT_EQ(end.dropped, after_hot.dropped) << "still shedding after the load dropped";
  EXPECT_EQ(end.processed + end.dropped, end.received);
  EXPECT_EQ(sink.seen(), end.processed);
  EXPECT_EQ(end.received, static_cast<uint64_t>(overload + calm));
  std::printf(
      "fault-counts overload policy=drop offered=%d processed=%llu shed=%llu max_depth=%zu "
      "capacity=%zu rss_before_mib=%.1f rss_peak_mib=%.1f shed_after_recovery=%llu\n",
      overload + calm, static_cast<unsigned long long>(end.processed),
      static_cast<unsigned long long>(end.dropped), end.max_depth, kCapacity, rss_before,
      hot.peak_rss, static_cast<unsigned long long>(end.dropped - after_hot.dropped));
}

TEST(OverloadFaultTest, BlockPolicyShedsNothingAndWaitsWithTheQueueBounded) {
  metrics::Scope scope;
  SlowSink sink(absl::Microseconds(20));
  app::Pipeline p(
      {.queue_capacity = kCapacity, .overflow = app::Overflow::kBlock, .scope = &scope});
  p.AddSink(&sink);
  p.Start();
  flow::SymbolTable s;
  const double rss_before = RssMiB();
  const int n = Count(50000, 500000);
  Phase hot = Offer(p, s, 0, n, absl::ZeroDuration());
  p.Close();
  p.Join();
  const app::PipelineStats end = p.stats();
  EXPECT_EQ(end.dropped, 0u);
  EXPECT_EQ(Metric(scope, "tierwatch_pipeline_shed_total"), 0);
  EXPECT_GT(Metric(scope, "tierwatch_pipeline_blocked_total"), 0) << "the source never waited";
  EXPECT_LE(end.max_depth, kCapacity);
  EXPECT_EQ(sink.seen(), static_cast<uint64_t>(n));
  if (kRssBoundsHold) {
    EXPECT_LT(hot.peak_rss - rss_before, kRssBoundMiB);
  }
  std::printf(
      "fault-counts overload policy=block offered=%d processed=%llu shed=0 blocked=%llu "
      "max_depth=%zu rss_before_mib=%.1f rss_peak_mib=%.1f\n",
      n, static_cast<unsigned long long>(end.processed),
      static_cast<unsigned long long>(end.blocked), end.max_depth, rss_before, hot.peak_rss);
}

}  // namespace
}  // namespace tw::faults
