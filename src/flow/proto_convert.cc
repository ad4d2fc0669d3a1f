#include "flow/proto_convert.h"

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "google/protobuf/timestamp.pb.h"
#include "relay/relay.pb.h"

// The deprecated Flow fields (reply, drop_reason, Summary) are read and written on purpose:
// older agents fill only them and older readers still look at them.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace tw::flow {

// Timestamps outside absl's range cannot occur in Hubble data; seconds/nanos map 1:1.
absl::Time TimeFromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

void TimeToProto(absl::Time t, google::protobuf::Timestamp* ts) {
  // ToUnixSeconds floors, so times before 1970 keep 0 <= nanos < 1e9 as the Timestamp
  // contract asks; no int64 nanoseconds in between (they overflow before 1677, after 2262).
  const int64_t secs = absl::ToUnixSeconds(t);
  ts->set_seconds(secs);
  ts->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(secs))));
}

namespace {

// Interning goes through a SymbolTable (locked per string) or a SymbolCache (lock-free for
// strings seen before: the live stream's case); the converters are templates over both.
template <typename Repeated, typename Interner>
std::vector<Symbol> InternAll(const Repeated& in, Interner& symbols) {
  std::vector<Symbol> out;
  out.reserve(in.size());
  for (const std::string& s : in) out.push_back(symbols.Intern(s));
  return out;
}

template <typename Repeated>
void AddAll(const std::vector<Symbol>& in, Repeated* out) {
  out->Reserve(static_cast<int>(in.size()));
  for (Symbol s : in) out->Add(std::string(s.view()));
}

template <typename Repeated>
std::vector<std::string> CopyAll(const Repeated& in) {
  return std::vector<std::string>(in.begin(), in.end());
}

template <typename Repeated>
void AddAll(const std::vector<std::string>& in, Repeated* out) {
  out->Reserve(static_cast<int>(in.size()));
  for (const std::string& s : in) out->Add(std::string(s));
}

template <typename Interner>
Endpoint EndpointFromProto(const ::flow::Endpoint& pb, Interner& symbols) {
  Endpoint ep;
  ep.id = pb.id();
  ep.identity = pb.identity();
  ep.cluster_name = symbols.Intern(pb.cluster_name());
  ep.namespace_ = symbols.Intern(pb.namespace_());
  ep.pod_name = symbols.Intern(pb.pod_name());
  ep.labels = InternAll(pb.labels(), symbols);
  ep.workloads.reserve(pb.workloads_size());
  for (const auto& w : pb.workloads()) {
    ep.workloads.push_back(Workload{symbols.Intern(w.name()), symbols.Intern(w.kind())});
  }
  ep.reserved = ComputeReserved(ep);
  return ep;
}

void EndpointToProto(const Endpoint& ep, ::flow::Endpoint* pb) {
  pb->set_id(ep.id);
  pb->set_identity(ep.identity);
  pb->set_cluster_name(ep.cluster_name.str());
  pb->set_namespace_(ep.namespace_.str());
  pb->set_pod_name(ep.pod_name.str());
  AddAll(ep.labels, pb->mutable_labels());
  for (const Workload& w : ep.workloads) {
    auto* out = pb->add_workloads();
    out->set_name(w.name.str());
    out->set_kind(w.kind.str());
  }
}

bool IsEmpty(const Endpoint& ep) {
  return ep.id == 0 && ep.identity == 0 && ep.cluster_name.empty() && ep.namespace_.empty() &&
         ep.pod_name.empty() && ep.labels.empty() && ep.workloads.empty();
}

uint16_t TcpFlagsFromProto(const ::flow::TCPFlags& f) {
  uint16_t bits = 0;
  if (f.fin()) bits |= kFIN;
  if (f.syn()) bits |= kSYN;
  if (f.rst()) bits |= kRST;
  if (f.psh()) bits |= kPSH;
  if (f.ack()) bits |= kACK;
  if (f.urg()) bits |= kURG;
  if (f.ece()) bits |= kECE;
  if (f.cwr()) bits |= kCWR;
  if (f.ns()) bits |= kNS;
  return bits;
}

void TcpFlagsToProto(uint16_t bits, ::flow::TCPFlags* f) {
  f->set_fin(bits & kFIN);
  f->set_syn(bits & kSYN);
  f->set_rst(bits & kRST);
  f->set_psh(bits & kPSH);
  f->set_ack(bits & kACK);
  f->set_urg(bits & kURG);
  f->set_ece(bits & kECE);
  f->set_cwr(bits & kCWR);
  f->set_ns(bits & kNS);
}

// Ports and ICMP type/code are narrower in flow::L4 than on the wire; ValidateRanges
// refuses a message whose values do not fit (as the JSON decoder refuses such a line), so
// the casts below never truncate what reaches the analysis.
L4 L4FromProto(const ::flow::Layer4& pb) {
  L4 l4;
  switch (pb.protocol_case()) {
    case ::flow::Layer4::kTCP:
      l4.protocol = Protocol::kTCP;
      l4.source_port = static_cast<uint16_t>(pb.tcp().source_port());
      l4.destination_port = static_cast<uint16_t>(pb.tcp().destination_port());
      if (pb.tcp().has_flags()) l4.tcp_flags = TcpFlagsFromProto(pb.tcp().flags());
      break;
    case ::flow::Layer4::kUDP:
      l4.protocol = Protocol::kUDP;
      l4.source_port = static_cast<uint16_t>(pb.udp().source_port());
      l4.destination_port = static_cast<uint16_t>(pb.udp().destination_port());
      break;
    case ::flow::Layer4::kSCTP:
      l4.protocol = Protocol::kSCTP;
      l4.source_port = static_cast<uint16_t>(pb.sctp().source_port());
      l4.destination_port = static_cast<uint16_t>(pb.sctp().destination_port());
      break;
    case ::flow::Layer4::kICMPv4:
      l4.protocol = Protocol::kICMPv4;
      l4.icmp_type = static_cast<uint8_t>(pb.icmpv4().type());
      l4.icmp_code = static_cast<uint8_t>(pb.icmpv4().code());
      break;
    case ::flow::Layer4::kICMPv6:
      l4.protocol = Protocol::kICMPv6;
      l4.icmp_type = static_cast<uint8_t>(pb.icmpv6().type());
      l4.icmp_code = static_cast<uint8_t>(pb.icmpv6().code());
      break;
    case ::flow::Layer4::kVRRP:
      l4.protocol = Protocol::kVRRP;
      l4.icmp_type = static_cast<uint8_t>(pb.vrrp().type());
      break;
    case ::flow::Layer4::kIGMP:
      l4.protocol = Protocol::kIGMP;
      l4.icmp_type = static_cast<uint8_t>(pb.igmp().type());
      break;
    case ::flow::Layer4::PROTOCOL_NOT_SET:
      break;
  }
  return l4;
}

// Only called when the flow has an l4 (protocol known); an unknown protocol leaves l4 unset.
void L4ToProto(const L4& l4, ::flow::Layer4* pb) {
  switch (l4.protocol) {
    case Protocol::kTCP: {
      auto* tcp = pb->mutable_tcp();
      tcp->set_source_port(l4.source_port);
      tcp->set_destination_port(l4.destination_port);
      if (l4.tcp_flags != 0) TcpFlagsToProto(l4.tcp_flags, tcp->mutable_flags());
      break;
    }
    case Protocol::kUDP:
      pb->mutable_udp()->set_source_port(l4.source_port);
      pb->mutable_udp()->set_destination_port(l4.destination_port);
      break;
    case Protocol::kSCTP:
      pb->mutable_sctp()->set_source_port(l4.source_port);
      pb->mutable_sctp()->set_destination_port(l4.destination_port);
      break;
    case Protocol::kICMPv4:
      pb->mutable_icmpv4()->set_type(l4.icmp_type);
      pb->mutable_icmpv4()->set_code(l4.icmp_code);
      break;
    case Protocol::kICMPv6:
      pb->mutable_icmpv6()->set_type(l4.icmp_type);
      pb->mutable_icmpv6()->set_code(l4.icmp_code);
      break;
    case Protocol::kVRRP:
      pb->mutable_vrrp()->set_type(l4.icmp_type);
      break;
    case Protocol::kIGMP:
      pb->mutable_igmp()->set_type(l4.icmp_type);
      break;
    case Protocol::kUnknown:
      break;
  }
}

L7 L7FromProto(const ::flow::Layer7& pb) {
  L7 l7;
  l7.type = static_cast<L7Type>(pb.type());
  l7.latency_ns = pb.latency_ns();
  if (pb.has_dns()) {
    const auto& d = pb.dns();
    Dns dns;
    dns.query = d.query();
    dns.ips = CopyAll(d.ips());
    dns.ttl = d.ttl();
    dns.cnames = CopyAll(d.cnames());
    dns.observation_source = d.observation_source();
    dns.rcode = d.rcode();
    dns.qtypes = CopyAll(d.qtypes());
    dns.rrtypes = CopyAll(d.rrtypes());
    l7.dns = std::move(dns);
  } else if (pb.has_http()) {
    const auto& h = pb.http();
    l7.http = Http{h.code(), h.method(), h.url(), h.protocol(), {}};
    for (const auto& hd : h.headers()) l7.http->headers.emplace_back(hd.key(), hd.value());
  }
  return l7;
}

void L7ToProto(const L7& l7, ::flow::Layer7* pb) {
  pb->set_type(static_cast<::flow::L7FlowType>(l7.type));
  pb->set_latency_ns(l7.latency_ns);
  if (l7.dns) {
    auto* d = pb->mutable_dns();
    d->set_query(l7.dns->query);
    AddAll(l7.dns->ips, d->mutable_ips());
    d->set_ttl(l7.dns->ttl);
    AddAll(l7.dns->cnames, d->mutable_cnames());
    d->set_observation_source(l7.dns->observation_source);
    d->set_rcode(l7.dns->rcode);
    AddAll(l7.dns->qtypes, d->mutable_qtypes());
    AddAll(l7.dns->rrtypes, d->mutable_rrtypes());
  } else if (l7.http) {
    auto* h = pb->mutable_http();
    h->set_code(l7.http->code);
    h->set_method(l7.http->method);
    h->set_url(l7.http->url);
    h->set_protocol(l7.http->protocol);
    for (const auto& [k, v] : l7.http->headers) {
      auto* hd = h->add_headers();
      hd->set_key(k);
      hd->set_value(v);
    }
  }
}

template <typename Interner>
Service ServiceFromProto(const ::flow::Service& pb, Interner& symbols) {
  return Service{symbols.Intern(pb.name()), symbols.Intern(pb.namespace_())};
}

template <typename Repeated, typename Interner>
std::vector<PolicyRef> PoliciesFromProto(const Repeated& in, Interner& symbols) {
  std::vector<PolicyRef> out;
  out.reserve(in.size());
  for (const ::flow::Policy& p : in) {
    PolicyRef ref;
    ref.name = symbols.Intern(p.name());
    ref.namespace_ = symbols.Intern(p.namespace_());
    ref.kind = symbols.Intern(p.kind());
    ref.labels = InternAll(p.labels(), symbols);
    ref.revision = p.revision();
    out.push_back(std::move(ref));
  }
  return out;
}

template <typename Repeated>
void PoliciesToProto(const std::vector<PolicyRef>& in, Repeated* out) {
  for (const PolicyRef& ref : in) {
    ::flow::Policy* p = out->Add();
    p->set_name(ref.name.str());
    p->set_namespace_(ref.namespace_.str());
    p->set_kind(ref.kind.str());
    AddAll(ref.labels, p->mutable_labels());
    p->set_revision(ref.revision);
  }
}

template <typename Interner>
Flow FlowFromProtoWith(const ::flow::Flow& pb, Interner& symbols) {
  Flow f;
  if (pb.has_time()) f.time = TimeFromProto(pb.time());
  f.uuid = pb.uuid();
  f.verdict = static_cast<Verdict>(pb.verdict());
  f.drop_reason = pb.drop_reason();
  f.drop_reason_desc = static_cast<uint32_t>(pb.drop_reason_desc());
  f.auth_type = static_cast<uint8_t>(pb.auth_type());

  const ::flow::IP& ip = pb.ip();
  f.source_ip = ip.source();
  f.source_ip_xlated = ip.source_xlated();
  f.destination_ip = ip.destination();
  f.ip_version = static_cast<IpVersion>(ip.ipversion());
  f.encrypted = ip.encrypted();

  if (pb.has_l4()) f.l4 = L4FromProto(pb.l4());
  f.source = EndpointFromProto(pb.source(), symbols);
  f.destination = EndpointFromProto(pb.destination(), symbols);
  f.type = static_cast<FlowType>(pb.type());
  f.node_name = symbols.Intern(pb.node_name());
  f.node_labels = InternAll(pb.node_labels(), symbols);
  f.source_names = InternAll(pb.source_names(), symbols);
  f.destination_names = InternAll(pb.destination_names(), symbols);
  if (pb.has_l7()) f.l7 = L7FromProto(pb.l7());

  // Cilium 1.10 agents set only the deprecated `reply`, and only when true; a false
  // `reply` is indistinguishable from absent, so it means "unknown", not "not a reply".
  if (pb.has_is_reply()) {
    f.is_reply = pb.is_reply().value();
  } else if (pb.reply()) {
    f.is_reply = true;
  }

  f.event_type = pb.event_type().type();
  f.event_sub_type = pb.event_type().sub_type();
  f.source_service = ServiceFromProto(pb.source_service(), symbols);
  f.destination_service = ServiceFromProto(pb.destination_service(), symbols);
  f.traffic_direction = static_cast<TrafficDirection>(pb.traffic_direction());
  f.policy_match_type = pb.policy_match_type();
  f.trace_observation_point = static_cast<uint8_t>(pb.trace_observation_point());
  f.trace_reason = static_cast<uint8_t>(pb.trace_reason());
  f.interface_index = pb.interface().index();
  f.interface_name = symbols.Intern(pb.interface().name());
  f.proxy_port = pb.proxy_port();
  f.trace_id = pb.trace_context().parent().trace_id();
  f.summary = pb.summary();

  f.egress_allowed_by = PoliciesFromProto(pb.egress_allowed_by(), symbols);
  f.ingress_allowed_by = PoliciesFromProto(pb.ingress_allowed_by(), symbols);
  f.egress_denied_by = PoliciesFromProto(pb.egress_denied_by(), symbols);
  f.ingress_denied_by = PoliciesFromProto(pb.ingress_denied_by(), symbols);
  f.policy_log = CopyAll(pb.policy_log());
  return f;
}

}  // namespace

void FlowToProto(const Flow& f, ::flow::Flow* pb) {
  pb->Clear();
  if (f.time != absl::UnixEpoch()) TimeToProto(f.time, pb->mutable_time());
  pb->set_uuid(f.uuid);
  pb->set_verdict(static_cast<::flow::Verdict>(f.verdict));
  pb->set_drop_reason(f.drop_reason);
  pb->set_drop_reason_desc(static_cast<::flow::DropReason>(f.drop_reason_desc));
  pb->set_auth_type(static_cast<::flow::AuthType>(f.auth_type));

  if (!f.source_ip.empty() || !f.source_ip_xlated.empty() || !f.destination_ip.empty() ||
      f.ip_version != IpVersion::kNotUsed || f.encrypted) {
    auto* ip = pb->mutable_ip();
    ip->set_source(f.source_ip);
    ip->set_source_xlated(f.source_ip_xlated);
    ip->set_destination(f.destination_ip);
    ip->set_ipversion(static_cast<::flow::IPVersion>(f.ip_version));
    ip->set_encrypted(f.encrypted);
  }
  if (f.l4.protocol != Protocol::kUnknown) L4ToProto(f.l4, pb->mutable_l4());
  if (!IsEmpty(f.source)) EndpointToProto(f.source, pb->mutable_source());
  if (!IsEmpty(f.destination)) EndpointToProto(f.destination, pb->mutable_destination());
  pb->set_type(static_cast<::flow::FlowType>(f.type));
  pb->set_node_name(f.node_name.str());
  AddAll(f.node_labels, pb->mutable_node_labels());
  AddAll(f.source_names, pb->mutable_source_names());
  AddAll(f.destination_names, pb->mutable_destination_names());
  if (f.l7) L7ToProto(*f.l7, pb->mutable_l7());

  // Hubble still fills the deprecated `reply` from is_reply; older readers use it.
  if (f.is_reply) {
    pb->mutable_is_reply()->set_value(*f.is_reply);
    pb->set_reply(*f.is_reply);
  }

  if (f.event_type != 0 || f.event_sub_type != 0) {
    pb->mutable_event_type()->set_type(f.event_type);
    pb->mutable_event_type()->set_sub_type(f.event_sub_type);
  }
  if (!f.source_service.name.empty() || !f.source_service.namespace_.empty()) {
    pb->mutable_source_service()->set_name(f.source_service.name.str());
    pb->mutable_source_service()->set_namespace_(f.source_service.namespace_.str());
  }
  if (!f.destination_service.name.empty() || !f.destination_service.namespace_.empty()) {
    pb->mutable_destination_service()->set_name(f.destination_service.name.str());
    pb->mutable_destination_service()->set_namespace_(f.destination_service.namespace_.str());
  }
  pb->set_traffic_direction(static_cast<::flow::TrafficDirection>(f.traffic_direction));
  pb->set_policy_match_type(f.policy_match_type);
  pb->set_trace_observation_point(
      static_cast<::flow::TraceObservationPoint>(f.trace_observation_point));
  pb->set_trace_reason(static_cast<::flow::TraceReason>(f.trace_reason));
  if (f.interface_index != 0 || !f.interface_name.empty()) {
    pb->mutable_interface()->set_index(f.interface_index);
    pb->mutable_interface()->set_name(f.interface_name.str());
  }
  pb->set_proxy_port(f.proxy_port);
  if (!f.trace_id.empty()) pb->mutable_trace_context()->mutable_parent()->set_trace_id(f.trace_id);
  pb->set_summary(f.summary);

  PoliciesToProto(f.egress_allowed_by, pb->mutable_egress_allowed_by());
  PoliciesToProto(f.ingress_allowed_by, pb->mutable_ingress_allowed_by());
  PoliciesToProto(f.egress_denied_by, pb->mutable_egress_denied_by());
  PoliciesToProto(f.ingress_denied_by, pb->mutable_ingress_denied_by());
  AddAll(f.policy_log, pb->mutable_policy_log());
}

namespace {

template <typename Interner>
Event EventFromProtoWith(const ::observer::GetFlowsResponse& pb, Interner& symbols) {
  Event ev;
  switch (pb.response_types_case()) {
    case ::observer::GetFlowsResponse::kFlow:
      ev.flow = FlowFromProtoWith(pb.flow(), symbols);
      break;
    case ::observer::GetFlowsResponse::kLostEvents: {
      const auto& l = pb.lost_events();
      LostEvent lost;
      lost.source = static_cast<LostEventSource>(l.source());
      lost.num_events_lost = l.num_events_lost();
      if (l.has_cpu()) lost.cpu = l.cpu().value();
      ev.lost = lost;
      break;
    }
    case ::observer::GetFlowsResponse::kNodeStatus: {
      const auto& n = pb.node_status();
      NodeStatus status;
      status.state = static_cast<NodeState>(n.state_change());
      status.node_names = CopyAll(n.node_names());
      status.message = n.message();
      ev.node_status = std::move(status);
      break;
    }
    case ::observer::GetFlowsResponse::RESPONSE_TYPES_NOT_SET:
      break;
  }
  ev.node_name = symbols.Intern(pb.node_name());
  if (pb.has_time()) ev.time = TimeFromProto(pb.time());
  return ev;
}

}  // namespace

Flow FlowFromProto(const ::flow::Flow& pb, SymbolTable& symbols) {
  return FlowFromProtoWith(pb, symbols);
}
Flow FlowFromProto(const ::flow::Flow& pb, SymbolCache& symbols) {
  return FlowFromProtoWith(pb, symbols);
}
Event EventFromProto(const ::observer::GetFlowsResponse& pb, SymbolTable& symbols) {
  return EventFromProtoWith(pb, symbols);
}
Event EventFromProto(const ::observer::GetFlowsResponse& pb, SymbolCache& symbols) {
  return EventFromProtoWith(pb, symbols);
}

void EventToProto(const Event& ev, ::observer::GetFlowsResponse* pb) {
  pb->Clear();
  if (ev.flow) {
    FlowToProto(*ev.flow, pb->mutable_flow());
  } else if (ev.lost) {
    auto* l = pb->mutable_lost_events();
    l->set_source(static_cast<::flow::LostEventSource>(ev.lost->source));
    l->set_num_events_lost(ev.lost->num_events_lost);
    if (ev.lost->cpu) l->mutable_cpu()->set_value(*ev.lost->cpu);
  } else if (ev.node_status) {
    auto* n = pb->mutable_node_status();
    n->set_state_change(static_cast<::relay::NodeState>(ev.node_status->state));
    AddAll(ev.node_status->node_names, n->mutable_node_names());
    n->set_message(ev.node_status->message);
  }
  pb->set_node_name(ev.node_name.str());
  if (ev.time != absl::UnixEpoch()) TimeToProto(ev.time, pb->mutable_time());
}

namespace {

absl::Status OutOfRange(absl::string_view field, uint32_t value, uint32_t max) {
  return absl::InvalidArgumentError(absl::StrCat("field flow.l4.", field, ": expected 0-", max,
                                                 ", got ", value, " (out of range)"));
}

template <typename M>
absl::Status CheckPorts(absl::string_view proto, const M& m) {
  constexpr uint32_t kMax = std::numeric_limits<uint16_t>::max();
  if (m.source_port() > kMax) {
    return OutOfRange(absl::StrCat(proto, ".source_port"), m.source_port(), kMax);
  }
  if (m.destination_port() > kMax) {
    return OutOfRange(absl::StrCat(proto, ".destination_port"), m.destination_port(), kMax);
  }
  return absl::OkStatus();
}

template <typename M>
absl::Status CheckTypeCode(absl::string_view proto, const M& m) {
  constexpr uint32_t kMax = std::numeric_limits<uint8_t>::max();
  if (m.type() > kMax) return OutOfRange(absl::StrCat(proto, ".type"), m.type(), kMax);
  if (m.code() > kMax) return OutOfRange(absl::StrCat(proto, ".code"), m.code(), kMax);
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateRanges(const ::observer::GetFlowsResponse& pb) {
  if (!pb.has_flow() || !pb.flow().has_l4()) return absl::OkStatus();
  const ::flow::Layer4& l4 = pb.flow().l4();
  switch (l4.protocol_case()) {
    case ::flow::Layer4::kTCP:
      return CheckPorts("TCP", l4.tcp());
    case ::flow::Layer4::kUDP:
      return CheckPorts("UDP", l4.udp());
    case ::flow::Layer4::kSCTP:
      return CheckPorts("SCTP", l4.sctp());
    case ::flow::Layer4::kICMPv4:
      return CheckTypeCode("ICMPv4", l4.icmpv4());
    case ::flow::Layer4::kICMPv6:
      return CheckTypeCode("ICMPv6", l4.icmpv6());
    default:
      return absl::OkStatus();
  }
}

}  // namespace tw::flow
