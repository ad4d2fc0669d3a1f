#include "app/pipeline.h"

#include <algorithm>
#include <utility>

namespace tw::app {

namespace {
// The worker takes events in small batches: one lock round trip per batch instead of per
// event, while the queue bound stays close to queue_capacity.
constexpr size_t kBatch = 256;
}  // namespace

Pipeline::Pipeline(PipelineOptions options) : options_(options) {
  options_.queue_capacity = std::max<size_t>(1, options_.queue_capacity);
}

Pipeline::~Pipeline() {
  Close();
  Join();
}

void Pipeline::AddSink(FlowSink* sink) { sinks_.push_back(sink); }

void Pipeline::Start() {
  worker_ = std::thread([this] { Work(); });
}

bool Pipeline::Push(flow::Event&& event) {
  absl::MutexLock lock(&mu_);
  if (closed_) {
    ++stats_.rejected;
    return false;
  }
  ++stats_.received;
  if (queued_events_ >= options_.queue_capacity) {
    if (options_.overflow == Overflow::kDrop) {
      ++stats_.dropped;
      return true;
    }
    ++stats_.blocked;
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return closed_ || queued_events_ < options_.queue_capacity;
    };
    mu_.Await(absl::Condition(&room));
    if (closed_) {
      ++stats_.rejected;
      return false;
    }
  }
  queue_.push_back(Item{std::move(event), nullptr});
  ++queued_events_;
  stats_.max_depth = std::max(stats_.max_depth, queued_events_);
  return true;
}

bool Pipeline::Post(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (closed_) return false;
  queue_.push_back(Item{flow::Event{}, std::move(task)});
  return true;
}

void Pipeline::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

void Pipeline::Join() {
  if (worker_.joinable()) worker_.join();
}

PipelineStats Pipeline::stats() const {
  absl::MutexLock lock(&mu_);
  PipelineStats s = stats_;
  s.depth = queued_events_;
  return s;
}

void Pipeline::Work() {
  std::vector<Item> batch;
  batch.reserve(kBatch);
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // closed and drained
      size_t n = std::min(kBatch, queue_.size());
      for (size_t i = 0; i < n; ++i) {
        if (!queue_.front().task) --queued_events_;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    uint64_t events = 0, tasks = 0;
    for (Item& item : batch) {
      if (item.task) {
        item.task();
        ++tasks;
        continue;
      }
      for (FlowSink* sink : sinks_) sink->OnEvent(item.event);
      ++events;
    }
    batch.clear();
    absl::MutexLock lock(&mu_);
    stats_.processed += events;
    stats_.tasks += tasks;
  }
}

}  // namespace tw::app
