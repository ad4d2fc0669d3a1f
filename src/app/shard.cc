#include "app/shard.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "flow/filter.h"
#include "spdlog/spdlog.h"

namespace tw::app {

std::string ShardSpec::ToString() const { return absl::StrCat(index, "/", count); }

absl::StatusOr<ShardSpec> ParseShardSpec(absl::string_view spec, absl::string_view hostname) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--shard \"", spec, "\": ", why,
        "; expected I/N (0 <= I < N, e.g. 0/2) or ordinal/N (I from the pod name's -<n>)"));
  };
  std::vector<absl::string_view> parts = absl::StrSplit(spec, '/');
  if (parts.size() != 2) return bad("not of the form I/N");
  ShardSpec s;
  if (!absl::SimpleAtoi(parts[1], &s.count) || s.count < 1 || s.count > 1024) {
    return bad("N must be a whole number from 1 to 1024");
  }
  if (parts[0] == "ordinal") {
    size_t dash = hostname.rfind('-');
    if (dash == absl::string_view::npos || !absl::SimpleAtoi(hostname.substr(dash + 1), &s.index)) {
      return bad(absl::StrCat("the host name \"", hostname,
                              "\" does not end in -<number> (a StatefulSet pod's ordinal)"));
    }
  } else if (!absl::SimpleAtoi(parts[0], &s.index)) {
    return bad("I must be a whole number or `ordinal`");
  }
  if (s.index < 0 || s.index >= s.count) {
    return bad(absl::StrCat("shard ", s.index, " does not exist among ", s.count));
  }
  return s;
}

namespace {

// FNV-1a, then a 64-bit finaliser (splitmix64) so that names differing only in a trailing
// digit still spread evenly. Fixed forever: every shard, of every version, must agree.
uint64_t Score(absl::string_view name, int shard) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (unsigned char c : name) mix(c);
  mix(0);
  for (unsigned char c : std::to_string(shard)) mix(c);
  h += 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

}  // namespace

int ShardOf(absl::string_view node_name, int count) {
  int best = 0;
  uint64_t best_score = 0;
  for (int s = 0; s < count; ++s) {
    uint64_t score = Score(node_name, s);
    if (s == 0 || score > best_score) {
      best = s;
      best_score = score;
    }
  }
  return best;
}

std::vector<std::string> NodesOf(const ShardSpec& spec, const std::vector<std::string>& nodes) {
  std::vector<std::string> out;
  for (const auto& n : nodes)
    if (ShardOf(n, spec.count) == spec.index) out.push_back(n);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<::flow::FlowFilter> ShardWhitelist(const std::vector<::flow::FlowFilter>& whitelist,
                                               const std::vector<std::string>& nodes,
                                               flow::SymbolTable& symbols) {
  auto restrict = [&](::flow::FlowFilter f, const std::vector<std::string>& names) {
    f.clear_node_name();
    for (const auto& n : names) f.add_node_name(n);
    return f;
  };
  std::vector<::flow::FlowFilter> out;
  if (nodes.empty()) {
    ::flow::FlowFilter none;
    none.add_node_name(std::string(kNoNode));
    out.push_back(none);
    return out;
  }
  if (whitelist.empty()) {
    out.push_back(restrict(::flow::FlowFilter(), nodes));
    return out;
  }
  for (const ::flow::FlowFilter& entry : whitelist) {
    if (entry.node_name_size() == 0) {
      out.push_back(restrict(entry, nodes));
      continue;
    }
    // The entry's own node_name patterns AND this shard's nodes: the nodes of this shard
    // those patterns match, judged by the filter code the relay's semantics are built on.
    ::flow::FlowFilter only_names;
    *only_names.mutable_node_name() = entry.node_name();
    auto compiled = flow::FlowFilterSet::Compile(std::vector<::flow::FlowFilter>{only_names},
                                                 std::vector<::flow::FlowFilter>{});
    std::vector<std::string> both;
    for (const auto& n : nodes) {
      flow::Flow probe;
      probe.node_name = symbols.Intern(n);
      if (!compiled.ok() || compiled->Matches(probe)) both.push_back(n);
    }
    if (!both.empty()) out.push_back(restrict(entry, both));
  }
  if (out.empty()) {
    // Every entry named only other shards' nodes: this shard asks for nothing.
    ::flow::FlowFilter none;
    none.add_node_name(std::string(kNoNode));
    out.push_back(none);
  }
  return out;
}

bool OwnsEvent(const ShardSpec& spec, const flow::Event& event) {
  if (spec.count <= 1) return true;
  // The node the event is about: a flow's own node, the first node a status event names
  // (the relay sends each status to every subscriber), else the response's node_name.
  absl::string_view node = event.node_name.view();
  if (event.flow && !event.flow->node_name.view().empty()) node = event.flow->node_name.view();
  if (event.node_status && !event.node_status->node_names.empty()) {
    node = event.node_status->node_names.front();
  }
  return ShardOf(node, spec.count) == spec.index;
}

// --- ShardController ---------------------------------------------------------------------

ShardController::ShardController(ShardOptions options, metrics::Scope& scope)
    : options_(std::move(options)),
      nodes_gauge_(scope.Gauge("tierwatch_shard_nodes",
                               "Nodes whose flows this shard reads (rendezvous hash of the "
                               "node name)")),
      count_gauge_(scope.Gauge("tierwatch_shard_count", "Shards the nodes are divided among.")),
      refresh_ok_(scope.Counter("tierwatch_shard_node_refreshes_total",
                                "Node list refreshes (GetNodes), by result.", {{"result", "ok"}})),
      refresh_error_(scope.Counter("tierwatch_shard_node_refreshes_total",
                                   "Node list refreshes (GetNodes), by result.",
                                   {{"result", "error"}})),
      skipped_(scope.CounterFamily("tierwatch_shard_skipped_events_total",
                                   "Events of other shards' nodes this shard did not count "
                                   "(lost events and node status bypass Hubble's filters).")),
      skipped_flows_(skipped_.Add({{"kind", "flow"}})),
      skipped_lost_(skipped_.Add({{"kind", "lost_events"}})),
      skipped_status_(skipped_.Add({{"kind", "node_status"}})) {
  count_gauge_.Set(options_.spec.count);
}

ShardController::~ShardController() { Stop(); }

std::vector<std::string> ShardController::Init() {
  Refresh();
  return nodes();
}

bool ShardController::Refresh() {
  auto all = options_.list_nodes();
  if (!all.ok()) {
    refresh_error_.Increment();
    spdlog::warn("shard {}: cannot list the relay's nodes, keeping {} node(s): {}",
                 options_.spec.ToString(), nodes().size(), std::string(all.status().message()));
    return false;
  }
  refresh_ok_.Increment();
  std::vector<std::string> mine = NodesOf(options_.spec, *all);
  {
    absl::MutexLock lock(&mu_);
    if (listed_ && mine == nodes_) return false;
    listed_ = true;
    nodes_ = mine;
  }
  nodes_gauge_.Set(static_cast<double>(mine.size()));
  spdlog::info("shard {}: {} of {} node(s): {}", options_.spec.ToString(), mine.size(), all->size(),
               mine.empty() ? "(none)" : absl::StrJoin(mine, ","));
  return true;
}

void ShardController::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void ShardController::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void ShardController::Loop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || wake_; };
      mu_.AwaitWithTimeout(absl::Condition(&woken), options_.refresh);
      if (stop_) return;
      wake_ = false;
    }
    if (Refresh() && options_.apply) options_.apply(nodes());
  }
}

bool ShardController::Keep(const flow::Event& event) {
  if (event.node_status) {
    absl::MutexLock lock(&mu_);
    wake_ = true;
  }
  if (OwnsEvent(options_.spec, event)) return true;
  (event.flow ? skipped_flows_ : event.lost ? skipped_lost_ : skipped_status_).Increment();
  return false;
}

std::vector<std::string> ShardController::nodes() const {
  absl::MutexLock lock(&mu_);
  return nodes_;
}

}  // namespace tw::app
