// What every YAML reader of tierwatch shares (config, tier model, baseline document, policy
// files): the tree checks below, one wording for unknown keys (UnknownKeyMessage), and the
// typed reads of yaml::Reader.
//
// CheckTree runs on a parsed tree before anything interprets it: a bound on alias
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
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/diagnostic.h"
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

// What a node holds, for the "got ..." half of a message: "\"x\"" (the scalar as written, its
// first line and at most 60 bytes, cut with "..."), "a list", "a mapping" or "nothing"
// (`key:` with no value).
std::string Describe(const YAML::Node& n);

// What every reader says of a value that must be one of `names` (Reader::Choice's wording,
// also for readers that hold another tree): `got` is what was found ("\"lern\"", "a list"),
// `scalar` the value itself when it is one ("" otherwise), for "did you mean":
//   expected learn or watch, got "lern" (did you mean "learn"?)
std::string ExpectedOneOf(const std::vector<absl::string_view>& names, absl::string_view got,
                          absl::string_view scalar);

// The key node of `key` in the mapping `map` (the first when repeated), undefined when there
// is none or `map` is not a mapping: where a problem with a whole section is reported (its
// value starts on the next line when it is a block).
YAML::Node KeyNode(const YAML::Node& map, absl::string_view key);

// The typed reads a YAML reader does on a tree that passed CheckTree, each reporting what is
// wrong as a Diagnostic at the node's file:line:column with its YAML path, in one wording,
// "expected WHAT, got WHAT WAS FOUND":
//   tiers.yaml:3:5: error: tiers[0].level: expected an integer from 0 to 2, got "9"
//   tw.yaml:4:14: error: learn_for: expected a duration such as 30s, 5m or 168h (units ns, us,
//     ms, s, m, h, d), got "forever"
//   tw.yaml:5:14: error: mode: expected learn or watch, got "lern" (did you mean "learn"?)
// A reader derives from it (or holds one) and adds its own element readers on top:
//
//   class TierParser : public tw::yaml::Reader {
//     ...  if (Map(node, "tiers[0]", {"level", "namespaces"})) Int(node["level"], ...);
//   };
//   return tw::DiagnosticsToStatus(parser.diagnostics());
//
// Reads take the node itself: `n["key"]` of a const mapping is undefined when the key is
// absent (test it with `if (n["key"])` to keep a default) and is the first value when the
// key is repeated (CheckTree reports the repetition).
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}
  virtual ~Reader() = default;
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // An error at `at` (file:line:column of the node; the file alone when it has no mark).
  void Error(const YAML::Node& at, std::string path, std::string message);
  void ErrorAt(int line, int column, std::string path, std::string message);

  // A mapping whose keys must be among `keys`; each other key is an error (UnknownKeyMessage),
  // and so is a key that is not a plain name. False when `n` is not a mapping:
  //   expected a mapping with keys (level, name), got a list
  bool Map(const YAML::Node& n, const std::string& path,
           const std::vector<absl::string_view>& keys);
  // Map, but nothing at all (`log:` with no value) is an empty section whose keys all keep
  // their defaults: true, and n["key"] of it is undefined.
  bool MapOrEmpty(const YAML::Node& n, const std::string& path,
                  const std::vector<absl::string_view>& keys);
  // A scalar, as written: "expected a string, got a list".
  bool String(const YAML::Node& n, const std::string& path, std::string* out);
  // String, but nothing (`listen:` with no value) reads as "": a setting left empty to turn
  // something off.
  bool StringOrEmpty(const YAML::Node& n, const std::string& path, std::string* out);
  // A list of strings, where one string is a list of one and nothing is an empty list. Items
  // are visited as "path[i]"; a bad item is reported at it and left out.
  //   expected a string or a list of strings, got a mapping
  bool StringList(const YAML::Node& n, const std::string& path, std::vector<std::string>* out);
  // true or false, any case: "expected true or false, got \"maybe\"".
  bool Bool(const YAML::Node& n, const std::string& path, bool* out);
  // An integer in [lo, hi], whether it is no number or out of range:
  //   expected an integer from 0 to 9, got "12"
  bool Int(const YAML::Node& n, const std::string& path, int64_t lo, int64_t hi, int64_t* out);
  // A non-negative integer up to `max`, worded as Int with lo = 0.
  bool Uint(const YAML::Node& n, const std::string& path, uint64_t max, uint64_t* out);
  // A duration as tw::ParseDuration reads it (30s, 5m, 1h30m, 7d); zero is allowed.
  //   expected a duration such as 30s, 5m or 168h (units ns, us, ms, s, m, h, d), got "5 min"
  bool Duration(const YAML::Node& n, const std::string& path, absl::Duration* out);
  // Duration, longer than zero (an interval, a timeout):
  //   expected a duration longer than zero such as 30s, got "0s"
  bool PositiveDuration(const YAML::Node& n, const std::string& path, absl::Duration* out);
  // One of the names of `choices` (case matters), giving its value; a typo is offered the
  // closest name:
  //   expected learn or watch, got "lern" (did you mean "learn"?)
  //   expected one of trace, debug, info, warn, error or off, got "verbose"
  template <typename T>
  bool Choice(const YAML::Node& n, const std::string& path,
              const std::vector<std::pair<absl::string_view, T>>& choices, T* out);

  const std::string& file() const { return file_; }
  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }

 protected:
  // Every value a typed read looks at, before it is checked: a reader that reports semantic
  // problems later, by path, remembers where each path was.
  virtual void Visited(const std::string& path, const YAML::Node& n) {
    (void)path;
    (void)n;
  }

 private:
  // The non-template core of Choice: the index of the name `n` holds, or -1 (reported).
  int ChoiceIndex(const YAML::Node& n, const std::string& path,
                  const std::vector<absl::string_view>& names);

  std::string file_;
  std::vector<Diagnostic> diagnostics_;
};

// What a YAML::Exception from YAML::Load means, for a diagnostic: yaml-cpp reports nesting
// beyond its depth limit as "bad file", which says nothing; this says what it is.
std::string LoadErrorMessage(const YAML::Exception& e);

// The non-template core of UnknownKeyMessage.
std::string UnknownKeyMessageOf(absl::string_view noun, absl::string_view key,
                                const std::vector<absl::string_view>& known);

template <typename Names>
std::string UnknownKeyMessage(absl::string_view noun, absl::string_view key, const Names& known) {
  std::vector<absl::string_view> names;
  for (const auto& n : known) names.emplace_back(n);
  return UnknownKeyMessageOf(noun, key, names);
}

template <typename T>
bool Reader::Choice(const YAML::Node& n, const std::string& path,
                    const std::vector<std::pair<absl::string_view, T>>& choices, T* out) {
  std::vector<absl::string_view> names;
  names.reserve(choices.size());
  for (const auto& c : choices) names.push_back(c.first);
  const int i = ChoiceIndex(n, path, names);
  if (i < 0) return false;
  *out = choices[static_cast<size_t>(i)].second;
  return true;
}

}  // namespace tw::yaml
