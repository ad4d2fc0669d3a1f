#include "classify/aggregate.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tw::classify {

namespace {
constexpr size_t kMaxNodes = 16;
constexpr size_t kMaxPolicies = 8;

void AddUnique(std::vector<std::string>& v, absl::string_view s, size_t cap) {
  if (s.empty() || v.size() >= cap) return;
  auto it = std::lower_bound(v.begin(), v.end(), s);
  if (it != v.end() && *it == s) return;
  v.insert(it, std::string(s));
}
}  // namespace

uint64_t AggregateSnapshot::events_of(DropSeverity s) const {
  uint64_t n = 0;
  for (DropClass c : AllDropClasses()) {
    if (SeverityOf(c) == s) n += of(c).events;
  }
  return n;
}

std::vector<const ConnectionCount*> AggregateSnapshot::Top(DropClass c, size_t limit) const {
  std::vector<const ConnectionCount*> out;
  for (const ConnectionCount& cc : connections) {
    if (cc.drop_class == c) out.push_back(&cc);
  }
  if (limit != 0 && out.size() > limit) out.resize(limit);
  return out;
}

// --- DropAggregator -------------------------------------------------------------------------

DropAggregator::DropAggregator(size_t max_connections_per_class)
    : max_per_class_(max_connections_per_class == 0 ? 1 : max_connections_per_class) {}

void DropAggregator::Add(const Classification& c) {
  const int ci = static_cast<int>(c.drop_class);
  std::string key = c.ConnectionText();
  absl::MutexLock lock(&mu_);
  ClassTotals& t = totals_[ci];
  ++t.events;
  if (c.predicted) ++t.predicted_events;
  auto& map = by_class_[ci];
  auto it = map.find(key);
  if (it == map.end()) {
    if (map.size() >= max_per_class_) {
      ++t.untracked_events;
      return;
    }
    it = map.emplace(key, ConnectionCount{}).first;
    it->second.drop_class = c.drop_class;
    it->second.connection = key;
    it->second.first_seen = c.flow.time;
    ++t.connections;
  }
  ConnectionCount& cc = it->second;
  ++cc.events;
  if (c.predicted) ++cc.predicted_events;
  cc.first_seen = std::min(cc.first_seen, c.flow.time);
  cc.last_seen = std::max(cc.last_seen, c.flow.time);
  cc.in_baseline = cc.in_baseline || c.in_baseline;
  AddUnique(cc.nodes, c.flow.node_name.view(), kMaxNodes);
  const int si = static_cast<int>(c.enforcing_side);
  if (cc.side_events[si]++ == 0) {
    cc.example_id[si] = c.id;
    cc.explanation[si] = c.explanation;
  }
  for (const PolicyRefInfo* p : c.attribution.Responsible()) {
    AddUnique(cc.policies, p->DisplayName(), kMaxPolicies);
  }
}

AggregateSnapshot DropAggregator::Snapshot() const {
  AggregateSnapshot s;
  absl::MutexLock lock(&mu_);
  s.classes = totals_;
  for (int i = 0; i < kDropClassCount; ++i) {
    s.events += totals_[i].events;
    s.predicted_events += totals_[i].predicted_events;
    size_t start = s.connections.size();
    for (const auto& [key, cc] : by_class_[i]) s.connections.push_back(cc);
    std::sort(s.connections.begin() + start, s.connections.end(),
              [](const ConnectionCount& a, const ConnectionCount& b) {
                if (a.events != b.events) return a.events > b.events;
                return a.connection < b.connection;
              });
  }
  return s;
}

uint64_t DropAggregator::events() const {
  absl::MutexLock lock(&mu_);
  uint64_t n = 0;
  for (const auto& t : totals_) n += t.events;
  return n;
}

void DropAggregator::Clear() {
  absl::MutexLock lock(&mu_);
  totals_ = {};
  for (auto& m : by_class_) m.clear();
}

// --- RecentDrops ------------------------------------------------------------------------------

void RecentDrops::Add(Classification c) {
  absl::MutexLock lock(&mu_);
  ++total_;
  ring_.push_back(std::move(c));
  while (ring_.size() > capacity_) ring_.pop_front();
}

std::vector<Classification> RecentDrops::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return std::vector<Classification>(ring_.begin(), ring_.end());
}

std::optional<Classification> RecentDrops::Find(absl::string_view id) const {
  absl::MutexLock lock(&mu_);
  for (auto it = ring_.rbegin(); it != ring_.rend(); ++it) {
    if (it->id == id) return *it;
  }
  return std::nullopt;
}

uint64_t RecentDrops::total() const {
  absl::MutexLock lock(&mu_);
  return total_;
}

// --- BypassTracker ----------------------------------------------------------------------------

std::string BypassedEndpoint::Name() const {
  std::string out = absl::StrCat(namespace_, "/", pod.empty() ? workload : pod);
  if (!pod.empty() && !workload.empty()) absl::StrAppend(&out, " (", workload, ")");
  return out;
}

BypassTracker::BypassTracker(tier::LabelRequirement label, size_t max_endpoints)
    : label_(std::move(label)), max_(max_endpoints == 0 ? 1 : max_endpoints) {}

bool BypassTracker::HasLabel(const flow::Endpoint& ep) const {
  auto v = ep.LabelValue(label_.key);
  return v && *v == label_.value;
}

void BypassTracker::Observe(const flow::Flow& f) {
  const bool src = HasLabel(f.source);
  const bool dst = HasLabel(f.destination);
  absl::MutexLock lock(&mu_);
  latest_ = std::max(latest_, f.time);
  if (src) Record(f.source, f.time);
  if (dst) Record(f.destination, f.time);
}

void BypassTracker::Record(const flow::Endpoint& ep, absl::Time at) {
  std::string key = absl::StrCat(ep.namespace_.view(), "/",
                                 ep.pod_name.empty() ? ep.WorkloadName() : ep.pod_name.view());
  auto it = endpoints_.find(key);
  if (it == endpoints_.end()) {
    if (endpoints_.size() >= max_) return;
    BypassedEndpoint b;
    b.namespace_ = ep.namespace_.str();
    b.pod = ep.pod_name.str();
    b.workload = std::string(ep.WorkloadName());
    b.identity = ep.identity;
    b.first_seen = at;
    b.last_seen = at;
    it = endpoints_.emplace(std::move(key), std::move(b)).first;
  }
  BypassedEndpoint& b = it->second;
  ++b.flows;
  b.first_seen = std::min(b.first_seen, at);
  b.last_seen = std::max(b.last_seen, at);
}

void BypassTracker::CountDrop(const Classification& c) {
  const flow::Endpoint& ep = c.enforcing_endpoint();
  if (!HasLabel(ep)) return;
  std::string key = absl::StrCat(ep.namespace_.view(), "/",
                                 ep.pod_name.empty() ? ep.WorkloadName() : ep.pod_name.view());
  absl::MutexLock lock(&mu_);
  auto it = endpoints_.find(key);
  if (it != endpoints_.end()) ++it->second.drops;
}

std::vector<BypassedEndpoint> BypassTracker::Snapshot() const {
  absl::MutexLock lock(&mu_);
  std::vector<BypassedEndpoint> out;
  out.reserve(endpoints_.size());
  for (const auto& [k, b] : endpoints_) out.push_back(b);
  std::sort(out.begin(), out.end(), [](const BypassedEndpoint& a, const BypassedEndpoint& b) {
    if (a.first_seen != b.first_seen) return a.first_seen < b.first_seen;
    return a.Name() < b.Name();
  });
  return out;
}

absl::Time BypassTracker::latest_flow_time() const {
  absl::MutexLock lock(&mu_);
  return latest_;
}

std::string FormatAge(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  int64_t s = absl::ToInt64Seconds(d);
  int64_t days = s / 86400, hours = (s / 3600) % 24, mins = (s / 60) % 60, secs = s % 60;
  if (days > 0) return absl::StrCat(days, "d", hours, "h");
  if (hours > 0) return absl::StrCat(hours, "h", mins, "m");
  if (mins > 0) return absl::StrCat(mins, "m", secs, "s");
  return absl::StrCat(secs, "s");
}

}  // namespace tw::classify
