// FlowSink: the seam between the pipeline and whatever consumes flows (the summary, the
// baseline learner, the classifier, later the metrics handlers).
//
//   class CountDrops : public tw::app::FlowSink {
//    public:
//     void OnEvent(const tw::flow::Event& ev) override {
//       if (ev.flow && ev.flow->verdict == tw::flow::Verdict::kDropped) ++drops;
//     }
//     uint64_t drops = 0;
//   };
//   pipeline.AddSink(&count_drops);
//
// Threading: the pipeline calls every sink from its one worker thread, in event order, so
// a sink needs no locking for its own state. Anything read from other threads (the future
// HTTP API, the final report) goes through the sink's own synchronised accessors.
#pragma once

#include "flow/flow.h"

namespace tw::app {

class FlowSink {
 public:
  virtual ~FlowSink() = default;
  // One event from the source: a flow, a LostEvent or a node status event.
  virtual void OnEvent(const flow::Event& event) = 0;
};

}  // namespace tw::app
