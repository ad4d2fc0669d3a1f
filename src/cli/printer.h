// How `tierwatch observe` prints events: `compact` is one line per flow in the shape of
// `hubble observe -o compact`, `json` is one jsonpb line per event (flow::EventToJson), which
// the capture reader reads back into an equal event.
//
//   tw::cli::EventPrinter printer(stdout, stderr, tw::cli::OutputFormat::kCompact);
//   printer.Print(event);      // thread-safe
//   printer.Flush();
//
// A compact flow line:
//   Nov 28 10:00:00.123 [prod/worker-1]: business/odoo-7d9f8-x2x9z:40512 (ID:48211) ->
//   acme-v02.api.letsencrypt.org:443 (world) policy-verdict:none EGRESS DENIED (TCP Flags: SYN)
// Source and destination are ns/pod, else the DNS names Hubble attached, else the IP; then
// :port, and (ID:n) or the reserved entity ((world), (host), (kube-apiserver), ...). The
// arrow is -> for a request, <- for a reply (printed client <- server), <> when Hubble does
// not know (drops). The event type is the drop reason for drop events, the observation
// point for trace events (to-endpoint, ...), policy-verdict:<match> <direction> for policy
// verdicts (whose verdict reads ALLOWED/DENIED/AUDITED), <proto>-<request|response> for L7.
// Times are UTC. Lost events and relay node status go to the error stream in compact form.
#pragma once

#include <cstdio>
#include <string>

#include "absl/synchronization/mutex.h"
#include "flow/flow.h"

namespace tw::cli {

enum class OutputFormat { kCompact, kJson };

std::string FormatCompactFlow(const flow::Flow& f, flow::Symbol node);
std::string FormatCompactLost(const flow::Event& ev);
std::string FormatCompactNodeStatus(const flow::Event& ev);

class EventPrinter {
 public:
  // `node_status_to_out`: in json mode, write node_status events to `out` too (a capture
  // re-printed stays complete); otherwise they go to `err` (as hubble does).
  EventPrinter(std::FILE* out, std::FILE* err, OutputFormat format, bool node_status_to_out = false)
      : out_(out), err_(err), format_(format), node_status_to_out_(node_status_to_out) {}

  void Print(const flow::Event& ev);
  void Flush();
  uint64_t flows_printed() const {
    absl::MutexLock lock(&mu_);
    return flows_;
  }

 private:
  std::FILE* out_;
  std::FILE* err_;
  OutputFormat format_;
  bool node_status_to_out_;
  mutable absl::Mutex mu_;
  uint64_t flows_ = 0;
};

}  // namespace tw::cli
