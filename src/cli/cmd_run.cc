// `tierwatch run`: the daemon. Reads Hubble Relay (or captures), learns the baseline, then
// watches and classifies drops; serves /metrics, the probes and the JSON API on
// http.listen; SIGTERM/SIGINT shut it down in order, SIGHUP reloads the config. On exit it
// prints what it saw.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "api/http.h"
#include "api/routes.h"
#include "app/daemon.h"
#include "app/daemon_config.h"
#include "app/report.h"
#include "app/signals.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "common/json_text.h"
#include "common/logging.h"
#include "common/time_format.h"
#include "nlohmann/json.hpp"
#include "policy/parser.h"
#include "tier/tier_config.h"

namespace tw::cli {
namespace {

struct RunArgs {
  std::string config;
  std::vector<std::string> captures;
  absl::Duration duration = absl::InfiniteDuration();
  std::string output = "text";
  bool check = false;
  bool check_syntax = false;  // --check-syntax: the config file alone, not the files it names
  bool reset_baseline = false;
  std::string shard;  // "I/N" or "ordinal/N"; "" = not sharded
  RelayFlags relay;   // given flags win over the config's relay section
  // From the global flags: given on the command line, they win over the config's log keys.
  bool log_level_given = false;
  bool log_json_given = false;
  std::string log_level;
};

// How the summary's reader gets the full reasoning of one drop id: the same captures
// through `tierwatch analyze` (which prints what the API prints), or the API of a daemon
// that still runs.
std::string ExplainHint(const RunArgs& args, const config::DaemonConfig& c,
                        const std::string& http_address) {
  if (!args.captures.empty()) {
    std::string cmd = absl::StrCat("tierwatch analyze ", absl::StrJoin(args.captures, " "));
    if (!c.baseline.path.empty()) absl::StrAppend(&cmd, " --baseline ", c.baseline.path);
    if (!c.tiers.empty()) absl::StrAppend(&cmd, " --tiers ", c.tiers);
    if (!c.policies.empty()) absl::StrAppend(&cmd, " --policies ", absl::StrJoin(c.policies, " "));
    return absl::StrCat("`", cmd, " --explain ID`");
  }
  return absl::StrCat("`tierwatch explain --server http://",
                      http_address.empty() ? "HOST:9977" : http_address,
                      " ID` while a daemon runs, or `tierwatch analyze CAPTURE --explain ID`");
}

// `run --check`: what the daemon would load at start, read now so that every problem is
// reported at once (the config's own are already in; these carry their files' lines).
std::vector<std::string> CheckInputs(const config::DaemonConfig& c) {
  std::vector<std::string> errors;
  std::error_code ec;
  if (!c.tiers.empty() && std::filesystem::is_regular_file(c.tiers, ec)) {
    std::vector<Diagnostic> diags;
    auto model = tier::LoadTierModel(c.tiers, &diags);
    for (const auto& d : diags) errors.push_back(d.ToString());
    if (!model.ok() && diags.empty()) errors.emplace_back(model.status().message());
  }
  std::vector<std::string> policies;
  for (const auto& p : c.policies) {
    if (std::filesystem::exists(p, ec)) policies.push_back(p);
  }
  if (!policies.empty()) {
    auto loaded = policy::LoadPolicies(policies);
    if (!loaded.ok()) {
      errors.emplace_back(loaded.status().message());
    } else {
      for (const auto& d : loaded->diagnostics) {
        if (d.severity == tw::Severity::kError) errors.push_back(d.ToString());
      }
    }
  }
  return errors;
}

int UsageError(absl::string_view message) {
  std::cerr << "tierwatch run: " << message << "\n";
  return kExitUsage;
}

// The config, loaded and validated; nullopt once its errors are printed. With --check the
// files it names are read too, so that every problem is reported at once: the config's
// errors, then those of the files.
std::optional<app::LoadedConfig> LoadRunConfig(const RunArgs& args, const config::LoadOptions& lo) {
  auto cfg = app::LoadDaemonConfig(args.config, lo);
  if (lo.check_files) {
    config::ParsedConfig raw = config::LoadFile(args.config, lo);
    std::vector<std::string> errors;
    if (!cfg.ok()) errors.emplace_back(cfg.status().message());
    for (std::string& e : CheckInputs(raw.config)) errors.push_back(std::move(e));
    if (!errors.empty()) {
      std::cerr << "tierwatch run: invalid config:\n" << absl::StrJoin(errors, "\n") << "\n";
      return std::nullopt;
    }
  }
  if (!cfg.ok()) {
    std::cerr << "tierwatch run: invalid config:\n" << cfg.status().message() << "\n";
    return std::nullopt;
  }
  return *std::move(cfg);
}

void PrintConfigOk(const RunArgs& args, const app::LoadedConfig& cfg) {
  std::cout << "config OK: " << args.config << " (mode " << config::ModeName(cfg.config.mode)
            << ", "
            << (args.captures.empty()
                    ? absl::StrCat("relay ", cfg.config.relay.address)
                    : absl::StrCat("captures ", absl::StrJoin(args.captures, " ")))
            << ", " << cfg.filters.whitelist.size() << " whitelist and "
            << cfg.filters.blacklist.size() << " blacklist filters)\n";
}

// Logging as the config says, the global flags winning. Only while there is one thread.
absl::Status SetupRunLogging(const RunArgs& args, const config::DaemonConfig& c) {
  LogOptions log{args.log_level_given ? args.log_level : c.log.level, c.log.json};
  if (args.log_json_given) log.json = true;
  spdlog::drop("tierwatch");
  return SetupLogging(log);
}

// --shard, its ordinal form read from the host name (a StatefulSet pod's).
absl::StatusOr<std::optional<app::ShardSpec>> RunShard(const RunArgs& args) {
  if (args.shard.empty()) return std::optional<app::ShardSpec>();
  if (!args.captures.empty()) {
    return absl::InvalidArgumentError(
        "--shard divides a relay's nodes among daemons; it does not combine with --capture");
  }
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  auto spec = app::ParseShardSpec(args.shard, host);
  if (!spec.ok()) return spec.status();
  return std::optional<app::ShardSpec>(*spec);
}

app::DaemonOptions RunDaemonOptions(const RunArgs& args, const config::LoadOptions& lo,
                                    std::optional<app::ShardSpec> shard, const TimeSource& clock) {
  app::DaemonOptions opts;
  opts.shard = shard;
  opts.config_path = args.config;
  opts.load_options = lo;
  opts.load_options.check_files = false;  // a reload checks what a start checks
  opts.captures = args.captures;
  opts.log_level_from_command_line = args.log_level_given;
  opts.reset_baseline = args.reset_baseline;
  opts.seed = static_cast<uint64_t>(absl::ToUnixNanos(clock.Now()));
  return opts;
}

// The HTTP API on http.listen; `http` stays null when that is empty. An error names in
// `unusable` the setting that made the API unusable.
absl::Status StartHttp(const config::DaemonConfig& c, app::DaemonApiState& api_state,
                       std::unique_ptr<api::HttpServer>& http, std::string& unusable) {
  if (c.http.listen.empty()) return absl::OkStatus();
  api::HttpServerOptions http_options;
  if (!c.http.bearer_token_file.empty()) {
    auto token = api::ReadBearerTokenFile(c.http.bearer_token_file);
    if (!token.ok()) {
      unusable = "http.bearer_token_file";
      return token.status();
    }
    http_options.bearer_token = *std::move(token);
  }
  http = std::make_unique<api::HttpServer>(
      [&api_state](const api::Request& r) { return api::Handle(r, api_state); }, http_options);
  if (absl::Status st = http->Start(c.http.listen); !st.ok()) {
    unusable = "http.listen";
    return st;
  }
  spdlog::info("http listening addr={} endpoints=/metrics,/healthz,/readyz,/api/v1/ auth={}",
               http->address(), http_options.bearer_token.empty() ? "none" : "bearer");
  return absl::OkStatus();
}

// The summary of the run on stdout; a run that ended in error exits with findings.
int PrintRunReport(const RunArgs& args, const app::RunReport& report, const config::DaemonConfig& c,
                   const std::string& explain_hint) {
  if (args.output == "json") {
    std::cout << tw::DumpJson(app::RenderRunJson(report), 2) << "\n";
  } else {
    std::cout << app::RenderRunText(report, c.learn_for, explain_hint);
  }
  std::cout.flush();
  if (!report.status.ok()) {
    std::cerr << "tierwatch run: " << report.status.message() << "\n";
    return kExitFindings;
  }
  return kExitOk;
}

int RunDaemon(const RunArgs& args) {
  config::LoadOptions lo;
  lo.require_relay_address = args.captures.empty();
  lo.check_files = args.check && !args.check_syntax;
  absl::StatusOr<config::RelayOverride> relay = args.relay.ToConfigOverride();
  if (!relay.ok()) return UsageError(relay.status().message());
  lo.relay = *relay;
  std::optional<app::LoadedConfig> cfg = LoadRunConfig(args, lo);
  if (!cfg) return kExitUsage;
  if (args.check) {
    PrintConfigOk(args, *cfg);
    return kExitOk;
  }
  if (absl::Status st = SetupRunLogging(args, cfg->config); !st.ok()) {
    return UsageError(st.message());
  }
  auto shard = RunShard(args);
  if (!shard.ok()) return UsageError(shard.status().message());

  RealTimeSource clock;
  app::Daemon daemon(*cfg, RunDaemonOptions(args, lo, *shard, clock), clock);
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
  if (absl::Status st = daemon.Start(); !st.ok()) return UsageError(st.message());

  // After Start: the routes read the daemon's handlers, which exist from then on.
  app::DaemonApiState api_state(daemon);
  std::unique_ptr<api::HttpServer> http;
  std::string unusable;
  if (absl::Status st = StartHttp(cfg->config, api_state, http, unusable); !st.ok()) {
    std::cerr << "tierwatch run: " << st.message() << "\n";
    daemon.RequestStop(absl::StrCat(unusable, " unusable"));
    daemon.Shutdown();
    return kExitUsage;
  }
  const std::string explain_hint =
      ExplainHint(args, cfg->config, http ? http->address() : std::string());
  if (!daemon.WaitForStop(args.duration)) daemon.RequestStop("duration");
  app::RunReport report = daemon.Shutdown();
  // Last: scrapes and on-call queries keep working until the summary is final.
  if (http) http->Stop();
  return PrintRunReport(args, report, cfg->config, explain_hint);
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
      "HTTP (http.listen, default :9977; docs/api.md): /metrics (Prometheus), /healthz,\n"
      "/readyz, and the read-only JSON API under /api/v1/ (status, drops, drops/{id},\n"
      "connections, baseline) that `tierwatch drops` and `tierwatch explain` query.\n\n"
      "Signals: SIGTERM/SIGINT stop it in order (stop the stream, drain the queue, save the\n"
      "baseline, print the summary); a second one exits at once. SIGHUP re-reads the config:\n"
      "mode, learn_for, log level and the relay section apply live (a changed relay\n"
      "reconnects); an invalid file is logged and the running config kept.\n\n"
      "Exit: 0 clean shutdown; 1 a runtime failure (relay unusable, final save failed);\n"
      "2 bad config, baseline, tier file or policies.\n\n"
      "Sharding (--shard): N daemons read one relay, each the flows of its nodes (rendezvous\n"
      "hash of the node name; GetNodes, refreshed on node changes), so their counters sum\n"
      "to one daemon's. Give them the same documented baseline (mode: watch).\n\n"
      "Examples:\n"
      "  tierwatch run --config /etc/tierwatch/tierwatch.yaml\n"
      "  tierwatch run --config tw.yaml --check                 # validate and exit\n"
      "  tierwatch run --config tw.yaml --check-syntax          # the file alone (CI)\n"
      "  tierwatch run --config tw.yaml --relay 127.0.0.1:4245  # flags win over relay:\n"
      "  tierwatch run --config tw.yaml --duration 10m -o json  # a bounded run\n"
      "  tierwatch run --config tw.yaml --capture before.jsonl  # captures instead of a relay\n"
      "  tierwatch run --config tw.yaml --shard ordinal/3       # a StatefulSet pod: its nodes\n"
      "  tierwatch run --config tw.yaml --reset-baseline        # corrupt baseline: keep it aside\n"
      "  kill -HUP $(pidof tierwatch)                           # reload the config");
  cmd->add_option("--config", args->config, "Daemon config (YAML)")->type_name("FILE")->required();
  AddCaptureOption(cmd, &args->captures)
      ->description(
          "Read these captures (`hubble observe -o jsonpb`) instead of the relay; the run ends "
          "when they are read; repeatable; - reads standard input");
  AddDurationOption(cmd, "--duration", &args->duration,
                    "Stop after this long (30s, 10m, 24h), as if sent SIGTERM");
  AddOutputOption(cmd, &args->output, {"text", "json"});
  cmd->add_flag("--check", args->check,
                "Validate the config and the files it names (tiers, policies, TLS files, the "
                "baseline directory): all errors at once, FILE:LINE, then exit");
  cmd->add_flag_callback(
      "--check-syntax", [args] { args->check = args->check_syntax = true; },
      "Like --check for the config file alone (keys, types, values), not the files it names: "
      "for CI, away from the machine the daemon runs on");
  args->relay.AddTo(cmd, /*connect_timeout=*/false);
  cmd->add_flag("--reset-baseline", args->reset_baseline,
                "If the baseline file cannot be loaded (corrupt, truncated, foreign), rename it "
                "to FILE.unreadable-<unix seconds> (never deleted) and learn afresh; a loadable "
                "baseline is kept");
  cmd->add_option("--shard", args->shard,
                  "Read only the nodes that hash to shard I of N (I/N, or ordinal/N: I from the "
                  "host name's -<n>, as in a StatefulSet); series get a shard label. "
                  "docs/deploy.md#sharding")
      ->type_name("I/N");
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
