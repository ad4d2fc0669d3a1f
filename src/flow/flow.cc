#include "flow/flow.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "flow/flow.pb.h"
#include "relay/relay.pb.h"

namespace tw::flow {

namespace {

struct EntityBit {
  absl::string_view name;
  uint16_t bit;
};
// Most specific first: identity 7 is kube-apiserver + remote-node and should read as
// kube-apiserver; a CIDR identity carries world and reads as world.
constexpr EntityBit kEntities[] = {
    {"kube-apiserver", kReservedKubeApiserver},
    {"host", kReservedHost},
    {"remote-node", kReservedRemoteNode},
    {"health", kReservedHealth},
    {"ingress", kReservedIngress},
    {"init", kReservedInit},
    {"unmanaged", kReservedUnmanaged},
    {"world", kReservedWorld},
    {"unknown", kReservedUnknown},
};

// Returns the part after the "source:" prefix, if the label has one of the known sources.
absl::string_view StripSource(absl::string_view label) {
  size_t colon = label.find(':');
  if (colon == absl::string_view::npos) return label;
  size_t eq = label.find('=');
  if (eq != absl::string_view::npos && eq < colon) return label;  // ':' inside the value
  return label.substr(colon + 1);
}

}  // namespace

absl::string_view ReservedEntityName(uint16_t reserved) {
  for (const auto& e : kEntities) {
    if (reserved & e.bit) return e.name;
  }
  return "";
}

uint16_t ReservedFromEntityName(absl::string_view name) {
  for (const auto& e : kEntities) {
    if (e.name == name) return e.bit;
  }
  if (name == "world-ipv4" || name == "world-ipv6") return kReservedWorld;
  return kReservedNone;
}

uint16_t ComputeReserved(const Endpoint& ep) {
  uint16_t mask = kReservedNone;
  for (Symbol l : ep.labels) {
    absl::string_view s = l.view();
    if (!absl::StartsWith(s, "reserved:")) continue;
    s.remove_prefix(9);
    size_t eq = s.find('=');
    if (eq != absl::string_view::npos) s = s.substr(0, eq);
    if (s == "world-ipv4" || s == "world-ipv6") {
      mask |= kReservedWorld;
    } else {
      mask |= ReservedFromEntityName(s);
    }
  }
  switch (ep.identity) {
    case 1:
      mask |= kReservedHost;
      break;
    case 2:
    case 9:
    case 10:
      mask |= kReservedWorld;
      break;
    case 3:
      mask |= kReservedUnmanaged;
      break;
    case 4:
      mask |= kReservedHealth;
      break;
    case 5:
      mask |= kReservedInit;
      break;
    case 6:
      mask |= kReservedRemoteNode;
      break;
    case 7:
      mask |= kReservedKubeApiserver | kReservedRemoteNode;
      break;
    case 8:
      mask |= kReservedIngress;
      break;
    default:
      break;
  }
  return mask;
}

std::optional<absl::string_view> Endpoint::LabelValue(absl::string_view key) const {
  bool with_source = key.find(':') != absl::string_view::npos;
  for (Symbol l : labels) {
    absl::string_view s = l.view();
    absl::string_view kv = with_source ? s : StripSource(s);
    if (kv.size() < key.size() || !absl::StartsWith(kv, key)) continue;
    if (kv.size() == key.size()) return absl::string_view();
    if (kv[key.size()] == '=') return kv.substr(key.size() + 1);
  }
  return std::nullopt;
}

namespace {

// Characters Kubernetes uses for generated name suffixes (no vowels, no 0/1/3: see
// k8s.io/apimachinery's rand.String alphabet "bcdfghjklmnpqrstvwxz2456789").
bool GeneratedChar(char c) { return absl::StrContains("bcdfghjklmnpqrstvwxz2456789", c); }
bool Generated(absl::string_view s, size_t min_len, size_t max_len) {
  if (s.size() < min_len || s.size() > max_len) return false;
  for (char c : s) {
    if (!GeneratedChar(c)) return false;
  }
  return true;
}
bool LowerAlnum(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}
bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::string_view StripVersionSuffix(absl::string_view name) {
  size_t dash = name.rfind('-');
  if (dash == absl::string_view::npos || dash == 0 || dash + 2 >= name.size() ||
      name[dash + 1] != 'v' || !AllDigits(name.substr(dash + 2))) {
    return name;
  }
  return name.substr(0, dash);
}

absl::string_view StripPodSuffix(absl::string_view pod, const Endpoint* ep) {
  auto cut = [&pod](size_t n) { return pod.substr(0, pod.size() - n); };
  // The labels say exactly which suffix the controller added, when they are there.
  if (ep != nullptr) {
    std::optional<absl::string_view> hash = ep->LabelValue("pod-template-hash");
    if (hash && !hash->empty()) {
      std::string mid = absl::StrCat("-", *hash, "-");
      size_t at = pod.rfind(mid);
      if (at != absl::string_view::npos && at > 0 && pod.size() - at - mid.size() == 5) {
        return pod.substr(0, at);
      }
    }
    if (ep->HasLabel("statefulset.kubernetes.io/pod-name")) {
      size_t dash = pod.rfind('-');
      if (dash != absl::string_view::npos && dash > 0 && AllDigits(pod.substr(dash + 1))) {
        return pod.substr(0, dash);
      }
    }
  }
  // Otherwise the shapes: Deployment name-<hash>-<5>, DaemonSet/Job name-<5>, StatefulSet
  // name-<ordinal>.
  size_t last = pod.rfind('-');
  if (last == absl::string_view::npos || last == 0) return pod;
  absl::string_view tail = pod.substr(last + 1);
  absl::string_view rest = pod.substr(0, last);
  size_t prev = rest.rfind('-');
  // After a ReplicaSet hash any five lower-case letters or digits are the pod's suffix
  // (hand-written names such as odoo-5d8f7c9b6-abcde included); alone, only generated ones.
  if (tail.size() == 5 && LowerAlnum(tail) && prev != absl::string_view::npos && prev > 0 &&
      Generated(rest.substr(prev + 1), 6, 10)) {
    return rest.substr(0, prev);
  }
  if (Generated(tail, 5, 5)) return rest;
  if (AllDigits(tail)) return cut(tail.size() + 1);
  return pod;
}

absl::string_view Endpoint::WorkloadName() const {
  // Every node must name a pod alike, so the name comes from what the reports carry, not
  // Endpoint.workloads (Hubble fills it only on the pod's own node). Reports differ: most
  // carry the pod name and the identity's labels; some carry only the labels (a remote pod
  // without its metadata); Cilium 1.10 L7 flows carry only the pod name (the peer has the
  // world identity). The rules below give one name from each of them.
  absl::string_view label;
  if (!IsReserved()) {
    for (absl::string_view key : {"k8s:app.kubernetes.io/name", "k8s:app", "k8s:k8s-app",
                                  "k8s:name", "app.kubernetes.io/name", "app", "k8s-app", "name"}) {
      auto v = LabelValue(key);
      if (v && !v->empty()) {
        label = *v;
        break;
      }
    }
  }
  if (!pod_name.empty()) {
    absl::string_view base = StripPodSuffix(pod_name.view(), this);
    // The label when the pod's name starts with it ("reviews" for reviews-v1-...): reports
    // that carry only labels then give the same name.
    if (!label.empty() && absl::StartsWith(base, label) &&
        (base.size() == label.size() || base[label.size()] == '-')) {
      return label;
    }
    // Only the pod name (the labels are the world's): drop a trailing version ("-v1"), the
    // part of a Deployment's name its app label usually lacks (bookinfo's reviews-v1).
    if (IsReserved()) base = StripVersionSuffix(base);
    if (!base.empty()) return base;
  }
  if (!label.empty()) return label;
  if (!workloads.empty() && !workloads.front().name.empty()) return workloads.front().name.view();
  // The service account "default" is every unconfigured pod's: it names no workload.
  auto sa = LabelValue("k8s:io.cilium.k8s.policy.serviceaccount");
  if (sa && !sa->empty() && *sa != "default") return *sa;
  return "";
}

bool operator==(const Endpoint& a, const Endpoint& b) {
  return a.id == b.id && a.identity == b.identity && a.cluster_name == b.cluster_name &&
         a.namespace_ == b.namespace_ && a.pod_name == b.pod_name && a.labels == b.labels &&
         a.workloads == b.workloads && a.reserved == b.reserved;
}

bool operator==(const Dns& a, const Dns& b) {
  return a.query == b.query && a.ips == b.ips && a.ttl == b.ttl && a.cnames == b.cnames &&
         a.observation_source == b.observation_source && a.rcode == b.rcode &&
         a.qtypes == b.qtypes && a.rrtypes == b.rrtypes;
}

uint32_t Flow::EffectiveDropReason() const {
  if (drop_reason_desc != 0) return drop_reason_desc;
  if (drop_reason != 0) return drop_reason;
  if (event_type == kEventDrop && event_sub_type > 0) return static_cast<uint32_t>(event_sub_type);
  return 0;
}

bool Flow::IsPolicyVerdictDrop() const {
  if (verdict == Verdict::kAudit) return true;
  if (verdict != Verdict::kDropped) return false;
  if (type == FlowType::kL7 || event_type == kEventL7) return true;
  uint32_t r = EffectiveDropReason();
  if (r == 0) return event_type == kEventPolicyVerdict;
  return r == kDropPolicyDenied || r == kDropPolicyDeny || r == kDropAuthRequired;
}

bool operator==(const Flow& a, const Flow& b) {
  return a.time == b.time && a.uuid == b.uuid && a.verdict == b.verdict &&
         a.drop_reason == b.drop_reason && a.drop_reason_desc == b.drop_reason_desc &&
         a.auth_type == b.auth_type && a.source_ip == b.source_ip &&
         a.source_ip_xlated == b.source_ip_xlated && a.destination_ip == b.destination_ip &&
         a.ip_version == b.ip_version && a.encrypted == b.encrypted && a.l4 == b.l4 &&
         a.source == b.source && a.destination == b.destination && a.type == b.type &&
         a.node_name == b.node_name && a.node_labels == b.node_labels &&
         a.source_names == b.source_names && a.destination_names == b.destination_names &&
         a.l7 == b.l7 && a.is_reply == b.is_reply && a.event_type == b.event_type &&
         a.event_sub_type == b.event_sub_type && a.source_service == b.source_service &&
         a.destination_service == b.destination_service &&
         a.traffic_direction == b.traffic_direction && a.policy_match_type == b.policy_match_type &&
         a.trace_observation_point == b.trace_observation_point &&
         a.trace_reason == b.trace_reason && a.interface_index == b.interface_index &&
         a.interface_name == b.interface_name && a.proxy_port == b.proxy_port &&
         a.trace_id == b.trace_id && a.summary == b.summary &&
         a.egress_allowed_by == b.egress_allowed_by &&
         a.ingress_allowed_by == b.ingress_allowed_by && a.egress_denied_by == b.egress_denied_by &&
         a.ingress_denied_by == b.ingress_denied_by && a.policy_log == b.policy_log;
}

// Enum names come from the generated descriptors so they cannot drift from the protos.
absl::string_view VerdictName(Verdict v) {
  const std::string& n = ::flow::Verdict_Name(static_cast<::flow::Verdict>(v));
  return n;
}
absl::string_view TrafficDirectionName(TrafficDirection d) {
  return ::flow::TrafficDirection_Name(static_cast<::flow::TrafficDirection>(d));
}
absl::string_view FlowTypeName(FlowType t) {
  return ::flow::FlowType_Name(static_cast<::flow::FlowType>(t));
}
absl::string_view L7TypeName(L7Type t) {
  return ::flow::L7FlowType_Name(static_cast<::flow::L7FlowType>(t));
}
absl::string_view LostEventSourceName(LostEventSource s) {
  return ::flow::LostEventSource_Name(static_cast<::flow::LostEventSource>(s));
}
absl::string_view NodeStateName(NodeState s) {
  return ::relay::NodeState_Name(static_cast<::relay::NodeState>(s));
}
absl::string_view TraceObservationPointName(uint8_t p) {
  if (!::flow::TraceObservationPoint_IsValid(p)) return "";
  return ::flow::TraceObservationPoint_Name(static_cast<::flow::TraceObservationPoint>(p));
}
absl::string_view DropReasonName(uint32_t code) {
  if (!::flow::DropReason_IsValid(static_cast<int>(code))) return "";
  return ::flow::DropReason_Name(static_cast<::flow::DropReason>(code));
}

absl::string_view ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kTCP:
      return "TCP";
    case Protocol::kUDP:
      return "UDP";
    case Protocol::kSCTP:
      return "SCTP";
    case Protocol::kICMPv4:
      return "ICMPv4";
    case Protocol::kICMPv6:
      return "ICMPv6";
    case Protocol::kVRRP:
      return "VRRP";
    case Protocol::kIGMP:
      return "IGMP";
    case Protocol::kUnknown:
      break;
  }
  return "";
}

std::optional<Protocol> ProtocolFromName(absl::string_view name) {
  std::string n = absl::AsciiStrToLower(name);
  if (n == "tcp") return Protocol::kTCP;
  if (n == "udp") return Protocol::kUDP;
  if (n == "sctp") return Protocol::kSCTP;
  if (n == "icmpv4" || n == "icmp") return Protocol::kICMPv4;
  if (n == "icmpv6") return Protocol::kICMPv6;
  if (n == "vrrp") return Protocol::kVRRP;
  if (n == "igmp") return Protocol::kIGMP;
  return std::nullopt;
}

namespace {
template <typename Out, typename PbEnum>
std::optional<Out> ParseVia(bool (*parse)(const std::string&, PbEnum*), absl::string_view name) {
  PbEnum v;
  if (!parse(std::string(name), &v)) return std::nullopt;
  return static_cast<Out>(v);
}
}  // namespace

std::optional<Verdict> VerdictFromName(absl::string_view name) {
  return ParseVia<Verdict, ::flow::Verdict>(::flow::Verdict_Parse, name);
}
std::optional<TrafficDirection> TrafficDirectionFromName(absl::string_view name) {
  return ParseVia<TrafficDirection, ::flow::TrafficDirection>(::flow::TrafficDirection_Parse, name);
}
std::optional<FlowType> FlowTypeFromName(absl::string_view name) {
  return ParseVia<FlowType, ::flow::FlowType>(::flow::FlowType_Parse, name);
}
std::optional<L7Type> L7TypeFromName(absl::string_view name) {
  return ParseVia<L7Type, ::flow::L7FlowType>(::flow::L7FlowType_Parse, name);
}
std::optional<LostEventSource> LostEventSourceFromName(absl::string_view name) {
  return ParseVia<LostEventSource, ::flow::LostEventSource>(::flow::LostEventSource_Parse, name);
}
std::optional<NodeState> NodeStateFromName(absl::string_view name) {
  return ParseVia<NodeState, ::relay::NodeState>(::relay::NodeState_Parse, name);
}
std::optional<uint8_t> TraceObservationPointFromName(absl::string_view name) {
  return ParseVia<uint8_t, ::flow::TraceObservationPoint>(::flow::TraceObservationPoint_Parse,
                                                          name);
}
std::optional<uint32_t> DropReasonFromName(absl::string_view name) {
  return ParseVia<uint32_t, ::flow::DropReason>(::flow::DropReason_Parse, name);
}
std::optional<IpVersion> IpVersionFromName(absl::string_view name) {
  return ParseVia<IpVersion, ::flow::IPVersion>(::flow::IPVersion_Parse, name);
}

}  // namespace tw::flow
