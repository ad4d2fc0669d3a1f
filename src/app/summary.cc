#include "app/summary.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "app/report.h"
#include "common/time_format.h"
#include "flow/connection.h"

namespace tw::app {

namespace {
// Hubble's name of a known event type, "" for others.
absl::string_view KnownEventTypeName(int32_t type) {
  switch (type) {
    case flow::kEventDrop:
      return "drop";
    case flow::kEventDebug:
      return "debug";
    case flow::kEventCapture:
      return "capture";
    case flow::kEventTrace:
      return "trace";
    case flow::kEventPolicyVerdict:
      return "policy-verdict";
    case flow::kEventTraceSock:
      return "sock";
    case flow::kEventL7:
      return "l7";
    case flow::kEventAgent:
      return "agent";
    default:
      return "";
  }
}
}  // namespace

std::string EventTypeName(int32_t type) {
  const absl::string_view known = KnownEventTypeName(type);
  return known.empty() ? absl::StrCat("type-", type) : std::string(known);
}

std::string NamespaceOrEntity(const flow::Endpoint& ep) {
  if (!ep.namespace_.empty()) return ep.namespace_.str();
  absl::string_view entity = flow::ReservedEntityName(ep.reserved);
  if (!entity.empty()) return absl::StrCat("(", entity, ")");
  return "(unknown)";
}

namespace {

// The summary's counters, found by view: the key is copied only the first time it is seen.
template <typename Map>
typename Map::mapped_type& CountOf(Map& m, absl::string_view key) {
  auto it = m.find(key);
  if (it == m.end()) it = m.emplace(std::string(key), typename Map::mapped_type{}).first;
  return it->second;
}

std::string ReasonName(uint32_t code) {
  if (code == 0) return "UNKNOWN";
  absl::string_view name = flow::DropReasonName(code);
  return name.empty() ? absl::StrCat("DROP_REASON_", code) : std::string(name);
}

}  // namespace

SummaryHandler::SummaryHandler(flow::SymbolTable& symbols, SummaryOptions options)
    : symbols_(symbols), options_(options) {}

absl::string_view SummaryHandler::SideName(const flow::Endpoint& ep) {
  if (!ep.namespace_.empty()) return ep.namespace_.view();
  auto it = entity_names_.find(ep.reserved);
  if (it == entity_names_.end())
    it = entity_names_.emplace(ep.reserved, NamespaceOrEntity(ep)).first;
  return it->second;
}

void SummaryHandler::OnEvent(const flow::Event& ev) {
  // Built outside the lock: the key costs more than the counting.
  std::string denied_key;
  if (ev.flow &&
      (ev.flow->verdict == flow::Verdict::kDropped || ev.flow->verdict == flow::Verdict::kAudit)) {
    auto key = flow::KeyAsSeen(*ev.flow, symbols_, nullptr);
    denied_key = key ? key->ToString()
                     : absl::StrCat(SideName(ev.flow->source), " -> ",
                                    SideName(ev.flow->destination), " (no port)");
  }

  if (!ev.flow) return;
  const flow::Flow& f = *ev.flow;
  const absl::string_view src = SideName(f.source), dst = SideName(f.destination);
  absl::MutexLock lock(&mu_);
  const absl::string_view type = KnownEventTypeName(f.event_type);
  if (!type.empty()) {
    ++CountOf(s_.by_event_type, type);
  } else {
    ++CountOf(s_.by_event_type, EventTypeName(f.event_type));
  }
  if (!f.node_name.empty()) ++CountOf(s_.by_node, f.node_name.view());
  if (!s_.first_flow_time || f.time < *s_.first_flow_time) s_.first_flow_time = f.time;
  if (!s_.last_flow_time || f.time > *s_.last_flow_time) s_.last_flow_time = f.time;

  // A loop, not a lambda: the thread-safety analysis cannot follow mu_ into a lambda.
  for (const absl::string_view* ns : {&src, &dst}) {
    if (ns == &dst && dst == src) break;
    NamespaceCounts& c = CountOf(s_.by_namespace, *ns);
    ++c.flows;
    if (f.verdict == flow::Verdict::kForwarded) ++c.forwarded;
    if (f.verdict == flow::Verdict::kDropped) ++c.dropped;
    if (f.verdict == flow::Verdict::kAudit) ++c.audit;
  }

  if (f.verdict == flow::Verdict::kDropped) {
    const uint32_t code = f.EffectiveDropReason();
    const absl::string_view known = code == 0 ? "UNKNOWN" : flow::DropReasonName(code);
    if (!known.empty()) {
      ++CountOf(s_.drop_reasons, known);
    } else {
      ++CountOf(s_.drop_reasons, ReasonName(code));
    }
  }

  if (!denied_key.empty()) {
    const std::string verdict(flow::VerdictName(f.verdict));
    std::string reason = f.verdict == flow::Verdict::kDropped && f.EffectiveDropReason() != 0
                             ? ReasonName(f.EffectiveDropReason())
                             : "";
    std::string map_key = absl::StrCat(denied_key, "|", verdict, "|", reason);
    auto it = denied_.find(map_key);
    if (it == denied_.end()) {
      if (denied_.size() >= options_.max_denied_tracked) {
        map_key = absl::StrCat("(other connections)|", verdict, "|");
        denied_key = "(other connections)";
        reason = "";
      }
      it = denied_.try_emplace(map_key, DeniedConnection{denied_key, verdict, reason, 0}).first;
    }
    ++it->second.events;
  }
}

void SummaryHandler::Report(RunReport* report) const {
  Summary mine = Snapshot();
  Summary& out = report->summary;
  out.by_event_type = std::move(mine.by_event_type);
  out.by_node = std::move(mine.by_node);
  out.by_namespace = std::move(mine.by_namespace);
  out.drop_reasons = std::move(mine.drop_reasons);
  out.top_denied = std::move(mine.top_denied);
  out.denied_connections = mine.denied_connections;
  out.first_flow_time = mine.first_flow_time;
  out.last_flow_time = mine.last_flow_time;
}

Summary SummaryHandler::Snapshot() const {
  absl::MutexLock lock(&mu_);
  Summary out = s_;
  out.denied_connections = denied_.size();
  std::vector<DeniedConnection> all;
  all.reserve(denied_.size());
  for (const auto& [k, v] : denied_) all.push_back(v);
  std::stable_sort(
      all.begin(), all.end(),
      [](const DeniedConnection& a, const DeniedConnection& b) { return a.events > b.events; });
  if (all.size() > options_.top_denied) all.resize(options_.top_denied);
  out.top_denied = std::move(all);
  return out;
}

namespace {

template <typename CountMap>  // name -> count, whatever its comparator
void Table(std::string* out, const std::string& title, const CountMap& counts) {
  if (counts.empty()) return;
  std::vector<std::pair<std::string, uint64_t>> rows(counts.begin(), counts.end());
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  size_t width = title.size();
  for (const auto& r : rows) width = std::max(width, r.first.size());
  absl::StrAppend(out, title, "\n");
  for (const auto& [name, n] : rows) {
    absl::StrAppend(out, absl::StrFormat("  %-*s %10d\n", static_cast<int>(width), name, n));
  }
}

}  // namespace

std::string FormatSummaryText(const Summary& s) {
  std::string out;
  absl::StrAppend(&out, absl::StrFormat("events %d: flows %d, lost events %d, node status %d\n",
                                        s.events, s.flows, s.lost_events, s.node_status_events));
  if (s.first_flow_time) {
    absl::StrAppend(&out, "flow time ", FormatRfc3339(*s.first_flow_time), " .. ",
                    FormatRfc3339(*s.last_flow_time), "\n");
  }
  Table(&out, "by verdict", s.by_verdict);
  Table(&out, "by event type", s.by_event_type);
  if (!s.by_namespace.empty()) {
    std::vector<std::pair<std::string, NamespaceCounts>> rows(s.by_namespace.begin(),
                                                              s.by_namespace.end());
    std::stable_sort(rows.begin(), rows.end(),
                     [](const auto& a, const auto& b) { return a.second.flows > b.second.flows; });
    int width = 16;
    for (const auto& r : rows) width = std::max<int>(width, r.first.size());
    absl::StrAppend(&out, absl::StrFormat("%-*s %10s %10s %10s %10s\n", width + 2, "by namespace",
                                          "flows", "forwarded", "dropped", "audit"));
    for (const auto& [ns, c] : rows) {
      absl::StrAppend(&out, absl::StrFormat("  %-*s %10d %10d %10d %10d\n", width, ns, c.flows,
                                            c.forwarded, c.dropped, c.audit));
    }
  }
  Table(&out, "drop reasons (DROPPED events)", s.drop_reasons);
  Table(&out, "lost events by source", s.lost_by_source);
  Table(&out, "by node", s.by_node);
  if (!s.top_denied.empty()) {
    absl::StrAppend(&out, "top denied connections (", s.denied_connections, " distinct)\n");
    for (const auto& d : s.top_denied) {
      absl::StrAppend(&out,
                      absl::StrFormat("  %8d  %-8s %-16s %s\n", d.events, d.verdict,
                                      d.drop_reason.empty() ? "-" : d.drop_reason, d.connection));
    }
  }
  return out;
}

}  // namespace tw::app
