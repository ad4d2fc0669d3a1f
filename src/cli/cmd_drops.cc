// `tierwatch drops`: the recent classified drops of a running daemon (its /api/v1/drops),
// one line per drop as `hubble observe` prints flows, with the class, the severity and
// the sentence to act on; `-f` keeps polling for new ones.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "api/client.h"
#include "api/http.h"
#include "app/signals.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "common/json_text.h"
#include "common/time_format.h"
#include "nlohmann/json.hpp"

namespace tw::cli {
namespace {

using nlohmann::json;

struct DropsArgs {
  ServerFlags server;
  std::string drop_class;
  std::string namespace_;
  std::string severity;
  std::string since;
  size_t limit = 20;
  bool follow = false;
  absl::Duration interval = absl::Seconds(2);
  std::string output = "text";
};

// Flow fields (pod names, labels) can carry terminal control characters: print them
// escaped, never raw.
std::string Safe(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// "business/odoo-5d8f7c9b6-abcde" for pods, else the peer ("(world)", an FQDN, an IP).
std::string EndpointText(const json& ep) {
  if (!ep.is_object()) return "?";
  std::string ns = Str(ep, "namespace"), pod = Str(ep, "pod");
  if (!pod.empty()) return ns.empty() ? pod : absl::StrCat(ns, "/", pod);
  std::string peer = Str(ep, "peer");
  return peer.empty() ? Str(ep, "ip") : peer;
}

// "Nov 20 09:20:01.123" (UTC), as hubble's compact output starts its lines.
std::string TimeText(const std::string& rfc3339) {
  auto t = ParseTime(rfc3339);
  if (!t.ok()) return rfc3339;
  return absl::FormatTime("%b %d %H:%M:%E3S", *t, absl::UTCTimeZone());
}

std::string Line(const json& d) {
  std::string port;
  if (d.contains("port") && d["port"].is_number()) {
    port = absl::StrCat(":", d["port"].get<int>());
  } else if (d.contains("icmp_type") && d["icmp_type"].is_number()) {
    port = absl::StrCat(" type ", d["icmp_type"].get<int>());
  }
  const bool predicted = d.value("predicted", false);
  return absl::StrCat(TimeText(Str(d, "time")), " [", Safe(Str(d, "severity")), "] ",
                      Safe(Str(d, "class")), "  ", Safe(EndpointText(d["source"])), " -> ",
                      Safe(EndpointText(d["destination"])), Safe(port), " (",
                      Safe(Str(d, "protocol")), ") ", Safe(Str(d, "verdict")),
                      predicted ? " (would be dropped)" : "", " id=", Safe(Str(d, "id")), ": ",
                      Safe(Str(d, "explanation")));
}

std::string Query(const DropsArgs& a, size_t limit, const std::string& since) {
  std::string q = absl::StrCat("/api/v1/drops?limit=", limit);
  auto add = [&q](const char* k, const std::string& v) {
    if (!v.empty()) absl::StrAppend(&q, "&", k, "=", api::UrlEncode(v));
  };
  add("class", a.drop_class);
  add("namespace", a.namespace_);
  add("severity", a.severity);
  add("since", since);
  return q;
}

void Print(const DropsArgs& a, const json& d) {
  if (a.output == "json") {
    std::cout << tw::DumpJson(d) << "\n";
  } else {
    std::cout << Line(d) << "\n";
  }
}

int Fail(const absl::Status& st) {
  std::cerr << "tierwatch drops: " << st.message() << "\n";
  return kExitUsage;
}

int RunDrops(const DropsArgs& a) {
  absl::StatusOr<api::HttpGetOptions> http = a.server.ToOptions();
  if (!http.ok()) return Fail(http.status());
  absl::StatusOr<json> first = api::GetJson(a.server.server, Query(a, a.limit, a.since), *http);
  if (!first.ok()) return Fail(first.status());
  const json& drops = (*first)["drops"];
  // The API answers newest first; print in time order, as hubble does.
  for (auto it = drops.rbegin(); it != drops.rend(); ++it) Print(a, *it);
  std::cout.flush();
  if (!a.follow) return kExitOk;

  // Follow: poll for drops since shortly before the newest one printed. Flow time, not the
  // local clock (a replayed capture is far from it), and "shortly before" because the
  // daemon releases a drop only after its twin window, so drops need not arrive in time
  // order. What was printed is remembered (by id) as long as it is inside that window.
  constexpr absl::Duration kReorderWindow = absl::Seconds(10);
  absl::flat_hash_map<std::string, absl::Time> printed;
  std::optional<absl::Time> newest;
  auto remember = [&](const json& d) {
    auto t = ParseTime(Str(d, "time"));
    if (!t.ok()) return;
    printed[Str(d, "id")] = *t;
    if (!newest || *t > *newest) newest = *t;
  };
  for (const json& d : drops) remember(d);
  // Ctrl-C or SIGTERM ends the follow between two polls, after whole lines: a pipe into jq
  // or a file never ends in half a drop (the default action would drop stdout's buffer).
  absl::Notification stop;
  app::SignalThread signals({[&](int, int) {
                               if (!stop.HasBeenNotified()) stop.Notify();
                             },
                             nullptr});
  for (;;) {
    if (stop.WaitForNotificationWithTimeout(a.interval)) return kExitOk;
    std::string since = newest ? FormatRfc3339(*newest - kReorderWindow) : a.since;
    absl::StatusOr<json> next =
        api::GetJson(a.server.server, Query(a, api::kMaxLimit, since), *http);
    if (!next.ok()) return Fail(next.status());
    const json& more = (*next)["drops"];
    for (auto it = more.rbegin(); it != more.rend(); ++it) {
      if (printed.contains(Str(*it, "id"))) continue;
      Print(a, *it);
      remember(*it);
    }
    std::cout.flush();
    if (newest) {
      const absl::Time horizon = *newest - 2 * kReorderWindow;
      for (auto it = printed.begin(); it != printed.end();) {
        it->second < horizon ? printed.erase(it++) : void(++it);
      }
    }
  }
}

}  // namespace

void RegisterDrops(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<DropsArgs>();
  CLI::App* cmd = app.add_subcommand(
      "drops",
      "On call: the recent classified drops of a running daemon, one line each, with the "
      "class and the sentence to act on.");
  cmd->footer(
      "Reads GET /api/v1/drops of `tierwatch run` (http.listen, default :9977; docs/api.md).\n"
      "Each line: time (UTC), [severity] class, source -> destination:port (protocol),\n"
      "verdict, the drop id (for `tierwatch explain`) and the explanation. The daemon keeps\n"
      "its last recent_drops drops (config); older ones are only counted.\n\n"
      "--namespace matches either side, as hubble observe --namespace. --since takes an\n"
      "RFC 3339 time or a duration before now (5m, 1h). -f polls for new drops until Ctrl-C.\n\n"
      "Exit: 0 done; 2 bad flags, a parameter the daemon rejects, or the daemon unreachable\n"
      "(the message names the URL and the cause).\n\n"
      "Examples:\n"
      "  kubectl -n observability port-forward deploy/tierwatch 9977 &\n"
      "  tierwatch drops --server http://127.0.0.1:9977\n"
      "  tierwatch drops --severity critical,high --since 1h\n"
      "  tierwatch drops --class dns_blocked --namespace business -f\n"
      "  tierwatch drops -o json --limit 1000 | jq -r .connection | sort | uniq -c");
  args->server.AddTo(cmd);
  cmd->add_option("--class", args->drop_class,
                  "Only these classes (comma-separated: dns_blocked,tier0_violation,...)")
      ->type_name("CLASS");
  cmd->add_option("--namespace,-n", args->namespace_,
                  "Only drops with this namespace on either side")
      ->type_name("NS");
  cmd->add_option("--severity", args->severity, "Only these severities (critical,high,medium,low)")
      ->type_name("SEV");
  cmd->add_option("--since", args->since, "Only drops since this time or this long ago (5m, 1h)")
      ->type_name("TIME|DURATION");
  cmd->add_option("--limit", args->limit, "Most drops shown at first (newest)")
      ->check(CLI::Range(size_t{1}, api::kMaxLimit))
      ->capture_default_str();
  cmd->add_flag("--follow,-f", args->follow, "Keep polling for new drops (Ctrl-C stops)");
  AddDurationOption(cmd, "--interval", &args->interval, "How often -f polls (default 2s)");
  AddOutputOption(cmd, &args->output, {"text", "json"});
  cmd->callback([args, &ctx] {
    if (args->interval <= absl::ZeroDuration()) {
      throw CLI::ValidationError("--interval", "must be longer than zero");
    }
    ctx.run = [args] { return RunDrops(*args); };
  });
}

}  // namespace tw::cli
