// The daemon's extension points: a FlowHandler sees every event of the stream, in order, on
// the pipeline worker (the run summary, the flow metrics, the baseline learner, the drop
// classifier, the mode controller are all FlowHandlers); a DropHandler sees every
// classified drop, counted as `tierwatch analyze` counts them (the recent-drops ring and
// the drop metrics). The Observer (app/observer.h) calls them; the Daemon wires them.
//
//   class CountDrops : public tw::app::FlowHandler {
//    public:
//     void OnEvent(const tw::flow::Event& ev) override {
//       if (ev.flow && ev.flow->verdict == tw::flow::Verdict::kDropped) ++drops_;
//     }
//     void Report(tw::app::RunReport* r) const override { r->... = drops_.load(); }
//    private:
//     std::atomic<uint64_t> drops_{0};
//   };
//   observer.AddHandler(&count_drops, tw::app::Activity::kAlways);
//
// Threading: OnEvent, OnTick and Flush run on the pipeline worker only (or, once it has
// stopped, on the thread shutting down), never concurrently, so a handler's own state
// needs no lock. Report is the exception: it runs on any thread (the HTTP API's status,
// the shutdown summary) and may only read what is safe to read concurrently (atomics,
// prometheus handles, snapshots under the handler's own mutex).
#pragma once

#include <memory>

#include "absl/time/time.h"
#include "classify/classifier.h"
#include "flow/flow.h"

namespace tw::app {

struct RunReport;

class FlowHandler {
 public:
  virtual ~FlowHandler() = default;
  // One event from the source: a flow, a LostEvent or a node status event.
  virtual void OnEvent(const flow::Event& event) = 0;
  // Every tick (about once a second in production), with the daemon's clock.
  virtual void OnTick(absl::Time /*now*/) {}
  // End of input, or the handler stops being active (a mode switch): release what is held.
  virtual void Flush() {}
  // Adds this handler's numbers to a report (the status API or the shutdown summary).
  virtual void Report(RunReport* /*report*/) const {}
};

// Receives each counted, classified drop. Shared ownership: the ring keeps the object the
// metrics counted, without a copy.
class DropHandler {
 public:
  virtual ~DropHandler() = default;
  virtual void OnDrop(const std::shared_ptr<const classify::Classification>& drop) = 0;
};

}  // namespace tw::app
