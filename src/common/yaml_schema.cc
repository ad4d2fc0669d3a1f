#include "common/yaml_schema.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

bool Reader::Map(const YAML::Node& n, const std::string& path,
                 const std::vector<absl::string_view>& keys) {
  Visited(path, n);
  if (!n.IsMap()) {
    Error(n, path, absl::StrCat("expected a mapping with keys ", absl::StrJoin(keys, ", ")));
    return false;
  }
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      Error(kv.first, path, UnknownKeyMessage("key", key, keys));
    }
  }
  return true;
}

bool Reader::String(const YAML::Node& n, const std::string& path, std::string* out) {
  Visited(path, n);
  if (!n.IsScalar()) {
    Error(n, path, "expected a string");
    return false;
  }
  *out = n.Scalar();
  return true;
}

bool Reader::Bool(const YAML::Node& n, const std::string& path, bool* out) {
  Visited(path, n);
  const std::string s = n.IsScalar() ? absl::AsciiStrToLower(n.Scalar()) : "";
  if (s == "true" || s == "false") {
    *out = s == "true";
    return true;
  }
  Error(n, path, "expected true or false");
  return false;
}

bool Reader::Int(const YAML::Node& n, const std::string& path, int64_t lo, int64_t hi,
                 int64_t* out) {
  Visited(path, n);
  int64_t v = 0;
  if (!n.IsScalar() || !absl::SimpleAtoi(n.Scalar(), &v)) {
    Error(n, path, absl::StrCat("expected an integer from ", lo, " to ", hi));
    return false;
  }
  if (v < lo || v > hi) {
    Error(n, path, absl::StrCat(v, " is out of range (", lo, " to ", hi, ")"));
    return false;
  }
  *out = v;
  return true;
}

bool Reader::Uint(const YAML::Node& n, const std::string& path, uint64_t max, uint64_t* out) {
  Visited(path, n);
  uint64_t v = 0;
  if (!n.IsScalar() || !absl::SimpleAtoi(n.Scalar(), &v) || v > max) {
    Error(n, path, absl::StrCat("expected an integer from 0 to ", max));
    return false;
  }
  *out = v;
  return true;
}

}  // namespace tw::yaml
