// tierwatch observe: print flows from a Hubble Relay or from captures with hubble observe's
// flags, filter semantics and output. The filter flags are read in command-line order
// (--not applies to the next one) and built by flow::ObserveFilterBuilder into Hubble
// FlowFilter protos: sent to the relay as they are, or applied to captures by the same code
// the replay relay uses, so both paths filter alike. docs/observe.md lists what is
// deliberately different from hubble.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "app/signals.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/printer.h"
#include "common/status_macros.h"
#include "common/time_format.h"
#include "flow/filter.h"
#include "flow/proto_json.h"
#include "sources/capture/capture_reader.h"
#include "sources/relay/relay_client.h"
#include "spdlog/spdlog.h"

namespace tw::cli {

namespace {

struct FilterOption {
  std::string name;  // hubble's flag name without dashes; "not" for --not
  bool takes_value = true;
  std::vector<std::string> values;  // CLI11's sink; the order comes from parse_order()
  int count = 0;                    // flags without a value
};

struct ObserveArgs {
  RelayFlags relay;
  std::vector<std::string> captures;
  bool follow = false;
  uint64_t last = 0;
  uint64_t first = 0;
  bool all = false;
  std::string since, until;
  std::string output = "compact";
  std::string time_format = "StampMilli";
  std::string color = "auto";
  bool print_node_name = false;
  bool numeric = false;
  std::vector<std::string> field_mask;
  absl::Duration resume_window = absl::Seconds(2);
  bool strict = false;
  CLI::Option* last_opt = nullptr;
  CLI::Option* first_opt = nullptr;
  CLI::App* cmd = nullptr;
  std::map<const CLI::Option*, std::unique_ptr<FilterOption>> filters;
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
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// The filter flags in the order given: --not binds to the next one.
absl::StatusOr<flow::FilterRequest> BuildFilters(const ObserveArgs& a) {
  flow::ObserveFilterBuilder b;
  std::map<const CLI::Option*, size_t> next;
  for (const CLI::Option* opt : a.cmd->parse_order()) {
    auto it = a.filters.find(opt);
    if (it == a.filters.end()) continue;
    const FilterOption& fo = *it->second;
    absl::Status st;
    if (fo.name == "not") {
      st = b.Not();
    } else if (!fo.takes_value) {
      st = b.Set(fo.name, "");
    } else {
      size_t i = next[opt]++;
      if (i >= fo.values.size()) continue;
      st = b.Set(fo.name, fo.values[i]);
    }
    if (!st.ok()) return st;
  }
  return b.Build();
}

bool UseColor(const std::string& when) {
  if (when == "always") return true;
  if (when == "never") return false;
  const char* term = std::getenv("TERM");
  return isatty(fileno(stdout)) && std::getenv("NO_COLOR") == nullptr &&
         !(term != nullptr && std::string(term) == "dumb");
}

// What the flags ask for, checked before anything is read: the filters, which of the count
// flags were given, how to print, and the time window.
struct ObserveRequest {
  flow::FilterRequest filters;
  bool has_last = false;
  bool has_first = false;
  PrintOptions po;
  std::optional<absl::Time> since, until;
};

// hubble's rules: --first reads from the start, so it combines with none of the others.
absl::Status CheckCountFlags(const ObserveArgs& a, const ObserveRequest& r) {
  if (r.has_first && r.has_last)
    return absl::InvalidArgumentError("cannot set both --first and --last");
  if (r.has_first && a.all) return absl::InvalidArgumentError("cannot set both --first and --all");
  if (r.has_first && a.follow) {
    return absl::InvalidArgumentError("cannot set both --first and --follow");
  }
  if (r.has_last && a.all) return absl::InvalidArgumentError("cannot set both --last and --all");
  return absl::OkStatus();
}

absl::StatusOr<PrintOptions> ObservePrintOptions(const ObserveArgs& a) {
  PrintOptions po;
  if (a.output == "compact") {
    po.format = OutputFormat::kCompact;
  } else if (a.output == "dict") {
    po.format = OutputFormat::kDict;
  } else if (a.output == "table" || a.output == "tab") {
    po.format = OutputFormat::kTable;
    if (a.follow) {
      return absl::InvalidArgumentError("table output format is not compatible with follow mode");
    }
  } else {
    po.format = OutputFormat::kJson;
  }
  if (!a.field_mask.empty() && po.format != OutputFormat::kJson) {
    return absl::InvalidArgumentError(
        absl::StrCat(a.output,
                     " output format is not compatible with custom field mask (use -o "
                     "json: the other formats need the fields the mask leaves out)"));
  }
  auto tf = ParseTimeFormat(a.time_format);
  if (!tf.ok()) return tf.status();
  po.time_format = *tf;
  po.node_name = a.print_node_name;
  po.numeric = a.numeric;
  po.color =
      po.format != OutputFormat::kJson && po.format != OutputFormat::kTable && UseColor(a.color);
  po.debug = spdlog::should_log(spdlog::level::debug);
  return po;
}

// --since and --until, relative ones ("5m") counted back from now.
absl::Status ParseTimeWindow(const ObserveArgs& a, ObserveRequest& r) {
  absl::Time now = absl::Now();
  if (!a.since.empty()) {
    auto t = ParseTime(a.since, now);
    if (!t.ok()) return absl::InvalidArgumentError(absl::StrCat("--since: ", t.status().message()));
    r.since = *t;
  }
  if (!a.until.empty()) {
    auto t = ParseTime(a.until, now);
    if (!t.ok()) return absl::InvalidArgumentError(absl::StrCat("--until: ", t.status().message()));
    r.until = *t;
  }
  return absl::OkStatus();
}

absl::StatusOr<ObserveRequest> ReadObserveRequest(const ObserveArgs& a) {
  if (a.relay.given() == !a.captures.empty()) {
    return absl::InvalidArgumentError("give either --relay ADDR or --capture FILE... (see --help)");
  }
  ObserveRequest r;
  TW_ASSIGN_OR_RETURN(r.filters, BuildFilters(a));
  r.has_last = a.last_opt->count() > 0;
  r.has_first = a.first_opt->count() > 0;
  TW_RETURN_IF_ERROR(CheckCountFlags(a, r));
  TW_ASSIGN_OR_RETURN(r.po, ObservePrintOptions(a));
  TW_RETURN_IF_ERROR(ParseTimeWindow(a, r));
  return r;
}

// The relay request, as hubble observe makes it from the same flags.
sources::RelayClientOptions RelayRequest(const ObserveArgs& a, const ObserveRequest& r) {
  sources::RelayClientOptions o = a.relay.ToOptions();
  o.follow = a.follow;
  if (r.has_last) o.number = a.last;
  if (r.has_first) {
    o.first = true;
    o.number = a.first;
  }
  if (a.all) o.number = std::numeric_limits<uint64_t>::max();
  // hubble's default: the last 20 flows (per node) when nothing says otherwise.
  if (!a.follow && !r.has_last && !r.has_first && !a.all && !r.since && !r.until) o.number = 20;
  o.since = r.since;
  if (!a.follow) o.until = r.until;  // as hubble: --until is not sent with --follow
  o.whitelist = r.filters.whitelist;
  o.blacklist = r.filters.blacklist;
  o.field_mask = a.field_mask;
  o.resume_window = a.resume_window;
  o.max_attempts = a.follow ? 0 : 2;
  return o;
}

int ObserveRelay(const ObserveArgs& a, const ObserveRequest& r, flow::SymbolTable& symbols) {
  const bool json = r.po.format == OutputFormat::kJson;
  EventPrinter printer(stdout, stderr, r.po);
  sources::RelayClient client(RelayRequest(a, r), symbols);
  // Before any gRPC thread exists: they inherit the mask and leave SIGINT/SIGTERM to it.
  app::SignalThread signals({[&](int, int) { client.Stop(); }, nullptr});
  absl::Status st;
  {
    std::unique_ptr<PeriodicFlush> flush;
    if (a.follow) flush = std::make_unique<PeriodicFlush>(printer);
    st = client.RunWire([&](flow::Event&& ev, const ::observer::GetFlowsResponse& wire) {
      if (json) {
        printer.Print(ev, flow::HubbleJson(wire));
      } else {
        printer.Print(ev);
      }
      return true;
    });
  }
  printer.Flush();
  if (!st.ok()) return Fail(st.message());
  return kExitOk;
}

// --last over captures: the newest `n` flows that pass, with the lost events among them.
// Lost events before the oldest kept flow fall out of the window with it.
class LastFlows {
 public:
  explicit LastFlows(uint64_t n) : n_(n) {}

  void Add(flow::Event&& ev, std::string line) {
    if (ev.flow) ++flows_;
    tail_.emplace_back(std::move(ev), std::move(line));
    while (!tail_.empty() && (flows_ > n_ || (trimmed_ && !tail_.front().first.flow))) {
      if (tail_.front().first.flow) {
        --flows_;
        trimmed_ = true;
      }
      tail_.pop_front();
    }
  }
  void PrintTo(EventPrinter& printer) const {
    for (const auto& [ev, line] : tail_) printer.Print(ev, line);
  }

 private:
  const uint64_t n_;
  std::deque<std::pair<flow::Event, std::string>> tail_;
  uint64_t flows_ = 0;
  bool trimmed_ = false;
};

// Captures: everything that passes the filters, --first/--last counted over flows.
int ObserveCaptures(const ObserveArgs& a, const ObserveRequest& r, flow::SymbolTable& symbols) {
  const bool json = r.po.format == OutputFormat::kJson;
  auto set = flow::FlowFilterSet::Compile(r.filters.whitelist, r.filters.blacklist);
  if (!set.ok()) return Fail(set.status().message());
  sources::CaptureOptions copts;
  copts.strict = a.strict;
  copts.errors = &std::cerr;
  sources::CaptureReader reader(a.captures, symbols, copts);
  app::SignalThread signals({[&](int, int) { reader.Stop(); }, nullptr});
  EventPrinter printer(stdout, stderr, r.po);
  LastFlows tail(a.last);
  uint64_t printed = 0;
  absl::Status st;
  {
    std::unique_ptr<PeriodicFlush> flush;
    if (a.follow) flush = std::make_unique<PeriodicFlush>(printer);
    st = reader.RunLines([&](flow::Event&& ev, absl::string_view line) {
      if (ev.flow) {
        if ((r.since && ev.flow->time < *r.since) || (r.until && ev.flow->time > *r.until)) {
          return true;
        }
        if (!set->Matches(*ev.flow)) return true;
      }
      if (r.has_last) {
        tail.Add(std::move(ev), json ? std::string(line) : std::string());
        return true;
      }
      printer.Print(ev, line);
      if (ev.flow && r.has_first && ++printed >= a.first) return false;
      return true;
    });
  }
  tail.PrintTo(printer);
  printer.Flush();
  if (!st.ok()) return Fail(st.message());
  auto stats = reader.stats();
  if (stats.malformed > 0) {
    std::cerr << "tierwatch observe: skipped " << stats.malformed
              << " malformed line(s) (see above; --strict makes them fatal)\n";
  }
  return kExitOk;
}

int RunObserve(const ObserveArgs& a) {
  auto request = ReadObserveRequest(a);
  if (!request.ok()) return Fail(request.status().message());
  // Large stdout buffer: a fast relay stream is hundreds of thousands of lines a second.
  static char out_buffer[1 << 20];
  std::setvbuf(stdout, out_buffer, _IOFBF, sizeof(out_buffer));
  flow::SymbolTable symbols;
  if (a.relay.given()) return ObserveRelay(a, *request, symbols);
  return ObserveCaptures(a, *request, symbols);
}

// hubble's help text for each filter flag (its words where they say what the flag does).
struct FilterHelp {
  const char* names;  // CLI11 names ("-n,--namespace")
  const char* flag;   // the builder's name
  bool takes_value;
  const char* type;
  const char* help;
};

const FilterHelp kFilterHelp[] = {
    {"--not", "not", false, "",
     "Reverses the next filter to be blacklist i.e. --not --from-ip 2.2.2.2"},
    {"--uuid", "uuid", true, "UUID", "Show the only flow matching this unique flow identifier"},
    {"--node-name", "node-name", true, "NODE",
     "Flows observed on these nodes (\"k8s*\", \"test-cluster/*.company.com\")"},
    {"--node-label", "node-label", true, "SELECTOR",
     "Flows observed on nodes matching this label selector"},
    {"--cluster", "cluster", true, "NAME", "Flows from or to endpoints in this cluster"},
    {"--from-cluster", "from-cluster", true, "NAME", "Flows from endpoints in this cluster"},
    {"--to-cluster", "to-cluster", true, "NAME", "Flows to endpoints in this cluster"},
    {"--protocol", "protocol", true, "PROTO",
     "L4 or L7 protocol: tcp, udp, sctp, icmp, icmpv4, icmpv6, dns, http, kafka"},
    {"--tcp-flags", "tcp-flags", true, "FLAGS",
     "TCP flags, comma-separated: all must be set (\"syn\", \"syn,ack\", \"fin\")"},
    {"-t,--type", "type", true, "TYPE[:SUBTYPE]",
     "Event type: drop, trace, policy-verdict, l7, capture, trace-sock; trace:to-endpoint, ..."},
    {"--verdict", "verdict", true, "VERDICT",
     "FORWARDED, DROPPED, AUDIT, REDIRECTED, ERROR, TRACED, TRANSLATED"},
    {"--drop-reason-desc", "drop-reason-desc", true, "REASON",
     "Drop reason (POLICY_DENIED, UNSUPPORTED_L3_PROTOCOL, ...)"},
    {"--http-status", "http-status", true, "CODE", "HTTP status code or prefix (404, 5+, 40+)"},
    {"--http-method", "http-method", true, "METHOD", "HTTP method (get, post)"},
    {"--http-path", "http-path", true, "REGEX", "HTTP path regular expression (\"/page/\\d+\")"},
    {"--http-url", "http-url", true, "REGEX", "HTTP URL regular expression"},
    {"--http-header", "http-header", true, "KEY:VALUE", "HTTP header key:value"},
    {"--trace-id", "trace-id", true, "ID", "Trace ID (W3C trace context)"},
    {"--fqdn", "fqdn", true, "PATTERN", "Flows from or to this DNS name (\"*.cilium.io\")"},
    {"--from-fqdn", "from-fqdn", true, "PATTERN", "Flows from this DNS name"},
    {"--to-fqdn", "to-fqdn", true, "PATTERN", "Flows to this DNS name"},
    {"--ip", "ip", true, "IP", "Flows from or to this IP or CIDR"},
    {"--from-ip", "from-ip", true, "IP", "Flows from this IP or CIDR"},
    {"--to-ip", "to-ip", true, "IP", "Flows to this IP or CIDR"},
    {"--snat-ip", "snat-ip", true, "IP", "Flows SNATed to this IP or CIDR"},
    {"-4,--ipv4", "ipv4", false, "", "Only IPv4 flows"},
    {"-6,--ipv6", "ipv6", false, "", "Only IPv6 flows"},
    {"--ip-version", "ip-version", true, "V", "none, v4 or v6"},
    {"--pod", "pod", true, "[NS/]POD",
     "Flows from or to this pod name prefix (no namespace: 'default')"},
    {"--from-pod", "from-pod", true, "[NS/]POD", "Flows from this pod name prefix"},
    {"--to-pod", "to-pod", true, "[NS/]POD", "Flows to this pod name prefix"},
    {"-n,--namespace", "namespace", true, "NS", "Flows from or to this namespace"},
    {"--from-namespace", "from-namespace", true, "NS", "Flows from this namespace"},
    {"--to-namespace", "to-namespace", true, "NS", "Flows to this namespace"},
    {"-A,--all-namespaces", "all-namespaces", false, "", "Flows in any Kubernetes namespace"},
    {"--from-all-namespaces", "from-all-namespaces", false, "",
     "Flows from any Kubernetes namespace"},
    {"--to-all-namespaces", "to-all-namespaces", false, "", "Flows to any Kubernetes namespace"},
    {"-l,--label", "label", true, "SELECTOR",
     "Flows from or to endpoints with these labels (\"key1=value1\", \"reserved:world\", "
     "\"app in (a,b)\")"},
    {"--from-label", "from-label", true, "SELECTOR", "Flows from endpoints with these labels"},
    {"--to-label", "to-label", true, "SELECTOR", "Flows to endpoints with these labels"},
    {"--service", "service", true, "[NS/]SVC", "Flows from or to this service name prefix"},
    {"--from-service", "from-service", true, "[NS/]SVC", "Flows from this service name prefix"},
    {"--to-service", "to-service", true, "[NS/]SVC", "Flows to this service name prefix"},
    {"--port", "port", true, "PORT", "Flows with this port on either side"},
    {"--from-port", "from-port", true, "PORT", "Flows with this source port"},
    {"--to-port", "to-port", true, "PORT", "Flows with this destination port"},
    {"--workload", "workload", true, "[KIND/]NAME", "Flows from or to this workload"},
    {"--from-workload", "from-workload", true, "[KIND/]NAME", "Flows from this workload"},
    {"--to-workload", "to-workload", true, "[KIND/]NAME", "Flows to this workload"},
    {"--identity", "identity", true, "ID",
     "Flows from or to this security identity (or world, ...)"},
    {"--from-identity", "from-identity", true, "ID", "Flows from this security identity"},
    {"--to-identity", "to-identity", true, "ID", "Flows to this security identity"},
    {"--traffic-direction", "traffic-direction", true, "DIR", "ingress or egress"},
    {"--interface", "interface", true, "NAME", "Flows observed at this interface (eth0)"},
    {"--encrypted", "encrypted", false, "", "Only encrypted flows (WireGuard/IPsec)"},
    {"--unencrypted", "unencrypted", false, "", "Only unencrypted flows"},
    {"--dns-query", "dns-query", true, "REGEX",
     "DNS query regular expression (tierwatch; hubble has no flag for it)"},
};

}  // namespace

void RegisterObserve(CLI::App& app, CommandContext& ctx) {
  auto a = std::make_shared<ObserveArgs>();
  CLI::App* cmd = app.add_subcommand(
      "observe", "Print flows from a Hubble Relay or from captures, like `hubble observe`");
  a->cmd = cmd;
  cmd->footer(
      "From a relay without -f/--last/--first/--since it shows the last 20 flows per node,\n"
      "as hubble does; from captures every flow that passes the filters. Filters use hubble's\n"
      "flag names and semantics: values of one flag are OR-ed, different flags AND-ed;\n"
      "flags without from-/to- (--namespace, --pod, --label, --port, ...) match either side;\n"
      "--not puts the next filter into the blacklist. A pod without ns/ is in 'default'.\n"
      "Output is hubble's: compact (node names with --print-node-name), dict, table, and\n"
      "json (what hubble -o json prints; jsonpb is the same). Text from flows is escaped so\n"
      "control characters cannot drive the terminal. docs/observe.md lists the differences\n"
      "from hubble.\n\n"
      "Examples:\n"
      "  tierwatch observe --relay 127.0.0.1:4245 --last 50 --verdict DROPPED\n"
      "  tierwatch observe --relay hubble-relay:443 --tls --tls-ca-cert-files ca.crt \\\n"
      "      --tls-server-name ui.hubble-relay.cilium.io -f -n business\n"
      "  tierwatch observe --capture after.jsonl --verdict DROPPED --to-port 5432\n"
      "  tierwatch observe --capture after.jsonl -n business --not --verdict FORWARDED\n"
      "  tierwatch observe --input-file after.jsonl -t policy-verdict -o json > pv.jsonl\n"
      "  tierwatch observe --capture after.jsonl -l 'app in (odoo,n8n)' --protocol tcp\n");
  a->relay.AddTo(cmd);
  AddCaptureOption(cmd, &a->captures, "--capture,--input-file");
  cmd->add_flag("-f,--follow", a->follow, "Keep printing new flows as they arrive");
  a->last_opt = AddCountOption(cmd, "--last", &a->last,
                               "The last N flows (per node from a relay; default 20)");
  a->first_opt =
      AddCountOption(cmd, "--first", &a->first, "The first N flows (per node from a relay)");
  cmd->add_flag("--all", a->all, "Every flow the relay holds");
  cmd->add_option("--since", a->since,
                  "Flows at or after this time: RFC 3339 or a duration ago (5m, 1h)")
      ->type_name("TIME");
  cmd->add_option("--until", a->until,
                  "Flows up to this time: RFC 3339 or a duration ago (not with -f)")
      ->type_name("TIME");

  for (const FilterHelp& h : kFilterHelp) {
    auto fo = std::make_unique<FilterOption>();
    fo->name = h.flag;
    fo->takes_value = h.takes_value;
    CLI::Option* opt;
    if (h.takes_value) {
      opt = cmd->add_option(h.names, fo->values, h.help)
                ->type_name(h.type)
                ->expected(1)
                ->allow_extra_args(false)
                ->take_all();
    } else {
      opt = cmd->add_flag(h.names, fo->count, h.help);
    }
    opt->group("Filters");
    a->filters.emplace(opt, std::move(fo));
  }

  AddOutputOption(cmd, &a->output, {"compact", "dict", "table", "json", "jsonpb"})
      ->description(
          "compact: one line per flow; dict: KEY: value blocks; table: aligned columns (not "
          "with -f); json|jsonpb: what `hubble observe -o json` prints, readable by --capture");
  cmd->add_option("--time-format", a->time_format,
                  "StampMilli (default), YearMonthDay, YearMonthDayHour, "
                  "YearMonthDayHourMinute, RFC3339, RFC3339Milli, RFC3339Micro, RFC3339Nano, "
                  "RFC1123Z")
      ->type_name("NAME");
  cmd->add_option("--color", a->color,
                  "Colour the compact and dict output: auto (default: when stdout is a terminal "
                  "and NO_COLOR is unset), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}).description(""))
      ->type_name("WHEN");
  cmd->add_flag("--print-node-name", a->print_node_name, "Print the node name in the output");
  cmd->add_flag("--numeric", a->numeric, "IP addresses instead of pod, service and DNS names");
  cmd->add_option("--field-mask", a->field_mask,
                  "Flow fields the relay should send (time,verdict,source.namespace,...); with "
                  "-o json only")
      ->type_name("PATH")
      ->delimiter(',');
  AddDurationOption(cmd, "--resume-window", &a->resume_window,
                    "After a relay restart, re-read this much before the last flow and drop "
                    "duplicates (default 2s)",
                    /*allow_zero=*/true);
  cmd->add_flag("--strict", a->strict, "A malformed capture line is fatal (exit 2)");
  cmd->callback([a, &ctx] { ctx.run = [a] { return RunObserve(*a); }; });
}

}  // namespace tw::cli
