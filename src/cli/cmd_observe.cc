// tierwatch observe: print flows from a Hubble Relay or from captures, with hubble
// observe's flag names. The filter flags become Hubble FlowFilter protos
// (flow/filter.h): sent to the relay as they are, or applied locally to captures by the
// same code the replay relay uses, so both paths filter alike.
#include <atomic>
#include <cstdio>
#include <deque>
#include <iostream>
#include <limits>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "app/signals.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/printer.h"
#include "common/time_format.h"
#include "flow/filter.h"
#include "sources/capture/capture_reader.h"
#include "sources/relay/relay_client.h"

namespace tw::cli {

namespace {

struct ObserveArgs {
  std::string relay;
  std::vector<std::string> captures;
  bool follow = false;
  uint64_t last = 0;
  uint64_t first = 0;
  bool all = false;
  std::string since, until;
  flow::ObserveFilterFlags filters;
  std::string output = "compact";
  bool tls = false;
  std::vector<std::string> tls_ca_files;
  std::string tls_cert, tls_key, tls_server_name;
  std::vector<std::string> field_mask;
  absl::Duration resume_window = absl::Seconds(2);
  absl::Duration connect_timeout = absl::Seconds(10);
  bool strict = false;
  CLI::Option* last_opt = nullptr;
  CLI::Option* first_opt = nullptr;
};

int Fail(absl::string_view msg) {
  std::cerr << "tierwatch observe: " << msg << "\n";
  return kExitUsage;
}

// Flushes the printer every 100 ms while following, so lines appear promptly without a
// write(2) per flow when the stream is fast.
class PeriodicFlush {
 public:
  explicit PeriodicFlush(EventPrinter& p) : printer_(p), thread_([this] { Loop(); }) {}
  ~PeriodicFlush() {
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      cv_.Signal();
    }
    thread_.join();
    printer_.Flush();
  }

 private:
  void Loop() {
    absl::MutexLock lock(&mu_);
    while (!done_) {
      cv_.WaitWithTimeout(&mu_, absl::Milliseconds(100));
      printer_.Flush();
    }
  }
  EventPrinter& printer_;
  absl::Mutex mu_;
  absl::CondVar cv_;
  bool done_ = false;
  std::thread thread_;
};

int RunObserve(const ObserveArgs& a) {
  if (a.relay.empty() == a.captures.empty()) {
    return Fail("give either --relay ADDR or --capture FILE (see --help)");
  }
  auto filters = flow::BuildObserveFilters(a.filters);
  if (!filters.ok()) return Fail(filters.status().message());
  absl::Time now = absl::Now();
  std::optional<absl::Time> since, until;
  if (!a.since.empty()) {
    auto t = ParseTime(a.since, now);
    if (!t.ok()) return Fail(absl::StrCat("--since: ", t.status().message()));
    since = *t;
  }
  if (!a.until.empty()) {
    auto t = ParseTime(a.until, now);
    if (!t.ok()) return Fail(absl::StrCat("--until: ", t.status().message()));
    until = *t;
  }
  const bool has_last = a.last_opt->count() > 0;
  const bool has_first = a.first_opt->count() > 0;
  if (has_first && a.follow) return Fail("--first cannot be combined with --follow");

  OutputFormat format = a.output == "compact" ? OutputFormat::kCompact : OutputFormat::kJson;
  // Large stdout buffer: a fast relay stream is hundreds of thousands of lines a second.
  static char out_buffer[1 << 20];
  std::setvbuf(stdout, out_buffer, _IOFBF, sizeof(out_buffer));
  flow::SymbolTable symbols;

  if (!a.relay.empty()) {
    sources::RelayClientOptions o;
    o.address = a.relay;
    o.follow = a.follow;
    if (has_last) o.number = a.last;
    if (has_first) {
      o.first = true;
      o.number = a.first;
    }
    if (a.all) o.number = std::numeric_limits<uint64_t>::max();
    // hubble's default: the last 20 flows (per node) when nothing says otherwise.
    if (!a.follow && !has_last && !has_first && !a.all && !since && !until) o.number = 20;
    o.since = since;
    o.until = until;
    o.whitelist = filters->whitelist;
    o.blacklist = filters->blacklist;
    o.field_mask = a.field_mask;
    o.tls.enabled = a.tls || !a.tls_ca_files.empty() || !a.tls_cert.empty();
    o.tls.ca_files = a.tls_ca_files;
    o.tls.cert_file = a.tls_cert;
    o.tls.key_file = a.tls_key;
    o.tls.server_name = a.tls_server_name;
    o.resume_window = a.resume_window;
    o.connect_timeout = a.connect_timeout;
    o.max_attempts = a.follow ? 0 : 2;
    o.seed = static_cast<uint64_t>(absl::ToUnixNanos(now));

    EventPrinter printer(stdout, stderr, format);
    sources::RelayClient client(o, symbols);
    // Before any gRPC thread exists: they inherit the mask and leave SIGINT/SIGTERM to it.
    app::SignalThread signals({[&](int, int) { client.Stop(); }, nullptr});
    absl::Status st;
    {
      PeriodicFlush flush(printer);
      st = client.Run([&](flow::Event&& ev) {
        printer.Print(ev);
        return true;
      });
    }
    if (!st.ok()) return Fail(st.message());
    return kExitOk;
  }

  // Captures: everything that passes the filters, --first/--last counted over flows.
  auto set = flow::FlowFilterSet::Compile(filters->whitelist, filters->blacklist);
  if (!set.ok()) return Fail(set.status().message());
  sources::CaptureOptions copts;
  copts.strict = a.strict;
  copts.errors = &std::cerr;
  sources::CaptureReader reader(a.captures, symbols, copts);
  app::SignalThread signals({[&](int, int) { reader.Stop(); }, nullptr});
  EventPrinter printer(stdout, stderr, format, /*node_status_to_out=*/true);
  std::deque<flow::Event> tail;  // --last
  uint64_t tail_flows = 0, printed = 0;
  bool trimmed = false;
  absl::Status st;
  {
    std::unique_ptr<PeriodicFlush> flush;
    if (a.follow) flush = std::make_unique<PeriodicFlush>(printer);
    st = reader.Run([&](flow::Event&& ev) {
      if (ev.flow) {
        if ((since && ev.flow->time < *since) || (until && ev.flow->time > *until)) return true;
        if (!set->Matches(*ev.flow)) return true;
      }
      if (has_last) {
        // Lost events before the oldest kept flow fall out of the window with it.
        if (ev.flow) ++tail_flows;
        tail.push_back(std::move(ev));
        while (!tail.empty() && (tail_flows > a.last || (trimmed && !tail.front().flow))) {
          if (tail.front().flow) {
            --tail_flows;
            trimmed = true;
          }
          tail.pop_front();
        }
        return true;
      }
      printer.Print(ev);
      if (ev.flow && has_first && ++printed >= a.first) return false;
      return true;
    });
  }
  for (const auto& ev : tail) printer.Print(ev);
  printer.Flush();
  if (!st.ok()) return Fail(st.message());
  auto stats = reader.stats();
  if (stats.malformed > 0) {
    std::cerr << "tierwatch observe: skipped " << stats.malformed
              << " malformed line(s) (see above; --strict makes them fatal)\n";
  }
  return kExitOk;
}

void AddSided(CLI::App* cmd, const std::string& name, const std::string& what,
              std::vector<std::string>* both, std::vector<std::string>* from,
              std::vector<std::string>* to, const std::string& type) {
  cmd->add_option("--" + name, *both, "Flows with " + what + " on either side")
      ->type_name(type)
      ->group("Filters");
  cmd->add_option("--from-" + name, *from, "Flows whose source has " + what)
      ->type_name(type)
      ->group("Filters");
  cmd->add_option("--to-" + name, *to, "Flows whose destination has " + what)
      ->type_name(type)
      ->group("Filters");
}

}  // namespace

void RegisterObserve(CLI::App& app, CommandContext& ctx) {
  auto a = std::make_shared<ObserveArgs>();
  CLI::App* cmd = app.add_subcommand(
      "observe",
      "Print flows from a Hubble Relay or from capture files, like `hubble observe`.\n\n"
      "From a relay without -f/--last/--first/--since it shows the last 20 flows per node,\n"
      "as hubble does; from captures every flow that passes the filters. Filters use\n"
      "hubble's flag names and semantics: values of one flag are OR-ed, different flags\n"
      "AND-ed; flags without from-/to- (--namespace, --pod, --label, --port, ...) match\n"
      "either side. A pod without ns/ takes --namespace (else \"default\").\n\n"
      "Examples:\n"
      "  tierwatch observe --relay 127.0.0.1:4245 --last 50 --verdict DROPPED\n"
      "  tierwatch observe --relay hubble-relay:443 --tls --tls-ca-cert-files ca.crt \\\n"
      "      --tls-server-name ui.hubble-relay.cilium.io -f -n business\n"
      "  tierwatch observe --capture after.jsonl --verdict DROPPED --to-port 5432\n"
      "  tierwatch observe --capture after.jsonl -t policy-verdict -o json > drops.jsonl\n"
      "  tierwatch observe --capture after.jsonl --label 'app in (odoo,n8n)' --protocol dns\n");
  cmd->add_option("--relay,--server", a->relay,
                  "Hubble Relay (or agent) address HOST:PORT; tls://HOST:PORT turns TLS on")
      ->type_name("ADDR");
  AddCaptureOption(cmd, &a->captures);
  cmd->add_flag("-f,--follow", a->follow, "Keep printing new flows as they arrive");
  a->last_opt = cmd->add_option("--last", a->last, "The last N flows (per node from a relay)")
                    ->type_name("N");
  a->first_opt =
      cmd->add_option("--first", a->first, "The first N flows (per node from a relay); not with -f")
          ->type_name("N");
  cmd->add_flag("--all", a->all, "Every flow the relay holds");
  cmd->add_option("--since", a->since,
                  "Flows at or after this time: RFC 3339 or a duration ago (5m, 1h)")
      ->type_name("TIME");
  cmd->add_option("--until", a->until,
                  "Flows up to this time: RFC 3339 or a duration ago; ends a -f stream there")
      ->type_name("TIME");
  a->last_opt->excludes(a->first_opt);

  flow::ObserveFilterFlags& f = a->filters;
  cmd->add_option("--verdict", f.verdict,
                  "FORWARDED, DROPPED, AUDIT, REDIRECTED, ERROR, TRACED, TRANSLATED")
      ->type_name("VERDICT")
      ->group("Filters");
  cmd->add_option("--drop-reason-desc", f.drop_reason_desc, "Drop reason, e.g. POLICY_DENIED")
      ->type_name("REASON")
      ->group("Filters");
  cmd->add_option("-n,--namespace", f.namespace_, "Flows from or to this namespace")
      ->type_name("NS")
      ->group("Filters");
  cmd->add_option("--from-namespace", f.from_namespace, "Flows from this namespace")
      ->type_name("NS")
      ->group("Filters");
  cmd->add_option("--to-namespace", f.to_namespace, "Flows to this namespace")
      ->type_name("NS")
      ->group("Filters");
  AddSided(cmd, "pod", "this pod (name prefix, [ns/]name)", &f.pod, &f.from_pod, &f.to_pod,
           "[NS/]POD");
  AddSided(cmd, "label", "labels matching this selector (k=v, k!=v, k, !k, k in (a,b))", &f.label,
           &f.from_label, &f.to_label, "SELECTOR");
  AddSided(cmd, "ip", "this IP or CIDR", &f.ip, &f.from_ip, &f.to_ip, "IP");
  AddSided(cmd, "fqdn", "a DNS name matching this pattern (*.example.com)", &f.fqdn, &f.from_fqdn,
           &f.to_fqdn, "PATTERN");
  AddSided(cmd, "port", "this L4 port", &f.port, &f.from_port, &f.to_port, "PORT");
  AddSided(cmd, "identity", "this security identity", &f.identity, &f.from_identity, &f.to_identity,
           "ID");
  AddSided(cmd, "service", "this service ([ns/]name)", &f.service, &f.from_service, &f.to_service,
           "[NS/]SVC");
  cmd->add_option("--protocol", f.protocol, "tcp, udp, sctp, icmp, icmpv4, icmpv6, dns, http")
      ->type_name("PROTO")
      ->group("Filters");
  cmd->add_option("-t,--type", f.type,
                  "Event type: drop, trace, policy-verdict, l7, capture, trace-sock, agent; "
                  "with :subtype (trace:to-endpoint, drop:POLICY_DENY)")
      ->type_name("TYPE")
      ->group("Filters");
  cmd->add_option("--traffic-direction", f.traffic_direction, "ingress or egress")
      ->type_name("DIR")
      ->group("Filters");
  cmd->add_option("--node-name", f.node_name, "Node name pattern: node or cluster/node, * glob")
      ->type_name("NODE")
      ->group("Filters");
  cmd->add_option("--uuid", f.uuid, "Flow uuid")->type_name("UUID")->group("Filters");
  cmd->add_option("--http-status", f.http_status, "HTTP status code (404) or class (5+)")
      ->type_name("CODE")
      ->group("Filters");
  cmd->add_option("--http-method", f.http_method, "HTTP method")
      ->type_name("METHOD")
      ->group("Filters");
  cmd->add_option("--http-path", f.http_path, "HTTP path regular expression")
      ->type_name("REGEX")
      ->group("Filters");
  cmd->add_option("--dns-query", f.dns_query, "DNS query regular expression (ECMAScript)")
      ->type_name("REGEX")
      ->group("Filters");
  cmd->add_option("--ip-version", f.ip_version, "v4 or v6")->type_name("V")->group("Filters");

  AddOutputOption(cmd, &a->output, {"compact", "json", "jsonpb"})
      ->description(
          "compact: one line per flow (lost events and node status on stderr); json|jsonpb: "
          "one `hubble observe -o jsonpb` line per event, readable by --capture");
  cmd->add_flag("--tls", a->tls, "Use TLS to the relay")->group("TLS");
  cmd->add_option("--tls-ca-cert-files", a->tls_ca_files,
                  "PEM CA file(s) verifying the relay (default: system roots)")
      ->type_name("FILE")
      ->group("TLS");
  cmd->add_option("--tls-client-cert-file", a->tls_cert, "PEM client certificate for mTLS")
      ->type_name("FILE")
      ->group("TLS");
  cmd->add_option("--tls-client-key-file", a->tls_key, "PEM client key for mTLS")
      ->type_name("FILE")
      ->group("TLS");
  cmd->add_option("--tls-server-name", a->tls_server_name,
                  "Name expected in the relay's certificate (e.g. ui.hubble-relay.cilium.io)")
      ->type_name("NAME")
      ->group("TLS");
  cmd->add_option("--field-mask", a->field_mask,
                  "Flow fields the relay should send (time,verdict,source.namespace,...)")
      ->type_name("PATH")
      ->delimiter(',');
  AddDurationOption(cmd, "--resume-window", &a->resume_window,
                    "After a relay restart, re-read this much before the last flow and drop "
                    "duplicates (default 2s)");
  AddDurationOption(cmd, "--connect-timeout", &a->connect_timeout,
                    "Deadline for connecting to the relay (default 10s)");
  cmd->add_flag("--strict", a->strict, "A malformed capture line is fatal (exit 2)");
  cmd->callback([a, &ctx] { ctx.run = [a] { return RunObserve(*a); }; });
}

}  // namespace tw::cli
