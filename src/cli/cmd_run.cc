// `tierwatch run`: the daemon. Reads Hubble Relay (or captures), learns the baseline, then
// watches and classifies drops; SIGTERM/SIGINT shut it down in order, SIGHUP reloads the
// config. On exit it prints what it saw.
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "app/daemon.h"
#include "app/daemon_config.h"
#include "app/signals.h"
#include "classify/render.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "common/logging.h"
#include "common/time_format.h"
#include "nlohmann/json.hpp"

namespace tw::cli {
namespace {

struct RunArgs {
  std::string config;
  std::vector<std::string> captures;
  absl::Duration duration = absl::InfiniteDuration();
  std::string output = "text";
  bool check = false;
  // From the global flags: given on the command line, they win over the config's log keys.
  bool log_level_given = false;
  bool log_json_given = false;
  std::string log_level;
};

std::string Seconds(absl::Duration d) { return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d)); }

std::string RenderText(const app::RunReport& r, const config::DaemonConfig& cfg) {
  std::string out;
  absl::StrAppend(&out, "tierwatch run: ", r.source_description, ", ", Seconds(r.uptime),
                  ", stopped: ", r.stop_reason, "\n");
  if (r.mode == config::Mode::kLearn) {
    absl::StrAppend(&out, "mode: learn");
    if (r.baseline && r.baseline->learning_started) {
      absl::StrAppend(&out, " (learning since ", FormatRfc3339(*r.baseline->learning_started),
                      "; switches to watch after ", tw::FormatDuration(cfg.learn_for), ")");
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
  app::Summary summary = r.summary;
  if (r.watch) summary.top_denied.clear();
  absl::StrAppend(&out, "\n", app::FormatSummaryText(summary));
  if (r.watch) {
    classify::ReportOptions ro;
    ro.title = "classified drops (watch mode)";
    ro.bypass_label = r.watch->bypass_label;
    absl::StrAppend(
        &out, "\n",
        classify::RenderReport(r.watch->counts, r.watch->bypassed, r.watch->latest_flow_time, ro));
  }
  return out;
}

nlohmann::json OptTime(const std::optional<absl::Time>& t) {
  return t ? nlohmann::json(FormatRfc3339(*t)) : nlohmann::json(nullptr);
}

nlohmann::json RenderJson(const app::RunReport& r) {
  using nlohmann::json;
  const app::Summary& s = r.summary;
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
        {"max_depth", r.pipeline.max_depth}}},
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
                    {"bypassed", bypassed}};
  } else {
    out["drops"] = nullptr;
  }
  return out;
}

int RunDaemon(const RunArgs& args) {
  config::LoadOptions lo;
  lo.require_relay_address = args.captures.empty();
  auto cfg = app::LoadDaemonConfig(args.config, lo);
  if (!cfg.ok()) {
    std::cerr << "tierwatch run: invalid config:\n" << cfg.status().message() << "\n";
    return kExitUsage;
  }
  if (args.check) {
    std::cout << "config OK: " << args.config << " (mode " << config::ModeName(cfg->config.mode)
              << ", "
              << (args.captures.empty()
                      ? absl::StrCat("relay ", cfg->config.relay.address)
                      : absl::StrCat("captures ", absl::StrJoin(args.captures, " ")))
              << ", " << cfg->filters.whitelist.size() << " whitelist and "
              << cfg->filters.blacklist.size() << " blacklist filters)\n";
    return kExitOk;
  }

  // Still one thread: logging can be rebuilt from the config (flags win).
  LogOptions log{args.log_level_given ? args.log_level : cfg->config.log.level,
                 cfg->config.log.json};
  if (args.log_json_given) log.json = true;
  spdlog::drop("tierwatch");
  if (absl::Status st = SetupLogging(log); !st.ok()) {
    std::cerr << "tierwatch run: " << st.message() << "\n";
    return kExitUsage;
  }

  RealTimeSource clock;
  app::DaemonOptions opts;
  opts.config_path = args.config;
  opts.captures = args.captures;
  opts.log_level_from_command_line = args.log_level_given;
  opts.seed = static_cast<uint64_t>(absl::ToUnixNanos(clock.Now()));
  app::Daemon daemon(*cfg, opts, clock);

  // Before any other thread exists, so that every thread inherits the blocked mask.
  app::SignalThread signals({
      .on_stop =
          [&daemon](int signo, int count) {
            if (count >= 2) {
              // The operator insists; the snapshot on disk is intact (saves are atomic), only
              // what was learned since the last save is lost.
              spdlog::warn("second stop signal: exiting now, without the final baseline save");
              std::_Exit(130);
            }
            daemon.RequestStop(signo == SIGINT ? "SIGINT" : "SIGTERM");
          },
      .on_reload = [&daemon] { daemon.Reload().IgnoreError(); },
  });

  if (absl::Status st = daemon.Start(); !st.ok()) {
    std::cerr << "tierwatch run: " << st.message() << "\n";
    return kExitUsage;
  }
  if (!daemon.WaitForStop(args.duration)) daemon.RequestStop("duration");
  app::RunReport report = daemon.Shutdown();

  if (args.output == "json") {
    std::cout << RenderJson(report).dump(2) << "\n";
  } else {
    std::cout << RenderText(report, cfg->config);
  }
  std::cout.flush();
  if (!report.status.ok()) {
    std::cerr << "tierwatch run: " << report.status.message() << "\n";
    return kExitFindings;
  }
  return kExitOk;
}

}  // namespace

void RegisterRun(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "The daemon: read Hubble Relay, learn the baseline of connections, then watch and "
      "classify every DROPPED/AUDIT flow. Prints a summary when it stops.");
  cmd->footer(
      "The config (config/tierwatch.example.yaml documents every key) names the relay, the\n"
      "mode (learn|watch), how long to learn (learn_for, then it watches by itself), the\n"
      "baseline file, the tier model and the policies. Every config error is reported at\n"
      "once as FILE:LINE.\n\n"
      "Signals: SIGTERM/SIGINT stop it in order (stop the stream, drain the queue, save the\n"
      "baseline, print the summary); a second one exits at once. SIGHUP re-reads the config:\n"
      "mode, learn_for, log level and the relay section apply live (a changed relay\n"
      "reconnects); an invalid file is logged and the running config kept.\n\n"
      "Exit: 0 clean shutdown; 1 a runtime failure (relay unusable, final save failed);\n"
      "2 bad config, baseline, tier file or policies.\n\n"
      "Examples:\n"
      "  tierwatch run --config /etc/tierwatch/tierwatch.yaml\n"
      "  tierwatch run --config tw.yaml --check                 # validate and exit\n"
      "  tierwatch run --config tw.yaml --duration 10m -o json  # a bounded run\n"
      "  tierwatch run --config tw.yaml --capture before.jsonl  # captures instead of a relay\n"
      "  kill -HUP $(pidof tierwatch)                           # reload the config");
  cmd->add_option("--config", args->config, "Daemon config (YAML)")->type_name("FILE")->required();
  AddCaptureOption(cmd, &args->captures)
      ->description(
          "Read these captures (`hubble observe -o jsonpb`) instead of the relay; the run ends "
          "when they are read; repeatable; - reads standard input");
  AddDurationOption(cmd, "--duration", &args->duration,
                    "Stop after this long (30s, 10m, 24h), as if sent SIGTERM");
  AddOutputOption(cmd, &args->output, {"text", "json"});
  cmd->add_flag("--check", args->check, "Validate the config (all errors, FILE:LINE) and exit");
  cmd->callback([args, &ctx, &app] {
    if (CLI::Option* o = app.get_option_no_throw("--log-level"); o && o->count() > 0) {
      args->log_level_given = true;
      args->log_level = o->as<std::string>();
    }
    if (CLI::Option* o = app.get_option_no_throw("--log-json"); o && o->count() > 0) {
      args->log_json_given = true;
    }
    ctx.run = [args] { return RunDaemon(*args); };
  });
}

}  // namespace tw::cli
