#include "suggest/selector.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tw::suggest {

namespace {

// "k8s:app=x" -> {source "k8s", key "app", value "x"}.
struct Parts {
  absl::string_view source, key, value;
};
Parts Split(absl::string_view label) {
  Parts p;
  size_t eq = label.find('=');
  absl::string_view head = label.substr(0, eq);
  p.value = eq == absl::string_view::npos ? absl::string_view() : label.substr(eq + 1);
  size_t colon = head.find(':');
  if (colon != absl::string_view::npos) {
    p.source = head.substr(0, colon);
    p.key = head.substr(colon + 1);
  } else {
    p.key = head;
  }
  return p;
}

bool Has(absl::Span<const flow::Symbol> labels, const MatchLabel& m) {
  absl::string_view want_source;
  absl::string_view want_key = m.key;
  size_t colon = want_key.find(':');
  if (colon != absl::string_view::npos) {
    want_source = want_key.substr(0, colon);
    want_key.remove_prefix(colon + 1);
  }
  for (flow::Symbol l : labels) {
    Parts p = Split(l.view());
    if (p.key != want_key || p.value != m.value) continue;
    if (!want_source.empty() && want_source != "any" && p.source != want_source) continue;
    return true;
  }
  return false;
}

}  // namespace

const std::vector<std::string>& StableLabelKeys() {
  static const std::vector<std::string>* const kKeys =
      new std::vector<std::string>{"app.kubernetes.io/name",
                                   "app.kubernetes.io/instance",
                                   "app",
                                   "k8s-app",
                                   "name",
                                   "version",
                                   std::string(kServiceAccountKey)};
  return *kKeys;
}

bool LabelsMatch(absl::Span<const flow::Symbol> labels, const std::vector<MatchLabel>& selector) {
  for (const MatchLabel& m : selector) {
    if (!Has(labels, m)) return false;
  }
  return true;
}

SelectorChooser::SelectorChooser(const baseline::Baseline& b) : baseline_(b) {
  for (const auto& [peer, labels] : b.LabelledWorkloads()) {
    if (labels.empty()) continue;
    by_namespace_[peer.namespace_.str()].push_back(Known{peer, labels});
  }
}

std::vector<flow::Peer> SelectorChooser::WorkloadsIn(absl::string_view ns) const {
  std::vector<flow::Peer> out;
  auto it = by_namespace_.find(ns);
  if (it == by_namespace_.end()) return out;
  for (const Known& k : it->second) out.push_back(k.peer);
  return out;  // LabelledWorkloads() is sorted, and so is each namespace's list
}

std::vector<std::string> SelectorChooser::Namespaces() const {
  std::vector<std::string> out;
  for (const auto& [ns, _] : by_namespace_) out.push_back(ns);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<SelectorChoice> SelectorChooser::Choose(const flow::Peer& workload,
                                                      std::string* why) const {
  auto labels = baseline_.Labels(workload);
  if (!labels || labels->empty()) {
    if (why) {
      *why = absl::StrCat("the labels of ", workload.ToString(),
                          " are unknown (a baseline from before tierwatch kept labels, or no "
                          "flow showed its endpoint); relearn it from flows");
    }
    if (!workload.namespace_.empty() && !workload.name.empty()) {
      SelectorChoice c;
      c.unique = false;
      c.labels_unknown = true;
      c.also_selects = WorkloadsIn(workload.namespace_.view());
      c.also_selects.erase(std::remove(c.also_selects.begin(), c.also_selects.end(), workload),
                           c.also_selects.end());
      return c;
    }
    return std::nullopt;
  }
  // Candidates: the workload's own k8s labels under a stable key, in preference order.
  std::vector<MatchLabel> candidates;
  for (const std::string& key : StableLabelKeys()) {
    for (flow::Symbol l : *labels) {
      Parts p = Split(l.view());
      if (p.source == "k8s" && p.key == key) {
        candidates.push_back(MatchLabel{key, std::string(p.value)});
        break;
      }
    }
  }
  if (candidates.empty() || (candidates.size() == 1 && candidates[0].key == "version")) {
    if (why) {
      *why = absl::StrCat(workload.ToString(),
                          " carries none of the stable labels a selector may use "
                          "(app.kubernetes.io/name, app, k8s-app, name, version, service account)");
    }
    return std::nullopt;
  }
  std::vector<const Known*> others;
  auto it = by_namespace_.find(workload.namespace_.view());
  if (it != by_namespace_.end()) {
    for (const Known& k : it->second) {
      if (k.peer != workload) others.push_back(&k);
    }
  }
  auto selects_other = [&](const std::vector<MatchLabel>& sel) {
    for (const Known* o : others) {
      if (LabelsMatch(o->labels, sel)) return true;
    }
    return false;
  };
  // `version` qualifies a workload but never names one: a selector of versions alone would
  // pick up the next workload that ships a v2. Every set holds an identifying label.
  auto identifies = [](const std::vector<MatchLabel>& sel) {
    for (const MatchLabel& m : sel) {
      if (m.key != "version") return true;
    }
    return false;
  };
  // Smallest subset first; among equal sizes the one of most preferred keys (lexicographic
  // over preference indexes), so the choice is deterministic.
  const size_t n = candidates.size();
  for (size_t size = 1; size <= n; ++size) {
    std::vector<size_t> idx(size);
    for (size_t i = 0; i < size; ++i) idx[i] = i;
    while (true) {
      std::vector<MatchLabel> sel;
      for (size_t i : idx) sel.push_back(candidates[i]);
      if (identifies(sel) && !selects_other(sel)) return SelectorChoice{std::move(sel), true, {}};
      // Next combination.
      size_t i = size;
      while (i > 0 && idx[i - 1] == n - size + i - 1) --i;
      if (i == 0) break;
      ++idx[i - 1];
      for (size_t j = i; j < size; ++j) idx[j] = idx[j - 1] + 1;
    }
  }
  SelectorChoice c;
  c.labels = candidates;
  c.unique = false;
  for (const Known* o : others) {
    if (LabelsMatch(o->labels, c.labels)) c.also_selects.push_back(o->peer);
  }
  return c;
}

}  // namespace tw::suggest
