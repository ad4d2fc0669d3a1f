#include "cli/printer.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"

namespace tw::cli {

namespace {

// fatih/color's SGR codes, as hubble colors its output.
constexpr char kReset[] = "\x1b[0m";
constexpr char kRed[] = "\x1b[31m";
constexpr char kGreen[] = "\x1b[32m";
constexpr char kYellow[] = "\x1b[33m";
constexpr char kMagenta[] = "\x1b[35m";
constexpr char kCyan[] = "\x1b[36m";

std::string Paint(const PrintOptions& o, const char* color, const std::string& text) {
  if (!o.color) return text;
  return absl::StrCat(color, text, kReset);
}

// Datapath drop reason texts (Cilium's pkg/monitor/api drop table), for the compact type.
const std::pair<uint32_t, const char*> kDropTexts[] = {
    {2, "Invalid packet"},
    {3, "Interface"},
    {4, "Interface Decrypted"},
    {5, "LB, sock cgroup: No backend slot entry found"},
    {6, "LB, sock cgroup: No backend entry found"},
    {7, "LB, sock cgroup: Reverse entry update failed"},
    {8, "LB, sock cgroup: Reverse entry stale"},
    {9, "Fragmented packet"},
    {10, "Fragmented packet entry update failed"},
    {11, "Missed tail call to custom program"},
    {12, "Interface Decrypting"},
    {13, "Interface Encrypting"},
    {14, "LB: sock cgroup: Reverse entry delete succeeded"},
    {15, "MTU error message"},
    {130, "Invalid source mac"},
    {131, "Invalid destination mac"},
    {132, "Invalid source ip"},
    {133, "Policy denied"},
    {134, "Invalid packet"},
    {135, "CT: Truncated or invalid header"},
    {136, "Fragmentation needed"},
    {137, "CT: Unknown L4 protocol"},
    {138, "CT: Can't create entry from packet"},
    {139, "Unsupported L3 protocol"},
    {140, "Missed tail call"},
    {141, "Error writing to packet"},
    {142, "Unknown L4 protocol"},
    {143, "Unknown ICMPv4 code"},
    {144, "Unknown ICMPv4 type"},
    {145, "Unknown ICMPv6 code"},
    {146, "Unknown ICMPv6 type"},
    {147, "Error retrieving tunnel key"},
    {148, "Error retrieving tunnel options"},
    {149, "Invalid Geneve option"},
    {150, "Unknown L3 target address"},
    {151, "Stale or unroutable IP"},
    {152, "No matching local container found"},
    {153, "Error while correcting L3 checksum"},
    {154, "Error while correcting L4 checksum"},
    {155, "CT: Map insertion failed"},
    {156, "Invalid IPv6 extension header"},
    {157, "IP fragmentation not supported"},
    {158, "Service backend not found"},
    {160, "No tunnel/encapsulation endpoint (datapath BUG!)"},
    {161, "NAT 46/64 not enabled"},
    {162, "Reached EDT rate-limiting drop horizon"},
    {163, "Unknown connection tracking state"},
    {164, "Local host is unreachable"},
    {165, "No configuration available to perform policy decision"},
    {166, "Unsupported L2 protocol"},
    {167, "No mapping for NAT masquerade"},
    {168, "Unsupported protocol for NAT masquerade"},
    {169, "FIB lookup failed"},
    {170, "Encapsulation traffic is prohibited"},
    {171, "Invalid identity"},
    {172, "Unknown sender"},
    {173, "NAT not needed"},
    {174, "Is a ClusterIP"},
    {175, "First logical datagram fragment not found"},
    {176, "Forbidden ICMPv6 message"},
    {177, "Denied by LB src range check"},
    {178, "Socket lookup failed"},
    {179, "Socket assign failed"},
    {180, "Proxy redirection not supported for protocol"},
    {181, "Policy denied by denylist"},
    {182, "VLAN traffic disallowed by VLAN filter"},
    {183, "Incorrect VNI from VTEP"},
    {184, "Failed to update or lookup TC buffer"},
    {185, "No SID was found for the IP address"},
    {186, "SRv6 state was removed during tail call"},
    {187, "L3 translation from IPv4 to IPv6 failed (NAT46)"},
    {188, "L3 translation from IPv6 to IPv4 failed (NAT64)"},
    {189, "Authentication required"},
    {190, "No conntrack map found"},
    {191, "No nat map found"},
    {192, "Invalid ClusterID"},
    {193, "Unsupported packet protocol for DSR encapsulation"},
    {194, "No egress gateway found"},
    {195, "Traffic is unencrypted"},
    {196, "TTL exceeded"},
    {197, "No node ID found"},
    {198, "Rate limited"},
    {199, "IGMP handled"},
    {200, "IGMP subscribed"},
    {201, "Multicast handled"},
    {202, "Host datapath not ready"},
    {203, "Endpoint policy program not available"},
    {204, "No Egress IP configured"},
    {205, "Punt to proxy"},
};

// Trace observation points by the trace event's sub_type (the monitor's numbering).
const char* const kTracePoints[] = {"to-endpoint", "to-proxy",      "to-host",      "to-stack",
                                    "to-overlay",  "from-endpoint", "from-proxy",   "from-host",
                                    "from-stack",  "from-overlay",  "from-network", "to-network",
                                    "from-crypto", "to-crypto"};

absl::string_view MatchTypeName(uint32_t m) {
  static const char* const kNames[] = {"none", "L3-Only",  "L3-L4",     "L4-Only",
                                       "all",  "L3-Proto", "Proto-Only"};
  return m < 7 ? kNames[m] : "unknown";
}

// Reserved identities by number, as hubble prints them in parentheses.
std::string IdentityText(uint32_t id) {
  static const char* const kReserved[] = {"unknown", "host",       "world",       "unmanaged",
                                          "health",  "init",       "remote-node", "kube-apiserver",
                                          "ingress", "world-ipv4", "world-ipv6"};
  if (id < 11) return absl::StrCat("(", kReserved[id], ")");
  return absl::StrCat("(ID:", id, ")");
}

bool HasPorts(const flow::Flow& f) {
  return f.l4.protocol == flow::Protocol::kTCP || f.l4.protocol == flow::Protocol::kUDP ||
         f.l4.protocol == flow::Protocol::kSCTP;
}

std::string Host(const flow::Endpoint& ep, const flow::Service& svc, const std::string& ip,
                 const std::vector<flow::Symbol>& names, uint16_t port, bool with_port,
                 const PrintOptions& o) {
  std::string host = EscapeTerminal(ip);
  if (!o.numeric) {
    absl::string_view ns = !svc.namespace_.empty() && ep.pod_name.empty() ? svc.namespace_.view()
                                                                          : ep.namespace_.view();
    if (!ep.pod_name.empty()) {
      host = EscapeTerminal(ns.empty() ? ep.pod_name.str()
                                       : absl::StrCat(ns, "/", ep.pod_name.view()));
    } else if (!svc.name.empty()) {
      host = EscapeTerminal(ns.empty() ? svc.name.str() : absl::StrCat(ns, "/", svc.name.view()));
    } else if (!names.empty()) {
      host = EscapeTerminal(absl::StrJoin(
          names, ",", [](std::string* out, flow::Symbol n) { absl::StrAppend(out, n.view()); }));
    }
  }
  if (with_port && port != 0) {
    bool v6 = host.find(':') != std::string::npos;
    host = absl::StrCat(v6 ? "[" : "", host, v6 ? "]" : "", ":",
                        Paint(o, kYellow, absl::StrCat(port)));
  }
  return Paint(o, kCyan, host);
}

std::string FlowType(const flow::Flow& f) {
  if (f.l7) {
    std::string proto = f.l7->dns ? "dns" : f.l7->http ? "http" : "l7";
    std::string kind = absl::AsciiStrToLower(flow::L7TypeName(f.l7->type));
    if (kind.empty()) kind = "unknown_l7_type";
    std::string s = absl::StrCat(proto, "-", kind);
    if (f.l7->dns && !f.l7->dns->observation_source.empty()) {
      absl::StrAppend(&s, " ", EscapeTerminal(f.l7->dns->observation_source));
    }
    return s;
  }
  switch (f.event_type) {
    case flow::kEventTrace: {
      int32_t sub = f.event_sub_type;
      if (sub >= 0 && sub < 14) return kTracePoints[sub];
      return absl::StrCat(sub);
    }
    case flow::kEventDrop:
      return DropReasonText(f.event_sub_type > 0 ? static_cast<uint32_t>(f.event_sub_type)
                                                 : f.EffectiveDropReason());
    case flow::kEventPolicyVerdict:
      return absl::StrCat("policy-verdict:", MatchTypeName(f.policy_match_type), " ",
                          f.traffic_direction == flow::TrafficDirection::kUnknown
                              ? absl::string_view("TRAFFIC_DIRECTION_UNKNOWN")
                              : flow::TrafficDirectionName(f.traffic_direction));
    case flow::kEventCapture:
      return "capture";
    case flow::kEventTraceSock:
      return "trace-sock";
    default:
      return "UNKNOWN";
  }
}

std::string VerdictText(const flow::Flow& f, const PrintOptions& o) {
  const bool pv = f.event_type == flow::kEventPolicyVerdict;
  switch (f.verdict) {
    case flow::Verdict::kForwarded:
    case flow::Verdict::kRedirected:
      return Paint(o, kGreen, pv ? "ALLOWED" : std::string(flow::VerdictName(f.verdict)));
    case flow::Verdict::kDropped:
    case flow::Verdict::kError:
      return Paint(o, kRed, pv ? "DENIED" : std::string(flow::VerdictName(f.verdict)));
    case flow::Verdict::kAudit:
      return Paint(o, kYellow, pv ? "AUDITED" : "AUDIT");
    case flow::Verdict::kTraced:
    case flow::Verdict::kTranslated:
      return Paint(o, kYellow, std::string(flow::VerdictName(f.verdict)));
    default:
      return std::string(flow::VerdictName(f.verdict));
  }
}

// Hubble's deprecated Summary when the flow has it, else the same words from the fields
// (newer agents leave it empty); plus the auth type when not disabled.
std::string Summary(const flow::Flow& f, const PrintOptions& o) {
  std::string s = f.summary;
  if (s.empty()) {
    if (f.l7 && f.l7->dns) {
      s = absl::StrCat("DNS ", f.l7->type == flow::L7Type::kResponse ? "Answer" : "Query", " ",
                       f.l7->dns->query, f.l7->dns->qtypes.empty() ? "" : " ",
                       absl::StrJoin(f.l7->dns->qtypes, ","));
    } else if (f.l7 && f.l7->http) {
      s = absl::StrCat(f.l7->http->protocol, f.l7->http->protocol.empty() ? "" : " ",
                       f.l7->http->method, " ", f.l7->http->url,
                       f.l7->http->code ? absl::StrCat(" ", f.l7->http->code) : "");
    } else if (f.l4.protocol == flow::Protocol::kTCP) {
      static const std::pair<uint16_t, const char*> kFlags[] = {
          {flow::kSYN, "SYN"}, {flow::kACK, "ACK"}, {flow::kFIN, "FIN"},
          {flow::kRST, "RST"}, {flow::kPSH, "PSH"}, {flow::kURG, "URG"},
          {flow::kECE, "ECE"}, {flow::kCWR, "CWR"}, {flow::kNS, "NS"}};
      std::vector<std::string> on;
      for (const auto& [bit, name] : kFlags) {
        if (f.l4.tcp_flags & bit) on.emplace_back(name);
      }
      s = on.empty() ? "TCP" : absl::StrCat("TCP Flags: ", absl::StrJoin(on, ", "));
    } else if (f.l4.protocol == flow::Protocol::kICMPv4 ||
               f.l4.protocol == flow::Protocol::kICMPv6) {
      s = absl::StrCat(flow::ProtocolName(f.l4.protocol), " type ", f.l4.icmp_type, " code ",
                       f.l4.icmp_code);
    } else if (f.l4.protocol != flow::Protocol::kUnknown) {
      s = std::string(flow::ProtocolName(f.l4.protocol));
    }
  }
  s = EscapeTerminal(s);
  if (f.auth_type == 1) absl::StrAppend(&s, "; Auth: ", Paint(o, kGreen, "SPIRE"));
  if (f.auth_type == 2) absl::StrAppend(&s, "; Auth: ", Paint(o, kRed, "TEST_ALWAYS_FAIL"));
  return s;
}

// hubble's joinWithCutOff: names until the text passes `limit`, then "(and N more)".
std::string JoinWithCutOff(const std::vector<std::string>& names, size_t limit) {
  size_t len = 0, end = names.size();
  for (size_t i = 0; i < names.size(); ++i) {
    len += names[i].size() + 2;
    if (len > limit && i > 0) {
      end = i;
      break;
    }
  }
  std::string s = absl::StrJoin(names.begin(), names.begin() + end, ", ");
  if (end < names.size()) absl::StrAppend(&s, " (and ", names.size() - end, " more)");
  return s;
}

size_t DisplayWidth(absl::string_view s) {
  size_t w = 0;
  bool in_escape = false;
  for (unsigned char c : s) {
    if (in_escape) {
      if (c == 'm') in_escape = false;
      continue;
    }
    if (c == 0x1b) {
      in_escape = true;
      continue;
    }
    if ((c & 0xC0) != 0x80) ++w;  // count code points, not continuation bytes
  }
  return w;
}

}  // namespace

absl::StatusOr<TimeFormat> ParseTimeFormat(absl::string_view name) {
  static const std::pair<const char*, TimeFormat> kNames[] = {
      {"StampMilli", TimeFormat::kStampMilli},
      {"YearMonthDay", TimeFormat::kYearMonthDay},
      {"YearMonthDayHour", TimeFormat::kYearMonthDayHour},
      {"YearMonthDayHourMinute", TimeFormat::kYearMonthDayHourMinute},
      {"RFC3339", TimeFormat::kRfc3339},
      {"RFC3339Milli", TimeFormat::kRfc3339Milli},
      {"RFC3339Micro", TimeFormat::kRfc3339Micro},
      {"RFC3339Nano", TimeFormat::kRfc3339Nano},
      {"RFC1123Z", TimeFormat::kRfc1123Z},
  };
  for (const auto& [n, f] : kNames) {
    if (absl::EqualsIgnoreCase(n, name)) return f;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--time-format \"", name,
      "\": expected StampMilli, YearMonthDay, YearMonthDayHour, YearMonthDayHourMinute, "
      "RFC3339, RFC3339Milli, RFC3339Micro, RFC3339Nano or RFC1123Z"));
}

std::string FormatTime(absl::Time t, TimeFormat format) {
  if (t == absl::UnixEpoch()) return "N/A";
  const absl::TimeZone utc = absl::UTCTimeZone();
  // Go's .999 layouts: fraction digits without trailing zeros, no dot when zero.
  auto trimmed = [&](int digits) {
    int64_t ns = absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(absl::ToUnixSeconds(t)));
    if (ns < 0) ns += 1000000000;
    std::string frac = absl::StrFormat("%09d", ns).substr(0, digits);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    return frac.empty() ? std::string() : "." + frac;
  };
  switch (format) {
    case TimeFormat::kStampMilli:
      return absl::FormatTime("%b %e %H:%M:%E3S", t, utc);
    case TimeFormat::kYearMonthDay:
      return absl::FormatTime("%Y-%m-%d", t, utc);
    case TimeFormat::kYearMonthDayHour:
      return absl::FormatTime("%Y-%m-%dT%HZ", t, utc);
    case TimeFormat::kYearMonthDayHourMinute:
      return absl::FormatTime("%Y-%m-%dT%H:%MZ", t, utc);
    case TimeFormat::kRfc3339:
      return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, utc);
    case TimeFormat::kRfc3339Milli:
      return absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%S", t, utc), trimmed(3), "Z");
    case TimeFormat::kRfc3339Micro:
      return absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%S", t, utc), trimmed(6), "Z");
    case TimeFormat::kRfc3339Nano:
      return absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%S", t, utc), trimmed(9), "Z");
    case TimeFormat::kRfc1123Z:
      return absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", t, utc);
  }
  return "";
}

std::string EscapeTerminal(absl::string_view text, bool keep_newlines_and_tabs) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0x1b) {
      out += "^[";
    } else if (c == '\r') {
      out += "\\r";
    } else if ((c == '\n' || c == '\t') && keep_newlines_and_tabs) {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    } else if (c == 0xC2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      // U+0080..U+009F: C1 controls, among them the single-byte CSI a terminal may obey.
      absl::StrAppend(&out, "\\u00",
                      absl::Hex(static_cast<unsigned char>(text[i + 1]), absl::kZeroPad2));
      ++i;
    } else if (c >= 0x80 && c <= 0x9F) {
      // A raw C1 byte (not UTF-8): some terminals still read 0x9B as CSI.
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string DropReasonText(uint32_t code) {
  for (const auto& [n, text] : kDropTexts) {
    if (n == code) return text;
  }
  return absl::StrCat(code);
}

std::string FormatCompactFlow(const flow::Flow& f, const PrintOptions& o) {
  const bool ports = HasPorts(f);
  std::string src =
      Host(f.source, f.source_service, f.source_ip, f.source_names, f.l4.source_port, ports, o);
  std::string dst = Host(f.destination, f.destination_service, f.destination_ip,
                         f.destination_names, f.l4.destination_port, ports, o);
  std::string src_id = Paint(o, kMagenta, IdentityText(f.source.identity));
  std::string dst_id = Paint(o, kMagenta, IdentityText(f.destination.identity));
  absl::string_view arrow = "->";
  if (!f.is_reply) {
    arrow = "<>";
  } else if (*f.is_reply) {
    arrow = "<-";
    std::swap(src, dst);
    std::swap(src_id, dst_id);
  }
  return absl::StrCat(
      FormatTime(f.time, o.time_format),
      o.node_name ? absl::StrCat(" [", EscapeTerminal(f.node_name.view()), "]") : "", ": ", src,
      " ", src_id, " ", arrow, " ", dst, " ", dst_id, " ", FlowType(f), " ", VerdictText(f, o),
      " (", Summary(f, o), ")");
}

void EventPrinter::Row(std::vector<std::string> cells) {
  if (rows_.empty()) {
    std::vector<std::string> header = {"TIMESTAMP"};
    if (options_.node_name) header.push_back("NODE");
    for (const char* h : {"SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY"}) {
      header.emplace_back(h);
    }
    rows_.push_back(std::move(header));
  }
  rows_.push_back(std::move(cells));
}

namespace {

// hubble shows only errors and unavailable nodes unless debugging.
bool ShowNodeStatus(const flow::NodeStatus& s, const PrintOptions& o) {
  return o.debug || s.state == flow::NodeState::kError || s.state == flow::NodeState::kUnavailable;
}

// A node status event as hubble prints it (on stderr): in a table too, as a line of its own.
std::string NodeStatusText(const flow::Event& ev, const PrintOptions& o,
                           absl::string_view json_line) {
  const flow::NodeStatus& s = *ev.node_status;
  std::vector<std::string> names;
  for (const auto& n : s.node_names) names.push_back(EscapeTerminal(n));
  if (o.format == OutputFormat::kJson) return std::string(json_line);
  if (o.format == OutputFormat::kDict) {
    return absl::StrCat(
        "  TIMESTAMP: ", FormatTime(ev.time, o.time_format),
        "\n      STATE: ", flow::NodeStateName(s.state),
        "\n      NODES: ", JoinWithCutOff(names, 50), "\n    MESSAGE: ",
        s.message.empty() ? "N/A" : absl::StrCat("\"", EscapeTerminal(s.message), "\""));
  }
  std::string prefix = absl::StrCat(FormatTime(ev.time, o.time_format), " [",
                                    EscapeTerminal(ev.node_name.view()), "]");
  std::string joined = JoinWithCutOff(names, 50);
  switch (s.state) {
    case flow::NodeState::kConnected:
      return absl::StrCat(prefix, ": Receiving flows from ", names.size(), " nodes: ", joined);
    case flow::NodeState::kUnavailable:
      return absl::StrCat(prefix, ": ", names.size(), " nodes are unavailable: ", joined);
    case flow::NodeState::kGone:
      return absl::StrCat(prefix, ": ", names.size(), " nodes removed from cluster: ", joined);
    case flow::NodeState::kError:
      return absl::StrCat(prefix, ": Error \"", EscapeTerminal(s.message), "\" on ", names.size(),
                          " nodes: ", joined);
    default:
      return absl::StrCat(prefix, ": unknown node status event");
  }
}

std::string FormatDictFlow(const flow::Flow& f, const PrintOptions& o, bool separator) {
  const bool ports = HasPorts(f);
  return absl::StrCat(
      separator ? "------------\n" : "", "  TIMESTAMP: ", FormatTime(f.time, o.time_format), "\n",
      o.node_name ? absl::StrCat("       NODE: ", EscapeTerminal(f.node_name.view()), "\n") : "",
      "     SOURCE: ",
      Host(f.source, f.source_service, f.source_ip, f.source_names, f.l4.source_port, ports, o),
      "\nDESTINATION: ",
      Host(f.destination, f.destination_service, f.destination_ip, f.destination_names,
           f.l4.destination_port, ports, o),
      "\n       TYPE: ", FlowType(f), "\n    VERDICT: ", VerdictText(f, o),
      "\n    SUMMARY: ", Summary(f, o));
}

std::vector<std::string> TableFlowCells(const flow::Flow& f, const PrintOptions& o) {
  const bool ports = HasPorts(f);
  std::vector<std::string> cells = {FormatTime(f.time, o.time_format)};
  if (o.node_name) cells.push_back(EscapeTerminal(f.node_name.view()));
  cells.push_back(
      Host(f.source, f.source_service, f.source_ip, f.source_names, f.l4.source_port, ports, o));
  cells.push_back(Host(f.destination, f.destination_service, f.destination_ip, f.destination_names,
                       f.l4.destination_port, ports, o));
  cells.push_back(FlowType(f));
  cells.push_back(VerdictText(f, o));
  cells.push_back(Summary(f, o));
  return cells;
}

}  // namespace

std::optional<std::string> EventPrinter::LostEventText(const flow::LostEvent& l,
                                                       absl::string_view json_line) {
  const PrintOptions& o = options_;
  std::string source(flow::LostEventSourceName(l.source));
  if (source.empty()) source = "UNKNOWN_LOST_EVENT_SOURCE";
  switch (o.format) {
    case OutputFormat::kJson:
      return std::string(json_line);
    case OutputFormat::kCompact:
      return absl::StrCat("EVENTS LOST: ", source, " CPU(", l.cpu.value_or(0), ") ",
                          l.num_events_lost);
    case OutputFormat::kDict:
      return absl::StrCat(records_++ > 0 ? "------------\n" : "", "  TIMESTAMP: \n",
                          o.node_name ? "       NODE: \n" : "", "     SOURCE: ", source,
                          "\n       TYPE: EVENTS LOST\n    VERDICT: \n    SUMMARY: CPU(",
                          l.cpu.value_or(0), ") - ", l.num_events_lost);
    case OutputFormat::kTable: {
      std::vector<std::string> cells = {""};
      if (o.node_name) cells.emplace_back("");
      cells.insert(cells.end(),
                   {source, "", "EVENTS LOST", "",
                    absl::StrCat("CPU(", l.cpu.value_or(0), ") - ", l.num_events_lost)});
      Row(std::move(cells));
      return std::nullopt;
    }
  }
  return std::string();
}

std::optional<std::string> EventPrinter::FlowText(const flow::Flow& f,
                                                  absl::string_view json_line) {
  ++flows_;
  switch (options_.format) {
    case OutputFormat::kJson:
      return std::string(json_line);
    case OutputFormat::kCompact:
      return FormatCompactFlow(f, options_);
    case OutputFormat::kDict:
      return FormatDictFlow(f, options_, records_++ > 0);
    case OutputFormat::kTable:
      Row(TableFlowCells(f, options_));
      return std::nullopt;
  }
  return std::string();
}

void EventPrinter::Print(const flow::Event& ev, absl::string_view json_line) {
  absl::MutexLock lock(&mu_);
  std::FILE* to = out_;
  std::optional<std::string> text;
  if (ev.node_status) {
    if (!ShowNodeStatus(*ev.node_status, options_)) return;
    to = err_;
    text = NodeStatusText(ev, options_, json_line);
  } else if (ev.lost) {
    text = LostEventText(*ev.lost, json_line);
  } else if (ev.flow) {
    text = FlowText(*ev.flow, json_line);
  }
  if (!text) return;  // no event, or a table row (written by Flush)
  text->push_back('\n');
  std::fwrite(text->data(), 1, text->size(), to);
}

void EventPrinter::Flush() {
  absl::MutexLock lock(&mu_);
  if (!rows_.empty()) {
    // Go's tabwriter as hubble configures it: columns as wide as their widest cell plus 3
    // spaces (at least 2), the last cell of a line unpadded.
    std::vector<size_t> widths;
    for (const auto& row : rows_) {
      for (size_t i = 0; i + 1 < row.size(); ++i) {
        if (widths.size() <= i) widths.push_back(0);
        widths[i] = std::max(widths[i], DisplayWidth(row[i]));
      }
    }
    std::string out;
    for (const auto& row : rows_) {
      for (size_t i = 0; i < row.size(); ++i) {
        out += row[i];
        if (i + 1 < row.size()) {
          size_t w = std::max<size_t>(widths[i] + 3, 2);
          out.append(w - DisplayWidth(row[i]), ' ');
        }
      }
      out += '\n';
    }
    std::fwrite(out.data(), 1, out.size(), out_);
    rows_.clear();
  }
  std::fflush(out_);
  std::fflush(err_);
}

}  // namespace tw::cli
