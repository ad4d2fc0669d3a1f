#include "common/yaml_schema.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/time_format.h"
#include "yaml-cpp/depthguard.h"

namespace tw::yaml {
namespace {

int LineOf(const YAML::Node& n) { return n.Mark().is_null() ? 0 : n.Mark().line + 1; }
int ColumnOf(const YAML::Node& n) { return n.Mark().is_null() ? 0 : n.Mark().column + 1; }

class Walker {
 public:
  Walker(const TreeLimits& limits, std::vector<TreeProblem>* out) : limits_(limits), out_(out) {}

  // False once a limit is hit: the caller unwinds without visiting anything else.
  bool Visit(const YAML::Node& n, int depth) {
    if (++visited_ > limits_.max_nodes) {
      Add(TreeProblem::Code::kAliasExpansion, n,
          absl::StrCat("the document expands to more than ", limits_.max_nodes,
                       " YAML nodes (aliases nested inside aliases?); refusing to read it"));
      return false;
    }
    if (!n.IsMap() && !n.IsSequence()) return true;
    if (depth >= limits_.max_depth) {
      Add(TreeProblem::Code::kTooDeep, n,
          absl::StrCat("nested deeper than ", limits_.max_depth, " levels; refusing to read it"));
      return false;
    }
    if (n.IsSequence()) {
      path_.push_back(Step{nullptr, 0});
      for (const YAML::Node& item : n) {
        bool ok = Visit(item, depth + 1);
        if (!ok) return false;  // path_ is kept as it was: the report is already written
        ++path_.back().index;
      }
      path_.pop_back();
      return true;
    }
    // Most mappings are small: a linear scan of the keys seen so far beats hashing.
    std::vector<std::pair<const std::string*, int>> seen;
    static const std::string kComplexKey = "?";
    for (const auto& kv : n) {
      const bool scalar_key = kv.first.IsScalar();
      const std::string* key = scalar_key ? &kv.first.Scalar() : &kComplexKey;
      path_.push_back(Step{key, 0});
      if (scalar_key) {
        auto it =
            std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return *s.first == *key; });
        if (it != seen.end()) {
          Duplicate(kv.first, it->second);
        } else {
          seen.emplace_back(key, LineOf(kv.first));
        }
      }
      if (!Visit(kv.first, depth + 1) || !Visit(kv.second, depth + 1)) return false;
      path_.pop_back();
    }
    return true;
  }

 private:
  // One step of the path from the root: a mapping key, or a list index (key == nullptr).
  // Keys point into the tree, which outlives the walk; the text is built only to report.
  struct Step {
    const std::string* key;
    size_t index;
  };

  void Duplicate(const YAML::Node& key_node, int first) {
    // An aliased mapping is visited once per alias: report each duplicate once.
    if (!reported_.emplace(LineOf(key_node), ColumnOf(key_node)).second) return;
    Add(TreeProblem::Code::kDuplicateKey, key_node,
        first > 0 ? absl::StrCat("duplicate key (first given at line ", first, ")")
                  : std::string("duplicate key"));
  }

  void Add(TreeProblem::Code code, const YAML::Node& n, std::string message) {
    TreeProblem p;
    p.code = code;
    p.line = LineOf(n);
    p.column = ColumnOf(n);
    for (const Step& s : path_) {
      if (s.key == nullptr) {
        absl::StrAppend(&p.path, "[", s.index, "]");
      } else {
        absl::StrAppend(&p.path, p.path.empty() ? "" : ".", *s.key);
      }
    }
    // A bomb's path can be as long as its nesting; keep the message readable.
    if (p.path.size() > 200) p.path = p.path.substr(0, 200) + "...";
    p.message = std::move(message);
    out_->push_back(std::move(p));
  }

  const TreeLimits& limits_;
  std::vector<TreeProblem>* out_;
  size_t visited_ = 0;
  std::vector<Step> path_;
  std::set<std::pair<int, int>> reported_;
};

}  // namespace

TreeLimits LimitsFor(size_t bytes) {
  TreeLimits limits;
  limits.max_nodes = std::max<size_t>(limits.max_nodes, bytes * 16);
  return limits;
}

std::string TreeProblem::ToString() const {
  return path.empty() ? message : absl::StrCat(path, ": ", message);
}

std::vector<TreeProblem> CheckTree(const YAML::Node& root, const TreeLimits& limits) {
  std::vector<TreeProblem> problems;
  if (!root.IsDefined()) return problems;
  Walker w(limits, &problems);
  try {
    w.Visit(root, 0);
  } catch (const YAML::Exception& e) {
    // Iteration of a malformed tree (an alias to nowhere) throws; the reader reports it.
  }
  return problems;
}

bool HasLimitProblem(const std::vector<TreeProblem>& problems) {
  return std::any_of(problems.begin(), problems.end(), [](const TreeProblem& p) {
    return p.code != TreeProblem::Code::kDuplicateKey;
  });
}

std::string LoadErrorMessage(const YAML::Exception& e) {
  if (dynamic_cast<const YAML::DeepRecursion*>(&e) != nullptr) {
    return "nested too deeply (more than yaml-cpp's limit of about 500 levels of lists or maps)";
  }
  return e.msg;
}

namespace {

// Levenshtein distance over ASCII-lowercased text.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      bool same = absl::ascii_tolower(a[i - 1]) == absl::ascii_tolower(b[j - 1]);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string ClosestName(absl::string_view name, const std::vector<absl::string_view>& known) {
  std::string best;
  size_t best_distance = 3;  // two edits at most: a typo, not a different word
  for (absl::string_view k : known) {
    size_t d = EditDistance(name, k);
    // A one- or two-letter name is "close" to every short name; offer only what keeps
    // most of the name.
    if (d < best_distance && d < std::max(name.size(), k.size())) {
      best_distance = d;
      best = std::string(k);
    }
  }
  return best;
}

std::string UnknownKeyMessageOf(absl::string_view noun, absl::string_view key,
                                const std::vector<absl::string_view>& known) {
  std::string out = absl::StrCat("unknown ", noun, " \"", key, "\"");
  std::string closest = ClosestName(key, known);
  if (!closest.empty()) absl::StrAppend(&out, " (did you mean \"", closest, "\"?)");
  if (!known.empty()) absl::StrAppend(&out, "; expected one of: ", absl::StrJoin(known, ", "));
  return out;
}

void Reader::Error(const YAML::Node& at, std::string path, std::string message) {
  const YAML::Mark m = at.Mark();
  if (m.is_null()) {
    ErrorAt(0, 0, std::move(path), std::move(message));
  } else {
    ErrorAt(m.line + 1, m.column + 1, std::move(path), std::move(message));
  }
}

void Reader::ErrorAt(int line, int column, std::string path, std::string message) {
  Diagnostic d = Diagnostic::Error(file_, line, std::move(message), column);
  d.path = std::move(path);
  diagnostics_.push_back(std::move(d));
}

std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar: {
      // A pasted block would bury the message and break its one line; the position says
      // where the rest is. Cut at a character boundary, never inside a UTF-8 sequence.
      const std::string& s = n.Scalar();
      size_t end = std::min(s.find('\n'), s.size());
      if (end <= 60 && end == s.size()) return absl::StrCat("\"", s, "\"");
      end = std::min<size_t>(end, 57);
      while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
      return absl::StrCat("\"", s.substr(0, end), "...\"");
    }
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing";
  }
}

YAML::Node KeyNode(const YAML::Node& map, absl::string_view key) {
  if (map.IsMap()) {
    for (const auto& kv : map) {
      if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.first;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

namespace {

// "a or b", "one of a, b or c": how a message names the values it expected.
std::string Alternatives(const std::vector<absl::string_view>& names) {
  if (names.empty()) return "nothing";
  if (names.size() == 1) return std::string(names[0]);
  std::vector<absl::string_view> head(names.begin(), names.end() - 1);
  return absl::StrCat(names.size() > 2 ? "one of " : "", absl::StrJoin(head, ", "), " or ",
                      names.back());
}

}  // namespace

bool Reader::Map(const YAML::Node& n, const std::string& path,
                 const std::vector<absl::string_view>& keys) {
  Visited(path, n);
  if (!n.IsMap()) {
    Error(n, path,
          absl::StrCat("expected a mapping with keys (", absl::StrJoin(keys, ", "), "), got ",
                       Describe(n)));
    return false;
  }
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) {
      Error(kv.first, path, absl::StrCat("expected a key name, got ", Describe(kv.first)));
      continue;
    }
    const std::string& key = kv.first.Scalar();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      Error(kv.first, path, UnknownKeyMessage("key", key, keys));
    }
  }
  return true;
}

bool Reader::MapOrEmpty(const YAML::Node& n, const std::string& path,
                        const std::vector<absl::string_view>& keys) {
  if (n.IsNull()) {
    Visited(path, n);
    return true;
  }
  return Map(n, path, keys);
}

bool Reader::String(const YAML::Node& n, const std::string& path, std::string* out) {
  Visited(path, n);
  if (!n.IsScalar()) {
    Error(n, path, absl::StrCat("expected a string, got ", Describe(n)));
    return false;
  }
  *out = n.Scalar();
  return true;
}

bool Reader::StringOrEmpty(const YAML::Node& n, const std::string& path, std::string* out) {
  if (n.IsNull()) {
    Visited(path, n);
    out->clear();
    return true;
  }
  return String(n, path, out);
}

bool Reader::StringList(const YAML::Node& n, const std::string& path,
                        std::vector<std::string>* out) {
  Visited(path, n);
  out->clear();
  if (n.IsNull()) return true;
  if (n.IsScalar()) {
    Visited(absl::StrCat(path, "[0]"), n);
    out->push_back(n.Scalar());
    return true;
  }
  if (!n.IsSequence()) {
    Error(n, path, absl::StrCat("expected a string or a list of strings, got ", Describe(n)));
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < n.size(); ++i) {
    const YAML::Node item = n[i];
    if (!item.IsScalar()) {  // reported at its place in the list, and left out
      Error(item, absl::StrCat(path, "[", i, "]"),
            absl::StrCat("expected a string, got ", Describe(item)));
      ok = false;
      continue;
    }
    // Visited as the index it gets in `out`: a later check of (*out)[k], by the path
    // "path[k]", finds the line of that string.
    Visited(absl::StrCat(path, "[", out->size(), "]"), item);
    out->push_back(item.Scalar());
  }
  return ok;
}

bool Reader::Bool(const YAML::Node& n, const std::string& path, bool* out) {
  Visited(path, n);
  const std::string s = n.IsScalar() ? absl::AsciiStrToLower(n.Scalar()) : "";
  if (s == "true" || s == "false") {
    *out = s == "true";
    return true;
  }
  Error(n, path, absl::StrCat("expected true or false, got ", Describe(n)));
  return false;
}

bool Reader::Int(const YAML::Node& n, const std::string& path, int64_t lo, int64_t hi,
                 int64_t* out) {
  Visited(path, n);
  int64_t v = 0;
  if (!n.IsScalar() || !absl::SimpleAtoi(n.Scalar(), &v) || v < lo || v > hi) {
    Error(n, path,
          absl::StrCat("expected an integer from ", lo, " to ", hi, ", got ", Describe(n)));
    return false;
  }
  *out = v;
  return true;
}

bool Reader::Uint(const YAML::Node& n, const std::string& path, uint64_t max, uint64_t* out) {
  Visited(path, n);
  uint64_t v = 0;
  if (!n.IsScalar() || !absl::SimpleAtoi(n.Scalar(), &v) || v > max) {
    Error(n, path, absl::StrCat("expected an integer from 0 to ", max, ", got ", Describe(n)));
    return false;
  }
  *out = v;
  return true;
}

bool Reader::Duration(const YAML::Node& n, const std::string& path, absl::Duration* out) {
  Visited(path, n);
  absl::StatusOr<absl::Duration> d =
      n.IsScalar() ? tw::ParseDuration(n.Scalar()) : absl::InvalidArgumentError("not a scalar");
  if (!d.ok()) {
    // ParseDuration's own message repeats the value; one wording names the units instead.
    Error(n, path,
          absl::StrCat("expected a duration such as 30s, 5m or 168h (units ns, us, ms, s, m, h, "
                       "d), got ",
                       Describe(n)));
    return false;
  }
  *out = *d;
  return true;
}

bool Reader::PositiveDuration(const YAML::Node& n, const std::string& path, absl::Duration* out) {
  absl::Duration d;
  if (!Duration(n, path, &d)) return false;
  if (d <= absl::ZeroDuration()) {
    Error(n, path,
          absl::StrCat("expected a duration longer than zero such as 30s, got ", Describe(n)));
    return false;
  }
  *out = d;
  return true;
}

int Reader::ChoiceIndex(const YAML::Node& n, const std::string& path,
                        const std::vector<absl::string_view>& names) {
  Visited(path, n);
  if (n.IsScalar()) {
    auto it = std::find(names.begin(), names.end(), n.Scalar());
    if (it != names.end()) return static_cast<int>(it - names.begin());
  }
  Error(n, path, ExpectedOneOf(names, Describe(n), n.IsScalar() ? n.Scalar() : ""));
  return -1;
}

std::string ExpectedOneOf(const std::vector<absl::string_view>& names, absl::string_view got,
                          absl::string_view scalar) {
  std::string message = absl::StrCat("expected ", Alternatives(names), ", got ", got);
  if (!scalar.empty()) {
    std::string closest = ClosestName(scalar, names);
    if (!closest.empty()) absl::StrAppend(&message, " (did you mean \"", closest, "\"?)");
  }
  return message;
}

}  // namespace tw::yaml
