// The Observer: events reach the handlers active in the current mode, in order; a mode
// switch flushes the handlers that stop seeing events before the others see the next one;
// ticks reach active handlers only; Stop drains, then flushes.
#include "app/observer.h"

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "app/report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tw::app {
namespace {

using ::testing::ElementsAre;

// Writes "name:what" into a shared log (handlers run on the worker; the test reads after
// Sync/Stop).
class Recorder : public FlowHandler {
 public:
  Recorder(std::string name, std::vector<std::string>* log) : name_(std::move(name)), log_(log) {}
  void OnEvent(const flow::Event& ev) override {
    log_->push_back(name_ + ":" + (ev.flow ? ev.flow->uuid : "?"));
  }
  void OnTick(absl::Time) override { log_->push_back(name_ + ":tick"); }
  void Flush() override { log_->push_back(name_ + ":flush"); }
  void Report(RunReport* r) const override { r->stop_reason += name_; }

 private:
  std::string name_;
  std::vector<std::string>* log_;
};

flow::Event Numbered(const std::string& id) {
  flow::Event ev;
  ev.flow.emplace();
  ev.flow->uuid = id;
  return ev;
}

TEST(ObserverTest, ModesRouteEventsAndASwitchFlushesTheLeavingHandler) {
  std::vector<std::string> log;
  Recorder always("a", &log), learn("l", &log), watch("w", &log);
  Observer o(PipelineOptions{.queue_capacity = 16});
  o.AddHandler(&always, Activity::kAlways);
  o.AddHandler(&learn, Activity::kLearn);
  o.AddHandler(&watch, Activity::kWatch);
  o.Start(config::Mode::kLearn);
  ASSERT_TRUE(o.Push(Numbered("1")));
  o.Tick(absl::UnixEpoch());
  o.Post([&o] { o.SetMode(config::Mode::kWatch); });
  ASSERT_TRUE(o.Push(Numbered("2")));
  o.Tick(absl::UnixEpoch() + absl::Seconds(1));
  ASSERT_TRUE(o.Sync());
  EXPECT_EQ(o.mode(), config::Mode::kWatch);
  EXPECT_EQ(o.last_tick(), absl::UnixEpoch() + absl::Seconds(1));
  o.Stop();
  EXPECT_FALSE(o.Push(Numbered("3")));  // stopped: the source is told to stop
  EXPECT_THAT(log, ElementsAre("a:1", "l:1", "a:tick", "l:tick", "l:flush", "a:2", "w:2", "a:tick",
                               "w:tick", "a:flush", "w:flush"));
  RunReport r;
  o.Report(&r);
  EXPECT_EQ(r.stop_reason, "alw");  // every handler reports, active or not, in order
  EXPECT_EQ(o.pipeline_stats().processed, 2u);
}

TEST(ObserverTest, SwitchingToTheCurrentModeFlushesNothing) {
  std::vector<std::string> log;
  Recorder watch("w", &log);
  Observer o(PipelineOptions{});
  o.AddHandler(&watch, Activity::kWatch);
  o.Start(config::Mode::kWatch);
  o.Post([&o] { o.SetMode(config::Mode::kWatch); });
  o.Sync();
  EXPECT_TRUE(log.empty());
  o.Stop();
  o.Stop();  // idempotent
  EXPECT_THAT(log, ElementsAre("w:flush"));
}

}  // namespace
}  // namespace tw::app
