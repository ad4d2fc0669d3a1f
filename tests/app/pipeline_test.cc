// Pipeline: order is kept, a full queue blocks (or drops and counts), control tasks run in
// order with events, and Close/Join delivers everything queued.
#include "app/pipeline.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"

namespace tw::app {
namespace {

using tw::testing::Eventually;

flow::Event Numbered(int i) {
  flow::Event ev;
  ev.flow.emplace();
  ev.flow->uuid = std::to_string(i);
  return ev;
}

// Records the uuids it sees; optionally waits on a gate before each event.
class RecordingSink : public FlowHandler {
 public:
  void OnEvent(const flow::Event& ev) override {
    if (gate_) gate_->WaitForNotification();
    absl::MutexLock lock(&mu_);
    seen_.push_back(ev.flow ? ev.flow->uuid : "?");
  }
  void Record(const std::string& s) {
    absl::MutexLock lock(&mu_);
    seen_.push_back(s);
  }
  std::vector<std::string> seen() const {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  void set_gate(absl::Notification* gate) { gate_ = gate; }

 private:
  absl::Notification* gate_ = nullptr;
  mutable absl::Mutex mu_;
  std::vector<std::string> seen_;
};

bool Increasing(const std::vector<std::string>& v) {
  int prev = -1;
  for (const auto& s : v) {
    int n = 0;
    if (!absl::SimpleAtoi(s, &n) || n <= prev) return false;
    prev = n;
  }
  return true;
}

TEST(PipelineTest, DeliversEveryEventInOrderToEverySink) {
  RecordingSink a, b;
  Pipeline p({.queue_capacity = 64});
  p.AddSink(&a);
  p.AddSink(&b);
  p.Start();
  std::thread source([&] {
    for (int i = 0; i < 20000; ++i) ASSERT_TRUE(p.Push(Numbered(i)));
  });
  source.join();
  p.Close();
  p.Join();
  std::vector<std::string> want;
  for (int i = 0; i < 20000; ++i) want.push_back(std::to_string(i));
  EXPECT_EQ(a.seen(), want);
  EXPECT_EQ(b.seen(), want);
  PipelineStats st = p.stats();
  EXPECT_EQ(st.received, 20000u);
  EXPECT_EQ(st.processed, 20000u);
  EXPECT_EQ(st.dropped, 0u);
  EXPECT_EQ(st.depth, 0u);
  EXPECT_LE(st.max_depth, 64u);
}

TEST(PipelineTest, FullQueueBlocksTheSourceUntilTheWorkerCatchesUp) {
  absl::Notification gate;
  RecordingSink sink;
  sink.set_gate(&gate);
  Pipeline p({.queue_capacity = 4, .overflow = Overflow::kBlock});
  p.AddSink(&sink);
  p.Start();
  std::atomic<int> pushed{0};
  std::thread source([&] {
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(p.Push(Numbered(i)));
      ++pushed;
    }
  });
  // The worker is stuck in the sink; the source fills the queue and must wait.
  // The worker took a first batch and is stuck in the sink: the source refills the queue
  // to its capacity and waits.
  ASSERT_TRUE(Eventually([&] { return p.stats().blocked >= 1 && p.stats().depth == 4; }));
  EXPECT_LT(pushed.load(), 100);
  gate.Notify();
  source.join();
  p.Close();
  p.Join();
  EXPECT_EQ(sink.seen().size(), 100u);
  EXPECT_TRUE(Increasing(sink.seen()));
  PipelineStats st = p.stats();
  EXPECT_EQ(st.processed, 100u);
  EXPECT_EQ(st.dropped, 0u);
  EXPECT_LE(st.max_depth, 4u);
}

TEST(PipelineTest, DropPolicyDiscardsAndCountsWithoutBlocking) {
  absl::Notification gate;
  RecordingSink sink;
  sink.set_gate(&gate);
  Pipeline p({.queue_capacity = 4, .overflow = Overflow::kDrop});
  p.AddSink(&sink);
  p.Start();
  // Same thread as the test: if Push blocked, this would hang.
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(p.Push(Numbered(i)));
  gate.Notify();
  p.Close();
  p.Join();
  PipelineStats st = p.stats();
  EXPECT_EQ(st.received, 100u);
  EXPECT_GT(st.dropped, 0u);
  EXPECT_EQ(st.processed + st.dropped, 100u);
  EXPECT_EQ(sink.seen().size(), st.processed);
  EXPECT_TRUE(Increasing(sink.seen()));
  EXPECT_EQ(st.blocked, 0u);
}

TEST(PipelineTest, CloseDrainsEverythingQueued) {
  absl::Notification gate;
  RecordingSink sink;
  sink.set_gate(&gate);
  Pipeline p({.queue_capacity = 1000});
  p.AddSink(&sink);
  p.Start();
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(p.Push(Numbered(i)));
  p.Close();
  EXPECT_FALSE(p.Push(Numbered(500)));  // the source is told to stop
  EXPECT_FALSE(p.Post([] {}));
  gate.Notify();
  p.Join();
  EXPECT_EQ(sink.seen().size(), 500u);
  EXPECT_EQ(p.stats().processed, 500u);
  EXPECT_EQ(p.stats().rejected, 1u);
}

TEST(PipelineTest, CloseReleasesASourceBlockedOnAFullQueue) {
  absl::Notification gate;
  RecordingSink sink;
  sink.set_gate(&gate);
  Pipeline p({.queue_capacity = 1});
  p.AddSink(&sink);
  p.Start();
  std::atomic<bool> last_push_result{true};
  std::thread source([&] {
    for (int i = 0; i < 10; ++i) {
      if (!p.Push(Numbered(i))) {
        last_push_result = false;
        return;
      }
    }
  });
  ASSERT_TRUE(Eventually([&] { return p.stats().blocked >= 1; }));
  p.Close();
  source.join();  // returns: the blocked Push gave up
  EXPECT_FALSE(last_push_result.load());
  gate.Notify();
  p.Join();
  EXPECT_TRUE(Increasing(sink.seen()));
  EXPECT_EQ(p.stats().processed, sink.seen().size());
}

TEST(PipelineTest, TasksRunInOrderWithEvents) {
  RecordingSink sink;
  Pipeline p({.queue_capacity = 2});
  p.AddSink(&sink);
  p.Start();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p.Push(Numbered(i)));
  ASSERT_TRUE(p.Post([&] { sink.Record("task"); }));
  for (int i = 3; i < 6; ++i) ASSERT_TRUE(p.Push(Numbered(i)));
  p.Close();
  p.Join();
  EXPECT_EQ(sink.seen(), (std::vector<std::string>{"0", "1", "2", "task", "3", "4", "5"}));
  EXPECT_EQ(p.stats().tasks, 1u);
}

TEST(PipelineTest, DestructorDrains) {
  RecordingSink sink;
  {
    Pipeline p({.queue_capacity = 16});
    p.AddSink(&sink);
    p.Start();
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.Push(Numbered(i)));
  }
  EXPECT_EQ(sink.seen().size(), 10u);
}

}  // namespace
}  // namespace tw::app
