// FlowSource: where flows come from (a Hubble Relay stream or capture files). The
// pipeline pulls events through a callback; Stop() may be called from another thread
// (signal handling) and makes Run() return promptly.
//
//   std::unique_ptr<FlowSource> src = ...;
//   absl::Status st = src->Run([&](Event&& ev) { pipeline.Push(std::move(ev)); return true; });
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "flow/flow.h"

namespace tw::sources {

// Return false to stop the source.
using EventCallback = std::function<bool(flow::Event&& event)>;

struct SourceStats {
  uint64_t events = 0;
  uint64_t flows = 0;
  uint64_t node_status_events = 0;
  uint64_t malformed = 0;   // capture lines / relay messages skipped as malformed
  uint64_t duplicates = 0;  // flows dropped as already delivered (relay resume, capture uuid)
  uint64_t reconnects = 0;  // relay
  uint64_t unknown_enum_values = 0;  // enum names/numbers Hubble's protos do not declare
  // LostEvents by source name (PERF_EVENT_RING_BUFFER, ...): sum of num_events_lost.
  std::map<std::string, uint64_t> lost_by_source;
};

class FlowSource {
 public:
  virtual ~FlowSource() = default;
  // Delivers events until the source ends (captures: end of files; relay: not following
  // and the stream ended), the callback returns false, or Stop() is called.
  virtual absl::Status Run(const EventCallback& callback) = 0;
  virtual void Stop() = 0;
  virtual SourceStats stats() const = 0;
};

}  // namespace tw::sources
