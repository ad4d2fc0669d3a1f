#include "app/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "classify/render.h"
#include "common/time_format.h"

namespace tw::app {

namespace {

std::string Seconds(absl::Duration d) { return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d)); }

nlohmann::json OptTime(const std::optional<absl::Time>& t) {
  return t ? nlohmann::json(FormatRfc3339(*t)) : nlohmann::json(nullptr);
}

}  // namespace

std::string RenderRunText(const RunReport& r, absl::Duration learn_for,
                          const std::string& explain_hint) {
  std::string out;
  absl::StrAppend(&out, "tierwatch run: ", r.source_description, ", ", Seconds(r.uptime),
                  ", stopped: ", r.stop_reason, "\n");
  if (r.mode == config::Mode::kLearn) {
    absl::StrAppend(&out, "mode: learn");
    if (r.baseline && r.baseline->learning_started) {
      absl::StrAppend(&out, " (learning since ", FormatRfc3339(*r.baseline->learning_started),
                      "; switches to watch after ", tw::FormatDuration(learn_for), ")");
    }
    absl::StrAppend(&out, "\n");
  } else {
    absl::StrAppend(
        &out, "mode: watch",
        r.switched_to_watch_at
            ? absl::StrCat(" (switched from learn at ", FormatRfc3339(*r.switched_to_watch_at), ")")
            : "",
        "\n");
  }
  if (r.baseline) {
    absl::StrAppend(&out, "baseline: ", r.baseline->connections, " connections in ",
                    r.baseline->path);
    if (r.baseline->saves == 0 && r.baseline->save_errors == 0 && r.mode == config::Mode::kWatch) {
      absl::StrAppend(&out, " (fixed while watching)\n");
    } else {
      absl::StrAppend(
          &out, " (saved ", r.baseline->saves, " time", r.baseline->saves == 1 ? "" : "s",
          r.baseline->save_errors ? absl::StrCat(", ", r.baseline->save_errors, " failed saves")
                                  : "",
          ")\n");
    }
  } else if (r.mode == config::Mode::kWatch) {
    absl::StrAppend(&out,
                    "baseline: none (baseline.path is not set): no drop can be a "
                    "baseline_regression\n");
  }
  absl::StrAppend(&out, "pipeline: ", r.pipeline.processed, " events processed, ",
                  r.pipeline.dropped, " dropped on overflow, queue high-water ",
                  r.pipeline.max_depth, "\n");
  if (r.source.reconnects || r.source.duplicates || r.source.malformed || r.source_restarts) {
    absl::StrAppend(&out, "source: ", r.source.reconnects, " reconnects, ", r.source.duplicates,
                    " duplicates dropped, ", r.source.malformed, " malformed lines, ",
                    r.source_restarts, " restarts on reload\n");
  }
  if (r.reloads || r.reload_errors) {
    absl::StrAppend(&out, "config reloads: ", r.reloads, " applied, ", r.reload_errors,
                    " rejected\n");
  }
  // With classes, the raw "top denied" list only repeats them less well.
  Summary summary = r.summary;
  if (r.watch) summary.top_denied.clear();
  absl::StrAppend(&out, "\n", FormatSummaryText(summary));
  if (r.watch) {
    classify::ReportOptions ro;
    ro.title = "classified drops (watch mode)";
    ro.bypass_label = r.watch->bypass_label;
    ro.explain_hint = explain_hint;
    absl::StrAppend(
        &out, "\n",
        classify::RenderReport(r.watch->counts, r.watch->bypassed, r.watch->latest_flow_time, ro));
  }
  return out;
}

nlohmann::json RenderRunJson(const RunReport& r) {
  using nlohmann::json;
  const Summary& s = r.summary;
  json ns = json::object();
  for (const auto& [name, c] : s.by_namespace) {
    ns[name] = {
        {"flows", c.flows}, {"forwarded", c.forwarded}, {"dropped", c.dropped}, {"audit", c.audit}};
  }
  json denied = json::array();
  for (const auto& d : s.top_denied) {
    denied.push_back({{"connection", d.connection},
                      {"verdict", d.verdict},
                      {"drop_reason", d.drop_reason.empty() ? json(nullptr) : json(d.drop_reason)},
                      {"events", d.events}});
  }
  json out = {
      {"source", r.source_description},
      {"stop_reason", r.stop_reason},
      {"uptime_seconds", absl::ToDoubleSeconds(r.uptime)},
      {"mode", std::string(config::ModeName(r.mode))},
      {"switched_to_watch_at", OptTime(r.switched_to_watch_at)},
      {"pipeline",
       {{"received", r.pipeline.received},
        {"processed", r.pipeline.processed},
        {"dropped_on_overflow", r.pipeline.dropped},
        {"blocked", r.pipeline.blocked},
        {"max_depth", r.pipeline.max_depth},
        {"depth", r.pipeline.depth}}},
      {"source_stats",
       {{"events", r.source.events},
        {"flows", r.source.flows},
        {"reconnects", r.source.reconnects},
        {"duplicates", r.source.duplicates},
        {"malformed", r.source.malformed},
        {"restarts_on_reload", r.source_restarts}}},
      {"config_reloads", {{"applied", r.reloads}, {"rejected", r.reload_errors}}},
      {"summary",
       {{"events", s.events},
        {"flows", s.flows},
        {"node_status_events", s.node_status_events},
        {"lost_events", s.lost_events},
        {"lost_by_source", s.lost_by_source},
        {"by_verdict", s.by_verdict},
        {"by_event_type", s.by_event_type},
        {"by_node", s.by_node},
        {"by_namespace", ns},
        {"drop_reasons", s.drop_reasons},
        {"top_denied", denied},
        {"first_flow_time", OptTime(s.first_flow_time)},
        {"last_flow_time", OptTime(s.last_flow_time)}}},
  };
  if (r.baseline) {
    out["baseline"] = {{"path", r.baseline->path},
                       {"connections", r.baseline->connections},
                       {"saves", r.baseline->saves},
                       {"save_errors", r.baseline->save_errors},
                       {"learning_started", OptTime(r.baseline->learning_started)}};
  } else {
    out["baseline"] = nullptr;
  }
  if (r.watch) {
    json classes = json::array();
    for (classify::DropClass c : classify::AllDropClasses()) {
      const classify::ClassTotals& t = r.watch->counts.of(c);
      json top = json::array();
      for (const classify::ConnectionCount* cc : r.watch->counts.Top(c, 5)) {
        top.push_back({{"connection", cc->connection},
                       {"events", cc->events},
                       {"in_baseline", cc->in_baseline}});
      }
      classes.push_back({{"class", std::string(classify::DropClassName(c))},
                         {"severity", std::string(classify::SeverityName(classify::SeverityOf(c)))},
                         {"events", t.events},
                         {"predicted_events", t.predicted_events},
                         {"connections", t.connections},
                         {"top_connections", top}});
    }
    json bypassed = json::array();
    for (const auto& b : r.watch->bypassed) {
      bypassed.push_back({{"endpoint", b.Name()},
                          {"since", FormatRfc3339(b.first_seen)},
                          {"flows", b.flows},
                          {"drops", b.drops}});
    }
    out["drops"] = {{"events", r.watch->counts.events},
                    {"predicted_events", r.watch->counts.predicted_events},
                    {"classes", classes},
                    {"bypassed", bypassed},
                    {"recent_total", r.recent_drops_total}};
  } else {
    out["drops"] = nullptr;
  }
  return out;
}

}  // namespace tw::app
