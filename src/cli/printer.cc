#include "cli/printer.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "flow/json.h"

namespace tw::cli {

namespace {

std::string Endpoint(const flow::Endpoint& ep, const std::string& ip,
                     const std::vector<flow::Symbol>& names, uint16_t port) {
  std::string s;
  if (!ep.pod_name.empty()) {
    s = ep.namespace_.empty() ? ep.pod_name.str()
                              : absl::StrCat(ep.namespace_.view(), "/", ep.pod_name.view());
  } else if (!names.empty()) {
    s = absl::StrJoin(names, ",",
                      [](std::string* out, flow::Symbol n) { absl::StrAppend(out, n.view()); });
  } else if (!ip.empty()) {
    s = ip.find(':') != std::string::npos && port != 0 ? absl::StrCat("[", ip, "]") : ip;
  } else {
    s = "?";
  }
  if (port != 0) absl::StrAppend(&s, ":", port);
  absl::string_view entity = flow::ReservedEntityName(ep.reserved);
  if (!entity.empty()) {
    absl::StrAppend(&s, " (", entity, ")");
  } else if (ep.identity != 0) {
    absl::StrAppend(&s, " (ID:", ep.identity, ")");
  }
  return s;
}

// Hubble's names for policy_match_type (hubble-api.md §5.13).
absl::string_view MatchTypeName(uint32_t m) {
  static const char* const kNames[] = {"none", "L3-Only",  "L3-L4",     "L4-Only",
                                       "all",  "L3-Proto", "Proto-Only"};
  return m < 7 ? kNames[m] : "unknown";
}

std::string EventTypeText(const flow::Flow& f) {
  if (f.l7 || f.type == flow::FlowType::kL7 || f.event_type == flow::kEventL7) {
    std::string proto = f.l7 && f.l7->dns ? "dns" : f.l7 && f.l7->http ? "http" : "l7";
    std::string kind =
        f.l7 ? absl::AsciiStrToLower(flow::L7TypeName(f.l7->type)) : std::string("unknown");
    if (kind == "unknown_l7_type") kind = "unknown";
    return absl::StrCat(proto, "-", kind);
  }
  switch (f.event_type) {
    case flow::kEventPolicyVerdict:
      return absl::StrCat("policy-verdict:", MatchTypeName(f.policy_match_type), " ",
                          flow::TrafficDirectionName(f.traffic_direction));
    case flow::kEventDrop: {
      absl::string_view name = flow::DropReasonName(f.EffectiveDropReason());
      return name.empty() ? absl::StrCat("drop:", f.EffectiveDropReason()) : std::string(name);
    }
    case flow::kEventTrace: {
      absl::string_view p = flow::TraceObservationPointName(f.trace_observation_point);
      if (p.empty() || p == "UNKNOWN_POINT") return "trace";
      return absl::StrReplaceAll(absl::AsciiStrToLower(p), {{"_", "-"}});
    }
    case flow::kEventTraceSock:
      return "trace-sock";
    case flow::kEventCapture:
      return "capture";
    case flow::kEventDebug:
      return "debug";
    default:
      break;
  }
  return f.event_type == 0 ? "unknown" : absl::StrCat("type:", f.event_type);
}

std::string VerdictText(const flow::Flow& f) {
  if (f.event_type == flow::kEventPolicyVerdict) {
    switch (f.verdict) {
      case flow::Verdict::kForwarded:
        return "ALLOWED";
      case flow::Verdict::kDropped:
        return "DENIED";
      case flow::Verdict::kAudit:
        return "AUDITED";
      default:
        break;
    }
  }
  return std::string(flow::VerdictName(f.verdict));
}

std::string Summary(const flow::Flow& f) {
  if (!f.summary.empty()) return f.summary;
  if (f.l7 && f.l7->dns) {
    return absl::StrCat("DNS ", f.l7->type == flow::L7Type::kResponse ? "Answer" : "Query", " ",
                        f.l7->dns->query, f.l7->dns->qtypes.empty() ? "" : " ",
                        absl::StrJoin(f.l7->dns->qtypes, ","));
  }
  if (f.l7 && f.l7->http) {
    return absl::StrCat("HTTP ", f.l7->http->method, " ", f.l7->http->url,
                        f.l7->http->code ? absl::StrCat(" ", f.l7->http->code) : "");
  }
  switch (f.l4.protocol) {
    case flow::Protocol::kTCP: {
      static const std::pair<uint16_t, const char*> kFlags[] = {
          {flow::kSYN, "SYN"}, {flow::kACK, "ACK"}, {flow::kFIN, "FIN"},
          {flow::kRST, "RST"}, {flow::kPSH, "PSH"}, {flow::kURG, "URG"},
          {flow::kECE, "ECE"}, {flow::kCWR, "CWR"}, {flow::kNS, "NS"}};
      std::vector<std::string> on;
      for (const auto& [bit, name] : kFlags) {
        if (f.l4.tcp_flags & bit) on.emplace_back(name);
      }
      return on.empty() ? "TCP" : absl::StrCat("TCP Flags: ", absl::StrJoin(on, ", "));
    }
    case flow::Protocol::kICMPv4:
    case flow::Protocol::kICMPv6:
      return absl::StrCat(flow::ProtocolName(f.l4.protocol), " type ", f.l4.icmp_type, " code ",
                          f.l4.icmp_code);
    case flow::Protocol::kUnknown:
      return "";
    default:
      return std::string(flow::ProtocolName(f.l4.protocol));
  }
}

std::string Stamp(absl::Time t) {
  return absl::FormatTime("%b %e %H:%M:%E3S", t, absl::UTCTimeZone());
}

}  // namespace

std::string FormatCompactFlow(const flow::Flow& f, flow::Symbol node) {
  std::string src = Endpoint(f.source, f.source_ip, f.source_names, f.l4.source_port);
  std::string dst =
      Endpoint(f.destination, f.destination_ip, f.destination_names, f.l4.destination_port);
  absl::string_view arrow = "->";
  if (!f.is_reply) {
    arrow = "<>";
  } else if (*f.is_reply) {
    arrow = "<-";
    std::swap(src, dst);
  }
  flow::Symbol n = node.empty() ? f.node_name : node;
  std::string summary = Summary(f);
  return absl::StrCat(Stamp(f.time), n.empty() ? "" : absl::StrCat(" [", n.view(), "]"), ": ", src,
                      " ", arrow, " ", dst, " ", EventTypeText(f), " ", VerdictText(f),
                      summary.empty() ? "" : absl::StrCat(" (", summary, ")"));
}

std::string FormatCompactLost(const flow::Event& ev) {
  const flow::LostEvent& l = *ev.lost;
  return absl::StrCat(ev.time == absl::UnixEpoch() ? "" : absl::StrCat(Stamp(ev.time), " "),
                      ev.node_name.empty() ? "" : absl::StrCat("[", ev.node_name.view(), "] "),
                      "EVENTS LOST: ", flow::LostEventSourceName(l.source),
                      l.cpu ? absl::StrCat(" CPU(", *l.cpu, ")") : "", " ", l.num_events_lost);
}

std::string FormatCompactNodeStatus(const flow::Event& ev) {
  const flow::NodeStatus& s = *ev.node_status;
  return absl::StrCat(ev.time == absl::UnixEpoch() ? "" : absl::StrCat(Stamp(ev.time), " "),
                      flow::NodeStateName(s.state), ": ", absl::StrJoin(s.node_names, ", "),
                      s.message.empty() ? "" : absl::StrCat(" (", s.message, ")"));
}

void EventPrinter::Print(const flow::Event& ev) {
  std::string line;
  std::FILE* to = out_;
  if (format_ == OutputFormat::kJson) {
    line = flow::EventToJson(ev);
    if (ev.node_status && !node_status_to_out_) to = err_;
  } else if (ev.flow) {
    line = FormatCompactFlow(*ev.flow, ev.node_name);
  } else if (ev.lost) {
    line = FormatCompactLost(ev);
    to = err_;
  } else if (ev.node_status) {
    line = FormatCompactNodeStatus(ev);
    to = err_;
  } else {
    return;
  }
  line.push_back('\n');
  absl::MutexLock lock(&mu_);
  std::fwrite(line.data(), 1, line.size(), to);
  if (ev.flow) ++flows_;
}

void EventPrinter::Flush() {
  absl::MutexLock lock(&mu_);
  std::fflush(out_);
  std::fflush(err_);
}

}  // namespace tw::cli
