#include "baseline/diff.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "baseline/document.h"
#include "common/json_text.h"
#include "common/time_format.h"

namespace tw::baseline {

BaselineDiff DiffBaselines(const Baseline& before, const Baseline& after) {
  BaselineDiff d;
  d.before_size = before.size();
  d.after_size = after.size();
  after.ForEach([&](const ConnectionRecord& r) {
    if (!before.Contains(r.key)) d.added.push_back(r);
  });
  before.ForEach([&](const ConnectionRecord& r) {
    if (!after.Contains(r.key)) d.removed.push_back(r);
  });
  auto by_key = [](const ConnectionRecord& a, const ConnectionRecord& b) { return a.key < b.key; };
  std::sort(d.added.begin(), d.added.end(), by_key);
  std::sort(d.removed.begin(), d.removed.end(), by_key);
  return d;
}

namespace {

std::string Detail(const ConnectionRecord& r) {
  std::vector<std::string> nodes;
  for (flow::Symbol n : r.nodes) nodes.push_back(n.str());
  std::string s = absl::StrCat("count=", r.count, " first_seen=", FormatRfc3339(r.first_seen),
                               " last_seen=", FormatRfc3339(r.last_seen));
  if (!nodes.empty()) absl::StrAppend(&s, " nodes=", absl::StrJoin(nodes, ","));
  if (r.by_ip_only()) absl::StrAppend(&s, " (by IP only: no DNS name was known)");
  return s;
}

}  // namespace

std::string RenderDiffText(const BaselineDiff& d, const DiffLabels& labels) {
  std::string out;
  if (d.empty()) {
    absl::StrAppend(&out, "no differences: ", labels.before, " (", d.before_size,
                    " connections) and ", labels.after, " (", d.after_size,
                    " connections) have the same connections\n");
    return out;
  }
  absl::StrAppend(&out, d.added.size(), " new, ", d.removed.size(), " vanished: ", labels.before,
                  " (", d.before_size, " connections) -> ", labels.after, " (", d.after_size,
                  " connections)\n");
  if (!d.added.empty()) {
    absl::StrAppend(&out, "\n", labels.added_title, " (", d.added.size(), "):\n");
    for (const ConnectionRecord& r : d.added) {
      absl::StrAppend(&out, "  + ", r.key.ToString(), "\n      ", Detail(r), "\n");
    }
  }
  if (!d.removed.empty()) {
    absl::StrAppend(&out, "\n", labels.removed_title, " (", d.removed.size(), "):\n");
    for (const ConnectionRecord& r : d.removed) {
      absl::StrAppend(&out, "  - ", r.key.ToString(), "\n      ", Detail(r), "\n");
    }
  }
  return out;
}

std::string RenderDiffJson(const BaselineDiff& d, const DiffLabels& labels) {
  nlohmann::ordered_json j;
  j["before"] = {{"name", labels.before}, {"connections", d.before_size}};
  j["after"] = {{"name", labels.after}, {"connections", d.after_size}};
  j["identical"] = d.empty();
  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  for (const ConnectionRecord& r : d.added) added.push_back(ConnectionJson(r));
  nlohmann::ordered_json removed = nlohmann::ordered_json::array();
  for (const ConnectionRecord& r : d.removed) removed.push_back(ConnectionJson(r));
  j["new"] = std::move(added);
  j["vanished"] = std::move(removed);
  return tw::DumpJson(j, 2) + "\n";
}

}  // namespace tw::baseline
