#include "app/pipeline.h"

#include <algorithm>
#include <utility>

namespace tw::app {

namespace {
// The worker takes events in small batches: one lock round trip per batch instead of per
// event, while the queue bound stays close to queue_capacity.
constexpr size_t kBatch = 256;

metrics::Scope& ScopeOf(const PipelineOptions& o, std::unique_ptr<metrics::Scope>* own) {
  if (o.scope != nullptr) return *o.scope;
  *own = std::make_unique<metrics::Scope>();
  return **own;
}
}  // namespace

Pipeline::Pipeline(PipelineOptions options)
    : options_(options),
      scope_(ScopeOf(options_, &own_scope_)),
      received_(scope_.Counter("tierwatch_pipeline_received_total",
                               "Events the flow source offered to the pipeline.")),
      processed_(scope_.Counter("tierwatch_pipeline_processed_total",
                                "Events the pipeline delivered to the analysis.")),
      shed_(scope_.Counter("tierwatch_pipeline_shed_total",
                           "Events discarded because the queue was full (pipeline.overflow: "
                           "drop); the analysis has gaps.")),
      blocked_(scope_.Counter("tierwatch_pipeline_blocked_total",
                              "Times the source had to wait for room in the queue "
                              "(pipeline.overflow: block).")),
      depth_gauge_(scope_.Gauge("tierwatch_pipeline_queue_depth",
                                "Events waiting in the queue for the analysis worker.")),
      max_depth_gauge_(scope_.Gauge("tierwatch_pipeline_queue_max_depth",
                                    "Most events ever waiting in the queue (high-water mark).")) {
  options_.queue_capacity = std::max<size_t>(1, options_.queue_capacity);
  scope_
      .Gauge("tierwatch_pipeline_queue_capacity",
             "Events the queue holds before it blocks or sheds (pipeline.queue_capacity).")
      .Set(static_cast<double>(options_.queue_capacity));
  hook_ = scope_.AddCollectHook([this] {
    absl::MutexLock lock(&mu_);
    depth_gauge_.Set(static_cast<double>(queued_events_));
    max_depth_gauge_.Set(static_cast<double>(max_depth_));
  });
}

Pipeline::~Pipeline() {
  hook_.Reset();
  Close();
  Join();
}

void Pipeline::AddSink(FlowHandler* sink) { sinks_.push_back(sink); }

void Pipeline::Start() {
  worker_ = std::thread([this] { Work(); });
}

bool Pipeline::Push(flow::Event&& event) {
  absl::MutexLock lock(&mu_);
  if (closed_) {
    ++rejected_;
    return false;
  }
  received_.Increment();
  if (queued_events_ >= options_.queue_capacity) {
    if (options_.overflow == Overflow::kDrop) {
      shed_.Increment();
      return true;
    }
    blocked_.Increment();
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return closed_ || queued_events_ < options_.queue_capacity;
    };
    mu_.Await(absl::Condition(&room));
    if (closed_) {
      ++rejected_;
      return false;
    }
  }
  Item& slot = queue_.PushSlot();
  slot.event = std::move(event);
  slot.task = nullptr;
  ++queued_events_;
  max_depth_ = std::max(max_depth_, queued_events_);
  return true;
}

bool Pipeline::Post(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (closed_) return false;
  Item& slot = queue_.PushSlot();
  slot.event = flow::Event{};
  slot.task = std::move(task);
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
  PipelineStats s;
  absl::MutexLock lock(&mu_);
  // Read under the lock: Push and the worker count under it too, so the numbers agree
  // with each other (received = processed + shed + depth + rejected-after-close).
  s.received = static_cast<uint64_t>(received_.Value());
  s.processed = static_cast<uint64_t>(processed_.Value());
  s.dropped = static_cast<uint64_t>(shed_.Value());
  s.blocked = static_cast<uint64_t>(blocked_.Value());
  s.rejected = rejected_;
  s.tasks = tasks_;
  s.depth = queued_events_;
  s.max_depth = max_depth_;
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
        queue_.PopFront();
      }
    }
    uint64_t events = 0, tasks = 0;
    for (Item& item : batch) {
      if (item.task) {
        item.task();
        ++tasks;
        continue;
      }
      for (FlowHandler* sink : sinks_) sink->OnEvent(item.event);
      ++events;
    }
    batch.clear();
    absl::MutexLock lock(&mu_);
    if (events) processed_.Increment(static_cast<double>(events));
    tasks_ += tasks;
  }
}

}  // namespace tw::app
