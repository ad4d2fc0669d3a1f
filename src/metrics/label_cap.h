// LabelCap: bounds how many distinct values a metric label takes, so that a cluster with
// thousands of namespaces (or a flood of scans) cannot grow /metrics without limit. The
// first `max_values` distinct values are kept as they are; every later one is counted
// under one "_other" value.
//
//   tw::metrics::LabelCap namespaces(200);
//   const std::string& ns = namespaces.Admit(flow_namespace);   // "business" or "_other"
//   drops.Add({{"namespace", ns}, ...}).Increment();
//
// First come, first kept: a namespace once admitted stays (its series must not jump to
// "_other" later, which would make rate() lie). Not thread-safe: one owner (the pipeline
// worker).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/container/node_hash_set.h"
#include "absl/strings/string_view.h"

namespace tw::metrics {

inline constexpr absl::string_view kOtherLabelValue = "_other";

class LabelCap {
 public:
  explicit LabelCap(size_t max_values) : max_(max_values) {}
  // The label value to use for `value`. The reference stays valid for the cap's lifetime.
  const std::string& Admit(absl::string_view value);
  size_t admitted() const { return admitted_.size(); }
  uint64_t folded() const { return folded_; }  // Admit calls answered with "_other"
  size_t max_values() const { return max_; }

 private:
  const size_t max_;
  absl::node_hash_set<std::string> admitted_;
  const std::string other_{kOtherLabelValue};
  uint64_t folded_ = 0;
};

}  // namespace tw::metrics
