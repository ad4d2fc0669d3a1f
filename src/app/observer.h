// Observer: the pipeline and the handlers it feeds, switched by mode (after Cilium's
// pkg/hubble observer with its handler plugins). The source pushes events in; one worker
// hands each to every handler active in the current mode, in order; ticks and control
// tasks travel through the same queue, so they see every event queued before them.
//
//   tw::metrics::Scope scope;
//   tw::app::Observer observer({.queue_capacity = 65536, .scope = &scope});
//   observer.AddHandler(&summary, tw::app::Activity::kAlways);
//   observer.AddHandler(&learner, tw::app::Activity::kLearn);
//   observer.AddHandler(&classifier, tw::app::Activity::kWatch);
//   observer.Start(tw::config::Mode::kLearn);
//   source.Run([&](tw::flow::Event&& ev) { return observer.Push(std::move(ev)); });
//   observer.Tick(clock.Now());                  // every second, from a ticker thread
//   observer.Post([&] { observer.SetMode(tw::config::Mode::kWatch); });  // on the worker
//   observer.Stop();                             // drain, then Flush the active handlers
//
// Switching modes flushes the handlers that stop being active (a classifier holding drops
// for their policy-verdict twins releases them) before the others see the next event.
#pragma once

#include <atomic>
#include <functional>
#include <vector>

#include "absl/time/time.h"
#include "app/handler.h"
#include "app/pipeline.h"
#include "config/config.h"

namespace tw::app {

// When a handler sees events.
enum class Activity : uint8_t { kAlways, kLearn, kWatch };

class Observer {
 public:
  explicit Observer(PipelineOptions options);
  ~Observer();
  Observer(const Observer&) = delete;
  Observer& operator=(const Observer&) = delete;

  // Before Start. Handlers are not owned; they must outlive Stop().
  void AddHandler(FlowHandler* handler, Activity when);
  void Start(config::Mode mode);

  // From the source thread; false once stopped (the source should stop).
  bool Push(flow::Event&& event) { return pipeline_.Push(std::move(event)); }
  // Runs `task` on the worker after everything queued before it; false once stopped.
  bool Post(std::function<void()> task) { return pipeline_.Post(std::move(task)); }
  // Posts a tick: the active handlers' OnTick(now).
  void Tick(absl::Time now);
  // Waits until everything posted so far has run (false when stopped).
  bool Sync();

  // Worker thread only (from a posted task or a handler).
  void SetMode(config::Mode mode);
  config::Mode mode() const { return mode_.load(); }  // any thread
  // When the worker last ran a tick (any thread; InfinitePast before the first).
  absl::Time last_tick() const;

  // Closes the queue, lets the worker drain it, then flushes the active handlers on the
  // calling thread. Idempotent.
  void Stop();
  bool stopped() const { return stopped_; }

  // Every handler's Report, in the order they were added (any thread).
  void Report(RunReport* report) const;
  PipelineStats pipeline_stats() const { return pipeline_.stats(); }

 private:
  class Dispatch final : public FlowHandler {
   public:
    explicit Dispatch(Observer& o) : o_(o) {}
    void OnEvent(const flow::Event& ev) override;

   private:
    Observer& o_;
  };
  struct Entry {
    FlowHandler* handler;
    Activity when;
  };
  bool Active(Activity when, config::Mode mode) const {
    return when == Activity::kAlways ||
           (when == Activity::kLearn) == (mode == config::Mode::kLearn);
  }
  void RebuildActive();

  Dispatch dispatch_{*this};
  Pipeline pipeline_;
  std::vector<Entry> handlers_;
  std::vector<FlowHandler*> active_;  // worker-owned
  config::Mode worker_mode_ = config::Mode::kLearn;
  std::atomic<config::Mode> mode_{config::Mode::kLearn};
  std::atomic<int64_t> last_tick_ns_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace tw::app
