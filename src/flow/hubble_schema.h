// Hubble's messages as tierwatch keeps them: one table per message, in the proto's
// declaration order, saying for each field its jsonpb name, the generated protobuf accessor
// and where flow::Flow (and its parts) hold it. Three codecs walk these tables and nothing
// else knows the mapping:
//   - the jsonpb decoder and writer (json.cc): a field's JSON form follows its proto type
//     (uint64 as a string, enums by name, Timestamp as RFC 3339, wrappers as bare values);
//   - the protobuf conversion both ways (proto_convert.cc), for the relay client and the
//     replay server.
// Adding a Hubble field tierwatch should keep is one line here (and a member in flow.h).
//
// A table is a tuple of field descriptors; the kinds:
//   Value<&Owner::member>(name, TW_PB(accessor))   a scalar, string, enum, Timestamp,
//       wrapper or repeated string held by a member (Symbol, narrower integers and
//       std::optional for wrappers included);
//   Message<Schema, &Owner::member>(name, ...)    a sub-message held as a struct,
//       std::optional<struct> (presence kept) or std::vector<struct> (repeated);
//   Inline<Schema>(name, ...)                      a sub-message flattened into the owner
//       (Flow keeps IP.source as Flow::source_ip);
//   Bit<&Owner::member, kBit>(name, ...)           a bool kept as one bit (TCP flags);
//   Mirror<&Owner::member>(name, ...)              a deprecated bool that mirrors an
//       optional<bool> (Flow.reply for is_reply): read only when the member stayed
//       absent, written as its value when true;
//   Oneof(Alternative<Schema, Choice>(name, ...), ...)  a proto oneof; Choice says how the
//       owner records which alternative it holds.
// A schema names its Owner (the tierwatch type), its protobuf message (Pb) and, when something
// is derived after decoding (Endpoint.reserved), a Finish(Owner&) step.
//
// Proto fields without a row (ethernet, emitter, tunnel, file, ip_trace_id, extensions,
// socket_cookie, cgroup_id, Kafka's content, LostEvent.first/last, ...) are read past and
// never written: see docs/flow-model.md for what the analysis keeps.
#pragma once

#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "flow/flow.h"
#include "flow/flow.pb.h"
#include "observer/observer.pb.h"
#include "relay/relay.pb.h"

namespace tw::flow::schema {

// The generated accessors of one protobuf field. Generic lambdas: only those a field's
// kind uses are ever instantiated (a proto3 scalar has no has_ or mutable_).
template <typename Get, typename Mut, typename Set, typename Has>
struct Accessors {
  Get get;  // get(message) -> value, sub-message or repeated field
  Mut mut;  // mut(message*) -> mutable sub-message or repeated field
  Set set;  // set(message*, value)
  Has has;  // has(message) for sub-messages and oneof members
};
template <typename Get, typename Mut, typename Set, typename Has>
constexpr Accessors<Get, Mut, Set, Has> MakeAccessors(Get g, Mut m, Set s, Has h) {
  return {g, m, s, h};
}

// The accessors protoc generates for a field whose C++ name is `acc`.
#define TW_PB(acc)                                                           \
  ::tw::flow::schema::MakeAccessors(                                         \
      [](const auto& m) -> decltype(auto) { return m.acc(); },               \
      [](auto* m) { return m->mutable_##acc(); },                            \
      [](auto* m, auto&& v) { m->set_##acc(std::forward<decltype(v)>(v)); }, \
      [](const auto& m) { return m.has_##acc(); })

template <typename T>
struct MemberOf;
template <typename O, typename T>
struct MemberOf<T O::*> {
  using Owner = O;
  using Type = T;
};

enum class FieldKind { kValue, kMessage, kInline, kBit, kMirror, kAlternative, kOneof };

// One row of a table. Which parameters mean something depends on the kind: the schema of a
// sub-message (void when none), the member that holds the field (nullptr when none), the
// bit of a Bit field, the Choice of an Alternative.
template <FieldKind K, typename S, auto kMember, auto kBit, typename C, typename A>
struct Field {
  static constexpr FieldKind kind = K;
  using Schema = S;
  static constexpr auto member = kMember;
  static constexpr auto bit = kBit;
  using Choice = C;
  absl::string_view name;
  A pb;
};

template <auto kMember, typename A>
constexpr auto Value(absl::string_view name, A pb) {
  return Field<FieldKind::kValue, void, kMember, 0, void, A>{name, pb};
}
template <typename S, auto kMember, typename A>
constexpr auto Message(absl::string_view name, A pb) {
  return Field<FieldKind::kMessage, S, kMember, 0, void, A>{name, pb};
}
template <typename S, typename A>
constexpr auto Inline(absl::string_view name, A pb) {
  return Field<FieldKind::kInline, S, nullptr, 0, void, A>{name, pb};
}
template <auto kMember, auto kBit, typename A>
constexpr auto Bit(absl::string_view name, A pb) {
  return Field<FieldKind::kBit, void, kMember, kBit, void, A>{name, pb};
}
template <auto kMember, typename A>
constexpr auto Mirror(absl::string_view name, A pb) {
  return Field<FieldKind::kMirror, void, kMember, 0, void, A>{name, pb};
}
// One member of a oneof. S is the alternative's schema (void: Hubble sends it, tierwatch
// keeps nothing of it, but it still takes the oneof). Choice has
//   static bool Chosen(const Owner&);          // the owner holds this alternative
//   static Target& Choose(Owner&);             // make it the one held (keeping it when it
//                                              // already is, as protobuf merges)
//   static const Target& Get(const Owner&);
template <typename S, typename C, typename A>
constexpr auto Alternative(absl::string_view name, A pb) {
  return Field<FieldKind::kAlternative, S, nullptr, 0, C, A>{name, pb};
}

template <typename... Alts>
struct OneofField {
  static constexpr FieldKind kind = FieldKind::kOneof;
  std::tuple<Alts...> alternatives;
};
template <typename... Alts>
constexpr OneofField<Alts...> Oneof(Alts... alts) {
  return {std::make_tuple(alts...)};
}

// Choices. L4 records its alternative in `protocol`; a different protocol starts afresh.
template <Protocol kProtocol>
struct ProtocolChoice {
  static bool Chosen(const L4& l4) { return l4.protocol == kProtocol; }
  static L4& Choose(L4& l4) {
    if (l4.protocol != kProtocol) l4 = L4();
    l4.protocol = kProtocol;
    return l4;
  }
  static const L4& Get(const L4& l4) { return l4; }
};

// One of several std::optional members is set; choosing one resets the others.
template <auto kMember, auto... kOthers>
struct OptionalChoice {
  using Owner = typename MemberOf<decltype(kMember)>::Owner;
  using Target = typename MemberOf<decltype(kMember)>::Type::value_type;
  static bool Chosen(const Owner& o) { return (o.*kMember).has_value(); }
  static Target& Choose(Owner& o) {
    ((o.*kOthers).reset(), ...);
    if (!(o.*kMember)) (o.*kMember).emplace();
    return *(o.*kMember);
  }
  static const Target& Get(const Owner& o) { return *(o.*kMember); }
};

// An alternative kept as nothing: choosing it resets the members that hold the others.
template <auto... kOthers>
struct NothingChoice {
  template <typename Owner>
  static bool Chosen(const Owner&) {
    return false;
  }
  template <typename Owner>
  static Owner& Choose(Owner& o) {
    ((o.*kOthers).reset(), ...);
    return o;
  }
};

// ---- the tables -------------------------------------------------------------------------

// The deprecated Flow fields (drop_reason, reply, Summary) are mapped on purpose: older
// agents fill only them and older readers still look at them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

struct NoFinish {
  template <typename Owner>
  static void Finish(Owner&) {}
};

struct WorkloadSchema : NoFinish {
  using Owner = Workload;
  using Pb = ::flow::Workload;
  static constexpr auto kFields = std::make_tuple(Value<&Workload::name>("name", TW_PB(name)),
                                                  Value<&Workload::kind>("kind", TW_PB(kind)));
};

struct EndpointSchema {
  using Owner = Endpoint;
  using Pb = ::flow::Endpoint;
  static constexpr auto kFields =
      std::make_tuple(Value<&Endpoint::id>("ID", TW_PB(id)),
                      Value<&Endpoint::identity>("identity", TW_PB(identity)),
                      Value<&Endpoint::cluster_name>("cluster_name", TW_PB(cluster_name)),
                      Value<&Endpoint::namespace_>("namespace", TW_PB(namespace_)),
                      Value<&Endpoint::labels>("labels", TW_PB(labels)),
                      Value<&Endpoint::pod_name>("pod_name", TW_PB(pod_name)),
                      Message<WorkloadSchema, &Endpoint::workloads>("workloads", TW_PB(workloads)));
  static void Finish(Endpoint& ep) { ep.reserved = ComputeReserved(ep); }
};

struct TcpFlagsSchema : NoFinish {
  using Owner = L4;
  using Pb = ::flow::TCPFlags;
  static constexpr auto kFields = std::make_tuple(
      Bit<&L4::tcp_flags, kFIN>("FIN", TW_PB(fin)), Bit<&L4::tcp_flags, kSYN>("SYN", TW_PB(syn)),
      Bit<&L4::tcp_flags, kRST>("RST", TW_PB(rst)), Bit<&L4::tcp_flags, kPSH>("PSH", TW_PB(psh)),
      Bit<&L4::tcp_flags, kACK>("ACK", TW_PB(ack)), Bit<&L4::tcp_flags, kURG>("URG", TW_PB(urg)),
      Bit<&L4::tcp_flags, kECE>("ECE", TW_PB(ece)), Bit<&L4::tcp_flags, kCWR>("CWR", TW_PB(cwr)),
      Bit<&L4::tcp_flags, kNS>("NS", TW_PB(ns)));
};

// TCP, UDP and SCTP carry ports; flow::L4 holds them in 16 bits (the wire says uint32: a
// larger value is refused, see ValidateRanges and the JSON decoder).
template <typename PbT>
struct PortsSchema : NoFinish {
  using Owner = L4;
  using Pb = PbT;
  static constexpr auto kFields =
      std::make_tuple(Value<&L4::source_port>("source_port", TW_PB(source_port)),
                      Value<&L4::destination_port>("destination_port", TW_PB(destination_port)));
};

struct TcpSchema : NoFinish {
  using Owner = L4;
  using Pb = ::flow::TCP;
  static constexpr auto kFields =
      std::make_tuple(Value<&L4::source_port>("source_port", TW_PB(source_port)),
                      Value<&L4::destination_port>("destination_port", TW_PB(destination_port)),
                      Inline<TcpFlagsSchema>("flags", TW_PB(flags)));
};

template <typename PbT>
struct IcmpSchema : NoFinish {
  using Owner = L4;
  using Pb = PbT;
  static constexpr auto kFields = std::make_tuple(Value<&L4::icmp_type>("type", TW_PB(type)),
                                                  Value<&L4::icmp_code>("code", TW_PB(code)));
};

// VRRP and IGMP: only their type is kept.
template <typename PbT>
struct TypeOnlySchema : NoFinish {
  using Owner = L4;
  using Pb = PbT;
  static constexpr auto kFields = std::make_tuple(Value<&L4::icmp_type>("type", TW_PB(type)));
};

struct L4Schema : NoFinish {
  using Owner = L4;
  using Pb = ::flow::Layer4;
  static constexpr auto kFields = std::make_tuple(Oneof(
      Alternative<TcpSchema, ProtocolChoice<Protocol::kTCP>>("TCP", TW_PB(tcp)),
      Alternative<PortsSchema<::flow::UDP>, ProtocolChoice<Protocol::kUDP>>("UDP", TW_PB(udp)),
      Alternative<IcmpSchema<::flow::ICMPv4>, ProtocolChoice<Protocol::kICMPv4>>("ICMPv4",
                                                                                 TW_PB(icmpv4)),
      Alternative<IcmpSchema<::flow::ICMPv6>, ProtocolChoice<Protocol::kICMPv6>>("ICMPv6",
                                                                                 TW_PB(icmpv6)),
      Alternative<PortsSchema<::flow::SCTP>, ProtocolChoice<Protocol::kSCTP>>("SCTP", TW_PB(sctp)),
      Alternative<TypeOnlySchema<::flow::VRRP>, ProtocolChoice<Protocol::kVRRP>>("VRRP",
                                                                                 TW_PB(vrrp)),
      Alternative<TypeOnlySchema<::flow::IGMP>, ProtocolChoice<Protocol::kIGMP>>("IGMP",
                                                                                 TW_PB(igmp))));
};

struct DnsSchema : NoFinish {
  using Owner = Dns;
  using Pb = ::flow::DNS;
  static constexpr auto kFields = std::make_tuple(
      Value<&Dns::query>("query", TW_PB(query)), Value<&Dns::ips>("ips", TW_PB(ips)),
      Value<&Dns::ttl>("ttl", TW_PB(ttl)), Value<&Dns::cnames>("cnames", TW_PB(cnames)),
      Value<&Dns::observation_source>("observation_source", TW_PB(observation_source)),
      Value<&Dns::rcode>("rcode", TW_PB(rcode)), Value<&Dns::qtypes>("qtypes", TW_PB(qtypes)),
      Value<&Dns::rrtypes>("rrtypes", TW_PB(rrtypes)));
};

using Header = std::pair<std::string, std::string>;
struct HttpHeaderSchema : NoFinish {
  using Owner = Header;
  using Pb = ::flow::HTTPHeader;
  static constexpr auto kFields = std::make_tuple(Value<&Header::first>("key", TW_PB(key)),
                                                  Value<&Header::second>("value", TW_PB(value)));
};

struct HttpSchema : NoFinish {
  using Owner = Http;
  using Pb = ::flow::HTTP;
  static constexpr auto kFields = std::make_tuple(
      Value<&Http::code>("code", TW_PB(code)), Value<&Http::method>("method", TW_PB(method)),
      Value<&Http::url>("url", TW_PB(url)), Value<&Http::protocol>("protocol", TW_PB(protocol)),
      Message<HttpHeaderSchema, &Http::headers>("headers", TW_PB(headers)));
};

struct L7Schema : NoFinish {
  using Owner = L7;
  using Pb = ::flow::Layer7;
  static constexpr auto kFields = std::make_tuple(
      Value<&L7::type>("type", TW_PB(type)),
      Value<&L7::latency_ns>("latency_ns", TW_PB(latency_ns)),
      Oneof(Alternative<DnsSchema, OptionalChoice<&L7::dns, &L7::http>>("dns", TW_PB(dns)),
            Alternative<HttpSchema, OptionalChoice<&L7::http, &L7::dns>>("http", TW_PB(http)),
            // Kafka (deprecated in Hubble) is not kept; it still takes the oneof.
            Alternative<void, NothingChoice<&L7::dns, &L7::http>>("kafka", TW_PB(kafka))));
};

struct ServiceSchema : NoFinish {
  using Owner = Service;
  using Pb = ::flow::Service;
  static constexpr auto kFields =
      std::make_tuple(Value<&Service::name>("name", TW_PB(name)),
                      Value<&Service::namespace_>("namespace", TW_PB(namespace_)));
};

struct PolicySchema : NoFinish {
  using Owner = PolicyRef;
  using Pb = ::flow::Policy;
  static constexpr auto kFields =
      std::make_tuple(Value<&PolicyRef::name>("name", TW_PB(name)),
                      Value<&PolicyRef::namespace_>("namespace", TW_PB(namespace_)),
                      Value<&PolicyRef::labels>("labels", TW_PB(labels)),
                      Value<&PolicyRef::revision>("revision", TW_PB(revision)),
                      Value<&PolicyRef::kind>("kind", TW_PB(kind)));
};

// Messages Flow keeps flattened into its own members.
struct IpSchema : NoFinish {
  using Owner = Flow;
  using Pb = ::flow::IP;
  static constexpr auto kFields =
      std::make_tuple(Value<&Flow::source_ip>("source", TW_PB(source)),
                      Value<&Flow::source_ip_xlated>("source_xlated", TW_PB(source_xlated)),
                      Value<&Flow::destination_ip>("destination", TW_PB(destination)),
                      Value<&Flow::ip_version>("ipVersion", TW_PB(ipversion)),
                      Value<&Flow::encrypted>("encrypted", TW_PB(encrypted)));
};

struct EventTypeSchema : NoFinish {
  using Owner = Flow;
  using Pb = ::flow::CiliumEventType;
  static constexpr auto kFields =
      std::make_tuple(Value<&Flow::event_type>("type", TW_PB(type)),
                      Value<&Flow::event_sub_type>("sub_type", TW_PB(sub_type)));
};

struct InterfaceSchema : NoFinish {
  using Owner = Flow;
  using Pb = ::flow::NetworkInterface;
  static constexpr auto kFields =
      std::make_tuple(Value<&Flow::interface_index>("index", TW_PB(index)),
                      Value<&Flow::interface_name>("name", TW_PB(name)));
};

struct TraceParentSchema : NoFinish {
  using Owner = Flow;
  using Pb = ::flow::TraceParent;
  static constexpr auto kFields =
      std::make_tuple(Value<&Flow::trace_id>("trace_id", TW_PB(trace_id)));
};

struct TraceContextSchema : NoFinish {
  using Owner = Flow;
  using Pb = ::flow::TraceContext;
  static constexpr auto kFields =
      std::make_tuple(Inline<TraceParentSchema>("parent", TW_PB(parent)));
};

struct FlowSchema {
  using Owner = Flow;
  using Pb = ::flow::Flow;
  static constexpr auto kFields = std::make_tuple(
      Value<&Flow::time>("time", TW_PB(time)), Value<&Flow::uuid>("uuid", TW_PB(uuid)),
      Value<&Flow::verdict>("verdict", TW_PB(verdict)),
      Value<&Flow::drop_reason>("drop_reason", TW_PB(drop_reason)),
      Value<&Flow::auth_type>("auth_type", TW_PB(auth_type)), Inline<IpSchema>("IP", TW_PB(ip)),  //
      Message<L4Schema, &Flow::l4>("l4", TW_PB(l4)),
      Message<EndpointSchema, &Flow::source>("source", TW_PB(source)),
      Message<EndpointSchema, &Flow::destination>("destination", TW_PB(destination)),
      Value<&Flow::type>("Type", TW_PB(type)),
      Value<&Flow::node_name>("node_name", TW_PB(node_name)),
      Value<&Flow::node_labels>("node_labels", TW_PB(node_labels)),
      Value<&Flow::source_names>("source_names", TW_PB(source_names)),
      Value<&Flow::destination_names>("destination_names", TW_PB(destination_names)),
      Message<L7Schema, &Flow::l7>("l7", TW_PB(l7)),
      // Cilium 1.10 agents fill only the deprecated `reply`, and only when true (false is
      // indistinguishable from absent, so it means "unknown"); Hubble still writes it.
      Mirror<&Flow::is_reply>("reply", TW_PB(reply)),
      Inline<EventTypeSchema>("event_type", TW_PB(event_type)),
      Message<ServiceSchema, &Flow::source_service>("source_service", TW_PB(source_service)),
      Message<ServiceSchema, &Flow::destination_service>("destination_service",
                                                         TW_PB(destination_service)),
      Value<&Flow::traffic_direction>("traffic_direction", TW_PB(traffic_direction)),
      Value<&Flow::policy_match_type>("policy_match_type", TW_PB(policy_match_type)),
      Value<&Flow::trace_observation_point>("trace_observation_point",
                                            TW_PB(trace_observation_point)),
      Value<&Flow::trace_reason>("trace_reason", TW_PB(trace_reason)),
      Value<&Flow::drop_reason_desc>("drop_reason_desc", TW_PB(drop_reason_desc)),
      Value<&Flow::is_reply>("is_reply", TW_PB(is_reply)),
      Inline<InterfaceSchema>("interface", TW_PB(interface)),
      Value<&Flow::proxy_port>("proxy_port", TW_PB(proxy_port)),
      Inline<TraceContextSchema>("trace_context", TW_PB(trace_context)),
      Value<&Flow::summary>("Summary", TW_PB(summary)),
      Message<PolicySchema, &Flow::egress_allowed_by>("egress_allowed_by",
                                                      TW_PB(egress_allowed_by)),
      Message<PolicySchema, &Flow::ingress_allowed_by>("ingress_allowed_by",
                                                       TW_PB(ingress_allowed_by)),
      Message<PolicySchema, &Flow::egress_denied_by>("egress_denied_by", TW_PB(egress_denied_by)),
      Message<PolicySchema, &Flow::ingress_denied_by>("ingress_denied_by",
                                                      TW_PB(ingress_denied_by)),
      Value<&Flow::policy_log>("policy_log", TW_PB(policy_log)));
  static void Finish(Flow&) {}
};

struct LostEventSchema : NoFinish {
  using Owner = LostEvent;
  using Pb = ::flow::LostEvent;
  static constexpr auto kFields =
      std::make_tuple(Value<&LostEvent::source>("source", TW_PB(source)),
                      Value<&LostEvent::num_events_lost>("num_events_lost", TW_PB(num_events_lost)),
                      Value<&LostEvent::cpu>("cpu", TW_PB(cpu)));
};

struct NodeStatusSchema : NoFinish {
  using Owner = NodeStatus;
  using Pb = ::relay::NodeStatusEvent;
  static constexpr auto kFields =
      std::make_tuple(Value<&NodeStatus::state>("state_change", TW_PB(state_change)),
                      Value<&NodeStatus::node_names>("node_names", TW_PB(node_names)),
                      Value<&NodeStatus::message>("message", TW_PB(message)));
};

// GetFlowsResponse: one event and where and when the relay saw it. (The capture decoder
// also takes a bare Flow per line, the legacy `-o json`; see json.cc.)
struct EventSchema : NoFinish {
  using Owner = Event;
  using Pb = ::observer::GetFlowsResponse;
  static constexpr auto kFields = std::make_tuple(
      Oneof(
          Alternative<FlowSchema, OptionalChoice<&Event::flow, &Event::lost, &Event::node_status>>(
              "flow", TW_PB(flow)),
          Alternative<NodeStatusSchema,
                      OptionalChoice<&Event::node_status, &Event::flow, &Event::lost>>(
              "node_status", TW_PB(node_status)),
          Alternative<LostEventSchema,
                      OptionalChoice<&Event::lost, &Event::flow, &Event::node_status>>(
              "lost_events", TW_PB(lost_events))),
      Value<&Event::node_name>("node_name", TW_PB(node_name)),
      Value<&Event::time>("time", TW_PB(time)));
};

#pragma GCC diagnostic pop

// ---- walking a table --------------------------------------------------------------------

template <typename Tuple, typename Fn>
void ForEach(const Tuple& t, Fn&& fn) {
  std::apply([&](const auto&... f) { (fn(f), ...); }, t);
}

// The lowerCamel name protobuf's JSON parser also accepts for a proto name
// ("source_xlated" -> "sourceXlated"; names without an underscore are their own).
std::string LowerCamel(absl::string_view name);

// The keys of one message, by length: a key is found with a few comparisons (the decoder
// meets ~20 keys per flow, so a linear walk over Flow's 34 fields would dominate it).
struct Key {
  std::string name;
  size_t field = 0;        // index in the schema's kFields
  size_t alternative = 0;  // index in a Oneof's alternatives
};
class KeyIndex {
 public:
  void Add(absl::string_view name, size_t field, size_t alternative);
  const Key* Find(absl::string_view key) const {
    if (key.empty() || key.size() >= by_length_.size()) return nullptr;
    // Names of one length mostly differ in their first or last letter: compare those
    // before calling memcmp.
    for (const Key& k : by_length_[key.size()]) {
      if (k.name.front() == key.front() && k.name.back() == key.back() && Same(k.name, key)) {
        return &k;
      }
    }
    return nullptr;
  }

 private:
  // Keys are short (at most 25 bytes): a loop the compiler keeps inline beats a memcmp call.
  static bool Same(absl::string_view a, absl::string_view b) {
    for (size_t i = 1; i + 1 < a.size(); ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }

  std::vector<std::vector<Key>> by_length_;
};

template <typename S>
KeyIndex BuildKeyIndex() {
  KeyIndex index;
  size_t i = 0;
  ForEach(S::kFields, [&](const auto& f) {
    using F = std::decay_t<decltype(f)>;
    if constexpr (F::kind == FieldKind::kOneof) {
      size_t a = 0;
      ForEach(f.alternatives, [&](const auto& alt) { index.Add(alt.name, i, a++); });
    } else {
      index.Add(f.name, i, 0);
    }
    ++i;
  });
  return index;
}

// Each schema's keys, built on first use and never changed afterwards.
template <typename S>
const KeyIndex& KeysOf() {
  static const KeyIndex* index = new KeyIndex(BuildKeyIndex<S>());
  return *index;
}

// Calls fn(std::get<i>(tuple)).
template <typename Tuple, typename Fn, size_t... I>
void VisitAt(const Tuple& t, size_t i, Fn&& fn, std::index_sequence<I...>) {
  (void)((i == I && (fn(std::get<I>(t)), true)) || ...);
}
template <typename Tuple, typename Fn>
void VisitAt(const Tuple& t, size_t i, Fn&& fn) {
  VisitAt(t, i, fn, std::make_index_sequence<std::tuple_size_v<Tuple>>());
}

// A decoded message's derived parts: a deprecated mirror read true fills its member when
// the member stayed absent, then the schema's Finish step.
template <typename S>
void Finish(typename S::Owner& o, bool mirror_true) {
  if (mirror_true) {
    ForEach(S::kFields, [&](const auto& f) {
      using F = std::decay_t<decltype(f)>;
      if constexpr (F::kind == FieldKind::kMirror) {
        if (!(o.*F::member)) o.*F::member = true;
      }
    });
  }
  S::Finish(o);
}

// The proto type a field's accessor returns (the JSON form and the conversion follow it).
template <typename S, typename F>
using PbTypeOf =
    std::decay_t<decltype(std::declval<const F&>().pb.get(std::declval<const typename S::Pb&>()))>;

inline absl::string_view Text(const std::string& s) { return s; }
inline absl::string_view Text(Symbol s) { return s.view(); }

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};

template <typename S>
bool AllDefault(const typename S::Owner& o);

template <typename T>
bool IsDefaultValue(const T& v) {
  if constexpr (std::is_same_v<T, absl::Time>) {
    return v == absl::UnixEpoch();
  } else if constexpr (std::is_same_v<T, Symbol> || std::is_same_v<T, std::string> ||
                       IsVector<T>::value) {
    return v.empty();
  } else if constexpr (IsOptional<T>::value) {
    return !v.has_value();
  } else {
    return v == T{};
  }
}

template <typename F>
using MemberType = typename MemberOf<std::decay_t<decltype(F::member)>>::Type;

// True when a field holds nothing Hubble would write (proto3: defaults are absent).
template <typename S, typename F>
bool FieldIsDefault(const F& f, const typename S::Owner& o) {
  if constexpr (F::kind == FieldKind::kValue || F::kind == FieldKind::kMirror) {
    return IsDefaultValue(o.*F::member);
  } else if constexpr (F::kind == FieldKind::kMessage) {
    using T = MemberType<F>;
    if constexpr (IsOptional<T>::value || IsVector<T>::value) {
      return IsDefaultValue(o.*F::member);
    } else {
      return AllDefault<typename F::Schema>(o.*F::member);
    }
  } else if constexpr (F::kind == FieldKind::kInline) {
    return AllDefault<typename F::Schema>(o);
  } else if constexpr (F::kind == FieldKind::kBit) {
    return ((o.*F::member) & F::bit) == 0;
  } else {
    static_assert(F::kind == FieldKind::kOneof);
    bool chosen = false;
    ForEach(f.alternatives, [&](const auto& alt) {
      chosen = chosen || std::decay_t<decltype(alt)>::Choice::Chosen(o);
    });
    return !chosen;
  }
}

template <typename S>
bool AllDefault(const typename S::Owner& o) {
  bool all = true;
  ForEach(S::kFields, [&](const auto& f) { all = all && FieldIsDefault<S>(f, o); });
  return all;
}

}  // namespace tw::flow::schema
