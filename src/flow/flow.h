// flow::Flow — tierwatch's protobuf-free flow, converted once at the edge from Hubble's
// protobuf (proto_convert.h) or jsonpb (json.h) and passed by value everywhere else.
//
//   tw::flow::SymbolTable symbols;
//   tw::flow::JsonDecoder decoder(symbols);
//   absl::StatusOr<Event> ev = decoder.Decode(line);
//   if (ev.ok() && ev->flow) {
//     const Flow& f = *ev->flow;
//     if (f.verdict == Verdict::kDropped && f.IsPolicyVerdictDrop()) ...
//   }
//
// Field names follow Hubble's flow.proto so a reader of both can map them; enums carry
// Hubble's numbers. Only what an analysis needs is kept; see docs/flow-model.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "flow/symbol.h"

namespace tw::flow {

enum class Verdict : uint8_t {
  kUnknown = 0,
  kForwarded = 1,
  kDropped = 2,
  kError = 3,
  kAudit = 4,
  kRedirected = 5,
  kTraced = 6,
  kTranslated = 7,
};

enum class FlowType : uint8_t { kUnknown = 0, kL3L4 = 1, kL7 = 2, kSock = 3 };
enum class TrafficDirection : uint8_t { kUnknown = 0, kIngress = 1, kEgress = 2 };
enum class IpVersion : uint8_t { kNotUsed = 0, kIPv4 = 1, kIPv6 = 2 };
enum class L7Type : uint8_t { kUnknown = 0, kRequest = 1, kResponse = 2, kSample = 3 };
enum class Protocol : uint8_t { kUnknown = 0, kTCP, kUDP, kSCTP, kICMPv4, kICMPv6, kVRRP, kIGMP };

// Monitor message types carried in Flow.event_type.type (hubble-api.md §5.12).
enum EventTypeCode : int32_t {
  kEventDrop = 1,
  kEventDebug = 2,
  kEventCapture = 3,
  kEventTrace = 4,
  kEventPolicyVerdict = 5,
  kEventTraceSock = 7,
  kEventL7 = 129,
  kEventAgent = 130,
};

// Hubble DropReason numbers that mean "policy decided this".
inline constexpr uint32_t kDropPolicyDenied = 133;  // no allow rule under default-deny
inline constexpr uint32_t kDropPolicyDeny = 181;    // an explicit deny rule
inline constexpr uint32_t kDropAuthRequired = 189;

// Reserved identities / entities, as a bitmask: identity 7 is kube-apiserver AND
// remote-node, a CIDR identity is world plus its cidr: label.
enum Reserved : uint16_t {
  kReservedNone = 0,
  kReservedHost = 1 << 0,
  kReservedWorld = 1 << 1,
  kReservedUnmanaged = 1 << 2,
  kReservedHealth = 1 << 3,
  kReservedInit = 1 << 4,
  kReservedRemoteNode = 1 << 5,
  kReservedKubeApiserver = 1 << 6,
  kReservedIngress = 1 << 7,
  kReservedUnknown = 1 << 8,
};

// Name of the most specific entity in a Reserved mask: "kube-apiserver" before
// "remote-node", "world", "host", ... ; "" for none.
absl::string_view ReservedEntityName(uint16_t reserved);
// Mask for an entity name as written in policies ("world", "remote-node", ...).
uint16_t ReservedFromEntityName(absl::string_view name);

struct Workload {
  Symbol name;
  Symbol kind;
  friend bool operator==(const Workload& a, const Workload& b) {
    return a.name == b.name && a.kind == b.kind;
  }
};

struct Endpoint {
  uint32_t id = 0;        // Cilium endpoint id (Endpoint.ID)
  uint32_t identity = 0;  // security identity
  Symbol cluster_name;
  Symbol namespace_;
  Symbol pod_name;
  std::vector<Symbol> labels;  // "source:key=value", e.g. "k8s:app=odoo", "reserved:world"
  std::vector<Workload> workloads;
  // Derived at conversion from labels and identity number (see ComputeReserved).
  uint16_t reserved = kReservedNone;

  // Value of the label `key` (without source prefix) from any source; nullopt if absent.
  // LabelValue("app") finds "k8s:app=x"; LabelValue("k8s:app") only k8s-source labels.
  std::optional<absl::string_view> LabelValue(absl::string_view key) const;
  bool HasLabel(absl::string_view key) const { return LabelValue(key).has_value(); }
  bool IsReserved() const { return reserved != kReservedNone; }
  // The workload name an operator would use, the same from every node: the pod name with
  // its ReplicaSet / DaemonSet / StatefulSet suffix stripped — or the stable label
  // (app.kubernetes.io/name, app, k8s-app, name) when that name starts with it, so that
  // reports carrying only labels agree; for a pod reported with a reserved identity (only
  // its pod name is its own) also without a trailing "-v<N>" — else the label, else
  // Endpoint.workloads[0] (filled only on the pod's own node), else the service account
  // unless it is "default"; "" when nothing names it.
  absl::string_view WorkloadName() const;

  friend bool operator==(const Endpoint& a, const Endpoint& b);
};

// The pod name without the suffix its controller generated: "coredns-5d78c9869d-x2x9z" ->
// "coredns", "node-local-dns-cw6pv" -> "node-local-dns", "postgres-0" -> "postgres". The
// endpoint's pod-template-hash / statefulset labels make it exact; without them (peers
// reported with the world identity) the shapes decide. Other names are returned as given.
absl::string_view StripPodSuffix(absl::string_view pod, const Endpoint* endpoint = nullptr);
// A name without a trailing version segment: "reviews-v1" -> "reviews"; others as given.
absl::string_view StripVersionSuffix(absl::string_view name);

// Reserved mask of an endpoint from its labels (reserved:*) and identity number (1..8).
uint16_t ComputeReserved(const Endpoint& ep);

enum TcpFlag : uint16_t {
  kFIN = 1 << 0,
  kSYN = 1 << 1,
  kRST = 1 << 2,
  kPSH = 1 << 3,
  kACK = 1 << 4,
  kURG = 1 << 5,
  kECE = 1 << 6,
  kCWR = 1 << 7,
  kNS = 1 << 8,
};

struct L4 {
  Protocol protocol = Protocol::kUnknown;
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  uint16_t tcp_flags = 0;  // TcpFlag bits (TCP only)
  uint8_t icmp_type = 0;   // ICMPv4/ICMPv6 (and VRRP/IGMP type)
  uint8_t icmp_code = 0;
  friend bool operator==(const L4& a, const L4& b) {
    return a.protocol == b.protocol && a.source_port == b.source_port &&
           a.destination_port == b.destination_port && a.tcp_flags == b.tcp_flags &&
           a.icmp_type == b.icmp_type && a.icmp_code == b.icmp_code;
  }
};

struct Dns {
  std::string query;  // with trailing dot, as Hubble reports it
  std::vector<std::string> ips;
  uint32_t ttl = 0;
  std::vector<std::string> cnames;
  std::string observation_source;
  uint32_t rcode = 0;
  std::vector<std::string> qtypes;
  std::vector<std::string> rrtypes;
  friend bool operator==(const Dns& a, const Dns& b);
};

struct Http {
  uint32_t code = 0;
  std::string method;
  std::string url;
  std::string protocol;
  std::vector<std::pair<std::string, std::string>> headers;  // key, value (as Hubble sends)
  friend bool operator==(const Http& a, const Http& b) {
    return a.code == b.code && a.method == b.method && a.url == b.url && a.protocol == b.protocol &&
           a.headers == b.headers;
  }
};

struct L7 {
  L7Type type = L7Type::kUnknown;
  uint64_t latency_ns = 0;
  std::optional<Dns> dns;
  std::optional<Http> http;
  friend bool operator==(const L7& a, const L7& b) {
    return a.type == b.type && a.latency_ns == b.latency_ns && a.dns == b.dns && a.http == b.http;
  }
};

struct Service {
  Symbol name;
  Symbol namespace_;
  friend bool operator==(const Service& a, const Service& b) {
    return a.name == b.name && a.namespace_ == b.namespace_;
  }
};

// A policy named by Hubble's policy correlation (*_allowed_by, *_denied_by).
struct PolicyRef {
  Symbol name;
  Symbol namespace_;
  Symbol kind;
  std::vector<Symbol> labels;
  uint64_t revision = 0;
  friend bool operator==(const PolicyRef& a, const PolicyRef& b) {
    return a.name == b.name && a.namespace_ == b.namespace_ && a.kind == b.kind &&
           a.labels == b.labels && a.revision == b.revision;
  }
};

struct Flow {
  absl::Time time = absl::UnixEpoch();
  std::string uuid;
  Verdict verdict = Verdict::kUnknown;
  uint32_t drop_reason = 0;       // deprecated numeric code (older agents)
  uint32_t drop_reason_desc = 0;  // DropReason enum number (0 = unknown)
  uint8_t auth_type = 0;

  std::string source_ip;
  std::string source_ip_xlated;
  std::string destination_ip;
  IpVersion ip_version = IpVersion::kNotUsed;
  bool encrypted = false;

  L4 l4;
  Endpoint source;
  Endpoint destination;
  FlowType type = FlowType::kUnknown;
  Symbol node_name;
  std::vector<Symbol> node_labels;
  std::vector<Symbol> source_names;
  std::vector<Symbol> destination_names;
  std::optional<L7> l7;

  // is_reply, or the deprecated `reply` when is_reply is absent and reply is true (as in
  // Cilium 1.10 captures). nullopt = Hubble does not know (always so on drops).
  std::optional<bool> is_reply;

  int32_t event_type = 0;  // EventTypeCode
  int32_t event_sub_type = 0;
  Service source_service;
  Service destination_service;
  TrafficDirection traffic_direction = TrafficDirection::kUnknown;
  uint32_t policy_match_type = 0;
  uint8_t trace_observation_point = 0;  // Hubble's TraceObservationPoint number
  uint8_t trace_reason = 0;
  uint32_t interface_index = 0;
  Symbol interface_name;
  uint32_t proxy_port = 0;
  std::string trace_id;  // trace_context.parent.trace_id (W3C), "" when absent
  std::string summary;   // deprecated Summary, kept for display

  std::vector<PolicyRef> egress_allowed_by;
  std::vector<PolicyRef> ingress_allowed_by;
  std::vector<PolicyRef> egress_denied_by;
  std::vector<PolicyRef> ingress_denied_by;
  std::vector<std::string> policy_log;

  // The drop reason from drop_reason_desc, falling back to the deprecated drop_reason and
  // then to the drop event's sub_type (older captures). 0 when unknown.
  uint32_t EffectiveDropReason() const;
  // A DROPPED flow whose reason is a policy reason (133, 181, 189), or an AUDIT verdict,
  // or an L7 DROPPED flow (DNS refused, HTTP 403).
  bool IsPolicyVerdictDrop() const;

  friend bool operator==(const Flow& a, const Flow& b);
  friend bool operator!=(const Flow& a, const Flow& b) { return !(a == b); }
};

// LostEvent: events the agent or relay could not deliver.
enum class LostEventSource : uint8_t {
  kUnknown = 0,
  kPerfEventRingBuffer = 1,
  kObserverEventsQueue = 2,
  kHubbleRingBuffer = 3,
};

struct LostEvent {
  LostEventSource source = LostEventSource::kUnknown;
  uint64_t num_events_lost = 0;
  std::optional<int32_t> cpu;
  friend bool operator==(const LostEvent& a, const LostEvent& b) {
    return a.source == b.source && a.num_events_lost == b.num_events_lost && a.cpu == b.cpu;
  }
};

enum class NodeState : uint8_t {
  kUnknown = 0,
  kConnected = 1,
  kUnavailable = 2,
  kGone = 3,
  kError = 4,
};

struct NodeStatus {
  NodeState state = NodeState::kUnknown;
  std::vector<std::string> node_names;
  std::string message;
  friend bool operator==(const NodeStatus& a, const NodeStatus& b) {
    return a.state == b.state && a.node_names == b.node_names && a.message == b.message;
  }
};

// One GetFlowsResponse (or one capture line): exactly one of flow, lost, node_status.
struct Event {
  std::optional<Flow> flow;
  std::optional<LostEvent> lost;
  std::optional<NodeStatus> node_status;
  Symbol node_name;  // response-level node_name
  absl::Time time = absl::UnixEpoch();
  friend bool operator==(const Event& a, const Event& b) {
    return a.flow == b.flow && a.lost == b.lost && a.node_status == b.node_status &&
           a.node_name == b.node_name && a.time == b.time;
  }
};

// Names for display and JSON (Hubble's enum names).
absl::string_view VerdictName(Verdict v);
absl::string_view ProtocolName(Protocol p);  // "TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6", ...
absl::string_view TrafficDirectionName(TrafficDirection d);
absl::string_view FlowTypeName(FlowType t);
absl::string_view L7TypeName(L7Type t);
absl::string_view LostEventSourceName(LostEventSource s);
absl::string_view NodeStateName(NodeState s);
absl::string_view TraceObservationPointName(uint8_t p);
// Hubble DropReason enum name for a number ("POLICY_DENIED"); "" if unknown.
absl::string_view DropReasonName(uint32_t code);

std::optional<Verdict> VerdictFromName(absl::string_view name);
std::optional<Protocol> ProtocolFromName(absl::string_view name);  // case-insensitive
std::optional<TrafficDirection> TrafficDirectionFromName(absl::string_view name);
std::optional<FlowType> FlowTypeFromName(absl::string_view name);
std::optional<L7Type> L7TypeFromName(absl::string_view name);
std::optional<LostEventSource> LostEventSourceFromName(absl::string_view name);
std::optional<NodeState> NodeStateFromName(absl::string_view name);
std::optional<uint8_t> TraceObservationPointFromName(absl::string_view name);
std::optional<uint32_t> DropReasonFromName(absl::string_view name);
std::optional<IpVersion> IpVersionFromName(absl::string_view name);

}  // namespace tw::flow
