// Comparing two baselines: which connections are new in the later one, and which vanished
// from the earlier one. Used by `tierwatch baseline diff A B` and `tierwatch audit`.
//
//   BaselineDiff d = DiffBaselines(documented, observed);
//   if (!d.empty()) { std::cout << RenderDiffText(d, labels); return 1; }
//
// Only the connection keys are compared (source, destination, protocol, port); counts and
// times differ between any two learning periods and are not differences.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "baseline/baseline.h"

namespace tw::baseline {

struct BaselineDiff {
  // Both sorted by key. The records point into the baselines compared: keep those alive.
  std::vector<ConnectionRecord> added;    // in `after`, not in `before`
  std::vector<ConnectionRecord> removed;  // in `before`, not in `after`
  size_t before_size = 0;
  size_t after_size = 0;
  bool empty() const { return added.empty() && removed.empty(); }
};

BaselineDiff DiffBaselines(const Baseline& before, const Baseline& after);

// How a report names the two sides.
struct DiffLabels {
  std::string before;         // "baseline-2026-11.yaml"
  std::string after;          // "baseline-2026-12.yaml", "the observed traffic"
  std::string added_title;    // "new in baseline-2026-12.yaml"
  std::string removed_title;  // "vanished (in baseline-2026-11.yaml only)"
};

// A human report: a summary line, then "+ " / "- " lines with count, first/last seen, nodes.
std::string RenderDiffText(const BaselineDiff& diff, const DiffLabels& labels);
// One JSON object: {"before":{"name","connections"}, "after":{...}, "new":[...],
// "vanished":[...]} with connection objects as in the exported document.
std::string RenderDiffJson(const BaselineDiff& diff, const DiffLabels& labels);

}  // namespace tw::baseline
