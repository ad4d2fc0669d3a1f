// Pipeline: a bounded queue between the source thread (relay stream or capture reader) and
// one worker thread that hands each event to the sinks, in order.
//
//   tw::app::Pipeline pipeline({.queue_capacity = 65536, .overflow = Overflow::kBlock,
//                               .scope = &scope});
//   pipeline.AddSink(&observer);
//   pipeline.Start();
//   source.Run([&](tw::flow::Event&& ev) { return pipeline.Push(std::move(ev)); });
//   pipeline.Post([&] { learner.Save(); });   // runs on the worker, after queued events
//   pipeline.Close();                          // no more input; the worker drains
//   pipeline.Join();                           // every queued event has reached the sinks
//
// Overflow (queue full):
//   kBlock (default) — Push() waits for room. The source stops reading; for a relay, gRPC
//     flow control pushes back to Hubble Relay, and whatever Hubble cannot buffer is
//     reported by Hubble itself as LostEvents (which the summary counts). Captures lose
//     nothing. The analysis stays exact for what arrives; `blocked` counts the waits.
//   kDrop — Push() discards the new event and counts it in `dropped`. The stream stays
//     current at the price of gaps the analysis cannot see. For deployments that prefer
//     freshness over completeness.
//
// Why one worker: the baseline, the DNS name cache and the classifier are order-sensitive
// (DNS answers name later flows; replies are recognised from earlier originals) and cheap
// per flow; one thread keeps them lock-free and deterministic.
//
// Control tasks (Post) travel in the same queue, so they observe every event queued before
// them; they never count against the capacity and are never dropped.
//
// Counts live in the stats scope (metrics/scope.h), so /metrics and the run summary read
// the same numbers: tierwatch_pipeline_{received,processed,shed,blocked}_total and the
// gauges tierwatch_pipeline_queue_{depth,max_depth,capacity} (refreshed when read).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "app/handler.h"
#include "common/slot_ring.h"
#include "flow/flow.h"
#include "metrics/scope.h"

namespace tw::app {

enum class Overflow : uint8_t { kBlock, kDrop };

struct PipelineOptions {
  size_t queue_capacity = 65536;  // events (>= 1)
  Overflow overflow = Overflow::kBlock;
  // Where the counts go; nullptr = a scope of the pipeline's own (tests).
  metrics::Scope* scope = nullptr;
};

// A view of the pipeline's counters (read from the stats scope, plus two internals).
struct PipelineStats {
  uint64_t received = 0;   // events offered by the source (Push calls)
  uint64_t processed = 0;  // events delivered to the sinks
  uint64_t dropped = 0;    // events discarded because the queue was full (kDrop)
  uint64_t blocked = 0;    // times Push had to wait for room (kBlock)
  uint64_t rejected = 0;   // events pushed after Close (the source was told to stop)
  uint64_t tasks = 0;      // control tasks run
  size_t depth = 0;        // events queued now
  size_t max_depth = 0;    // high-water mark
};

class Pipeline {
 public:
  explicit Pipeline(PipelineOptions options);
  // Closes and joins (drains) if the owner did not.
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Before Start(). Sinks are not owned and must outlive the pipeline's worker.
  void AddSink(FlowHandler* sink);
  void Start();

  // From the source thread. Returns false once the pipeline is closed: the source should
  // stop. With kDrop a full queue discards the event and still returns true.
  bool Push(flow::Event&& event);

  // Runs `task` on the worker after everything queued before it. False once closed.
  bool Post(std::function<void()> task);

  // No more input. Idempotent; a Push blocked on a full queue returns false.
  void Close();
  // Waits until the worker has delivered everything queued and exited.
  void Join();

  PipelineStats stats() const;
  const PipelineOptions& options() const { return options_; }

 private:
  struct Item {
    flow::Event event;
    std::function<void()> task;  // set for control tasks
  };
  void Work();

  PipelineOptions options_;
  std::unique_ptr<metrics::Scope> own_scope_;
  metrics::Scope& scope_;
  prometheus::Counter& received_;
  prometheus::Counter& processed_;
  prometheus::Counter& shed_;
  prometheus::Counter& blocked_;
  prometheus::Gauge& depth_gauge_;
  prometheus::Gauge& max_depth_gauge_;
  std::vector<FlowHandler*> sinks_;
  std::thread worker_;

  mutable absl::Mutex mu_;
  // Slots reused: no allocation per event once the queue has grown (common/slot_ring.h).
  SlotRing<Item> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_events_ ABSL_GUARDED_BY(mu_) = 0;
  size_t max_depth_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t rejected_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t tasks_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  metrics::Scope::Hook hook_;  // last: removed before the members it reads
};

}  // namespace tw::app
