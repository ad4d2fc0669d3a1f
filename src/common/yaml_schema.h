// Checks every YAML reader runs on a parsed tree before interpreting it: a bound on alias
// expansion (a few hundred bytes of nested aliases expand to billions of nodes: the "billion
// laughs" bomb), a bound on nesting depth, and duplicate mapping keys (yaml-cpp keeps both
// and a lookup silently returns the first, so a second `tiers:` would be ignored).
//
//   YAML::Node root = YAML::Load(text);
//   for (const tw::yaml::TreeProblem& p :
//        tw::yaml::CheckTree(root, tw::yaml::LimitsFor(text.size()))) {
//     errors.push_back(absl::StrCat(file, ":", p.line, ":", p.column, ": ", p.ToString()));
//   }
//   if (!errors.empty()) return ...;   // never walk a tree that failed the budget
//
// yaml-cpp shares the anchored node for each alias (the parse itself stays small); the cost
// appears when a reader walks or copies the tree. CheckTree walks it as a reader would,
// counting every node it visits, and stops as soon as the budget is spent, so a bomb costs
// at most `max_nodes` steps. Lines and columns are 1-based, relative to the parsed text.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "yaml-cpp/yaml.h"

namespace tw::yaml {

struct TreeLimits {
  // Nodes visited with every alias expanded (a mapping entry counts its key and value).
  size_t max_nodes = 100000;
  // Nesting of mappings and lists.
  int max_depth = 200;
};

// Limits for a text of `bytes` bytes: a document without aliases holds fewer nodes than
// bytes, so 16 × its size (at least 100,000 nodes) leaves room for any honest use of
// anchors while a bomb is refused after a bounded walk.
TreeLimits LimitsFor(size_t bytes);

struct TreeProblem {
  enum class Code { kAliasExpansion, kTooDeep, kDuplicateKey };
  Code code = Code::kDuplicateKey;
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown
  std::string path;  // where in the document: "relay.filters[0].verdict"
  std::string message;
  // "path: message" (or just the message at the root)
  std::string ToString() const;
};

// Walks `root` (aliases expanded) within `limits`. Returns every duplicate key (each
// reported once, at the second occurrence, naming the line of the first) and, when a
// limit is hit, one problem for it; the walk stops there. Empty = safe to interpret.
std::vector<TreeProblem> CheckTree(const YAML::Node& root, const TreeLimits& limits);

// True when any problem is a limit (the tree must not be walked further).
bool HasLimitProblem(const std::vector<TreeProblem>& problems);

// Unknown keys, said one way by every reader:
//   unknown key "teirs" (did you mean "tiers"?); expected one of: tiers, dns_service, ...
// `noun` is what the format calls a key ("key"; "field" in Kubernetes objects).
template <typename Names>
std::string UnknownKeyMessage(absl::string_view noun, absl::string_view key, const Names& known);

// The known name closest to `name` (at most two edits away, case ignored), "" when none is;
// what "did you mean" offers. Ties go to the earlier name.
std::string ClosestName(absl::string_view name, const std::vector<absl::string_view>& known);

// What a YAML::Exception from YAML::Load means, for a diagnostic: yaml-cpp reports nesting
// beyond its depth limit as "bad file", which says nothing; this says what it is.
std::string LoadErrorMessage(const YAML::Exception& e);

std::string UnknownKeyMessageOf(absl::string_view noun, absl::string_view key,
                                const std::vector<absl::string_view>& known);

template <typename Names>
std::string UnknownKeyMessage(absl::string_view noun, absl::string_view key, const Names& known) {
  std::vector<absl::string_view> names;
  for (const auto& n : known) names.emplace_back(n);
  return UnknownKeyMessageOf(noun, key, names);
}

}  // namespace tw::yaml
