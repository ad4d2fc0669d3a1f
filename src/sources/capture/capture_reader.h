// Reads `hubble observe -o jsonpb` captures (files or "-" for stdin), line by line.
//
//   tw::sources::CaptureReader reader({"before.jsonl"}, symbols, {.strict = false});
//   absl::Status st = reader.Run([](tw::flow::Event&& ev) { ...; return true; });
//   reader.stats().malformed;   // lines reported (file:line: why) and skipped
//
// A malformed line is logged as "FILE:LINE: message" on the error stream and skipped;
// with `strict` the first one ends Run() with InvalidArgument carrying FILE:LINE. Empty
// lines are skipped silently. A missing file is NotFound naming the path, reported before
// any event is delivered. Files are read in large chunks; stdin ("-", reported as
// "<stdin>") line by line, so a live `hubble observe -f -o jsonpb | ...` flows through
// (Stop() takes effect at the next line there). With several inputs, flows are
// de-duplicated by uuid across them (CaptureOptions::dedupe_uuids).
#pragma once

#include <atomic>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "flow/flow.h"
#include "sources/source.h"

namespace tw::sources {

struct CaptureOptions {
  bool strict = false;
  // Where "FILE:LINE: message" reports of malformed lines go (nullptr = spdlog warn).
  std::ostream* errors = nullptr;
  // Stop reporting individual lines after this many (the count goes on).
  uint64_t max_reported_errors = 100;
  // With several inputs, a flow whose uuid an earlier line had is skipped and counted in
  // stats().duplicates (the same capture given twice, overlapping per-node captures), as
  // the relay client drops re-read flows. Costs about 16 bytes per flow with a uuid; a
  // single input is read without it.
  bool dedupe_uuids = true;
};

class CaptureReader final : public FlowSource {
 public:
  CaptureReader(std::vector<std::string> files, flow::SymbolTable& symbols,
                CaptureOptions options = {});
  absl::Status Run(const EventCallback& callback) override;
  // Run() that also hands over each event's line as read (to print it unchanged).
  using LineEventCallback = std::function<bool(flow::Event&& event, absl::string_view line)>;
  absl::Status RunLines(const LineEventCallback& callback);
  void Stop() override { stop_ = true; }
  SourceStats stats() const override;

 private:
  class LinesRun;  // one RunLines call: its state and steps (capture_reader.cc)

  std::vector<std::string> files_;
  flow::SymbolTable& symbols_;
  CaptureOptions options_;
  std::atomic<bool> stop_{false};
  mutable absl::Mutex mu_;
  SourceStats stats_ ABSL_GUARDED_BY(mu_);
};

// Reads every event of the files into memory (for replay, analyze, tests).
absl::StatusOr<std::vector<flow::Event>> ReadCaptures(const std::vector<std::string>& files,
                                                      flow::SymbolTable& symbols,
                                                      CaptureOptions options = {},
                                                      SourceStats* stats = nullptr);

}  // namespace tw::sources
