// DropAnalyzer: the classifier, the twin de-duplication, the counts, the recent-drops ring
// and the bypass list, wired together. The daemon's watch mode and `tierwatch analyze`
// both drive one of these with every flow they see, in order.
//
//   tw::classify::DropAnalyzer analyzer({.tiers = &tiers, .baseline = &baseline,
//                                        .policies = evaluator_or_null, .symbols = &symbols});
//   analyzer.set_on_drop([](const tw::classify::Classification& c) { ... });  // optional
//   source.Run([&](tw::flow::Event&& ev) { analyzer.OnEvent(ev); return true; });
//   analyzer.Flush();                                    // end of input
//   tw::classify::AggregateSnapshot counts = analyzer.counts().Snapshot();
//   std::vector<tw::classify::Classification> last = analyzer.recent().Snapshot();
//   std::vector<tw::classify::BypassedEndpoint> bypassed = analyzer.bypass().Snapshot();
//
// OnEvent/OnFlow/AdvanceTo/Flush belong to one thread (the pipeline worker); counts(),
// recent() and bypass() may be read from any thread.
#pragma once

#include <functional>
#include <memory>

#include "absl/time/time.h"
#include "classify/aggregate.h"
#include "classify/classifier.h"
#include "classify/drop_stream.h"
#include "flow/flow.h"

namespace tw::classify {

struct AnalyzerOptions {
  ClassifierOptions classifier;
  DropStreamOptions stream;
  size_t recent_capacity = 1000;
  size_t max_connections_per_class = 10000;
  size_t max_bypassed_endpoints = 10000;
};

class DropAnalyzer {
 public:
  explicit DropAnalyzer(ClassifierContext context, AnalyzerOptions options = {});
  DropAnalyzer(const DropAnalyzer&) = delete;
  DropAnalyzer& operator=(const DropAnalyzer&) = delete;

  // Called for every counted drop, in input order, after it is counted.
  void set_on_drop(std::function<void(const Classification&)> fn) { on_drop_ = std::move(fn); }

  void OnEvent(const flow::Event& event);  // flows only; lost events and node status ignored
  void OnFlow(const flow::Flow& f);
  void AdvanceTo(absl::Time now) { stream_->AdvanceTo(now); }
  void Flush() { stream_->Flush(); }

  const DropClassifier& classifier() const { return classifier_; }
  const DropStreamStats& stream_stats() const { return stream_->stats(); }
  const DropAggregator& counts() const { return counts_; }
  const RecentDrops& recent() const { return recent_; }
  const BypassTracker& bypass() const { return bypass_; }

 private:
  DropClassifier classifier_;
  DropAggregator counts_;
  RecentDrops recent_;
  BypassTracker bypass_;
  std::function<void(const Classification&)> on_drop_;
  std::unique_ptr<DropStream> stream_;
};

}  // namespace tw::classify
