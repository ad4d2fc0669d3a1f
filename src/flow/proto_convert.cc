#include "flow/proto_convert.h"

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "flow/hubble_schema.h"
#include "google/protobuf/timestamp.pb.h"

// The mapping itself is the tables of hubble_schema.h; this file walks them.

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

// ---- protobuf -> flow, from the tables in hubble_schema.h ------------------------------

// Interning goes through a SymbolTable (locked per string) or a SymbolCache (lock-free for
// strings seen before: the live stream's case); the converters are templates over both.
template <typename S, typename Interner>
void FromProto(const typename S::Pb& pb, typename S::Owner* o, Interner& symbols);

// One value: P is the proto type, T the member's (narrower integers are cast: ValidateRanges
// refuses a message whose values do not fit, as the JSON decoder refuses such a line).
template <typename P, typename T, typename Interner>
void ValueFromProto(const P& v, T* out, Interner& symbols) {
  if constexpr (std::is_same_v<P, std::string>) {
    if constexpr (std::is_same_v<T, Symbol>) {
      *out = symbols.Intern(v);
    } else {
      *out = v;
    }
  } else if constexpr (std::is_same_v<P, google::protobuf::RepeatedPtrField<std::string>>) {
    out->clear();
    out->reserve(v.size());
    for (const std::string& s : v) {
      if constexpr (std::is_same_v<T, std::vector<Symbol>>) {
        out->push_back(symbols.Intern(s));
      } else {
        out->push_back(s);
      }
    }
  } else {
    *out = static_cast<T>(v);  // numbers, bools, enums
  }
}

template <typename S, typename F, typename Interner>
void FieldFromProto(const F& f, const typename S::Pb& pb, typename S::Owner* o, bool* mirror_true,
                    Interner& symbols) {
  using schema::FieldKind;
  if constexpr (F::kind == FieldKind::kValue) {
    using P = schema::PbTypeOf<S, F>;
    auto& m = o->*F::member;
    if constexpr (std::is_same_v<P, google::protobuf::Timestamp>) {
      if (f.pb.has(pb)) m = TimeFromProto(f.pb.get(pb));
    } else if constexpr (std::is_same_v<P, google::protobuf::BoolValue> ||
                         std::is_same_v<P, google::protobuf::Int32Value>) {
      if (f.pb.has(pb)) m = f.pb.get(pb).value();
    } else {
      ValueFromProto(f.pb.get(pb), &m, symbols);
    }
  } else if constexpr (F::kind == FieldKind::kMessage) {
    using T = schema::MemberType<F>;
    using Sub = typename F::Schema;
    auto& m = o->*F::member;
    if constexpr (schema::IsOptional<T>::value) {
      if (f.pb.has(pb)) FromProto<Sub>(f.pb.get(pb), &m.emplace(), symbols);
    } else if constexpr (schema::IsVector<T>::value) {
      const auto& in = f.pb.get(pb);
      m.reserve(in.size());
      for (const auto& e : in) FromProto<Sub>(e, &m.emplace_back(), symbols);
    } else {
      FromProto<Sub>(f.pb.get(pb), &m, symbols);  // unset: the default instance
    }
  } else if constexpr (F::kind == FieldKind::kInline) {
    FromProto<typename F::Schema>(f.pb.get(pb), o, symbols);
  } else if constexpr (F::kind == FieldKind::kBit) {
    if (f.pb.get(pb)) o->*F::member |= F::bit;
  } else if constexpr (F::kind == FieldKind::kMirror) {
    *mirror_true = f.pb.get(pb);
  } else {
    static_assert(F::kind == FieldKind::kOneof);
    schema::ForEach(f.alternatives, [&](const auto& alt) {
      using Alt = std::decay_t<decltype(alt)>;
      if constexpr (!std::is_void_v<typename Alt::Schema>) {
        if (alt.pb.has(pb)) {
          FromProto<typename Alt::Schema>(alt.pb.get(pb), &Alt::Choice::Choose(*o), symbols);
        }
      }
    });
  }
}

template <typename S, typename Interner>
void FromProto(const typename S::Pb& pb, typename S::Owner* o, Interner& symbols) {
  bool mirror_true = false;
  schema::ForEach(S::kFields,
                  [&](const auto& f) { FieldFromProto<S>(f, pb, o, &mirror_true, symbols); });
  schema::Finish<S>(*o, mirror_true);
}

// ---- flow -> protobuf -----------------------------------------------------------------

template <typename S>
void ToProto(const typename S::Owner& o, typename S::Pb* pb);

template <typename S, typename F>
void FieldToProto(const F& f, const typename S::Owner& o, typename S::Pb* pb) {
  using schema::FieldKind;
  if constexpr (F::kind == FieldKind::kValue) {
    using P = schema::PbTypeOf<S, F>;
    const auto& m = o.*F::member;
    if (schema::IsDefaultValue(m)) return;  // proto3: a default is an absent field
    if constexpr (std::is_same_v<P, google::protobuf::Timestamp>) {
      TimeToProto(m, f.pb.mut(pb));
    } else if constexpr (std::is_same_v<P, google::protobuf::BoolValue> ||
                         std::is_same_v<P, google::protobuf::Int32Value>) {
      f.pb.mut(pb)->set_value(*m);
    } else if constexpr (std::is_same_v<P, google::protobuf::RepeatedPtrField<std::string>>) {
      auto* out = f.pb.mut(pb);
      out->Reserve(static_cast<int>(m.size()));
      for (const auto& s : m) out->Add(std::string(schema::Text(s)));
    } else if constexpr (std::is_same_v<P, std::string>) {
      f.pb.set(pb, std::string(schema::Text(m)));
    } else {
      f.pb.set(pb, static_cast<P>(m));  // numbers, bools, enums
    }
  } else if constexpr (F::kind == FieldKind::kMessage) {
    using T = schema::MemberType<F>;
    using Sub = typename F::Schema;
    const auto& m = o.*F::member;
    if constexpr (schema::IsOptional<T>::value) {
      if (m) ToProto<Sub>(*m, f.pb.mut(pb));  // presence kept, even when empty
    } else if constexpr (schema::IsVector<T>::value) {
      for (const auto& e : m) ToProto<Sub>(e, f.pb.mut(pb)->Add());
    } else {
      if (!schema::AllDefault<Sub>(m)) ToProto<Sub>(m, f.pb.mut(pb));
    }
  } else if constexpr (F::kind == FieldKind::kInline) {
    if (!schema::AllDefault<typename F::Schema>(o)) {
      ToProto<typename F::Schema>(o, f.pb.mut(pb));
    }
  } else if constexpr (F::kind == FieldKind::kBit) {
    if ((o.*F::member) & F::bit) f.pb.set(pb, true);
  } else if constexpr (F::kind == FieldKind::kMirror) {
    if ((o.*F::member).value_or(false)) f.pb.set(pb, true);
  } else {
    static_assert(F::kind == FieldKind::kOneof);
    schema::ForEach(f.alternatives, [&](const auto& alt) {
      using Alt = std::decay_t<decltype(alt)>;
      if constexpr (!std::is_void_v<typename Alt::Schema>) {
        if (Alt::Choice::Chosen(o)) {
          ToProto<typename Alt::Schema>(Alt::Choice::Get(o), alt.pb.mut(pb));
        }
      }
    });
  }
}

template <typename S>
void ToProto(const typename S::Owner& o, typename S::Pb* pb) {
  schema::ForEach(S::kFields, [&](const auto& f) { FieldToProto<S>(f, o, pb); });
}

}  // namespace

Flow FlowFromProto(const ::flow::Flow& pb, SymbolTable& symbols) {
  Flow f;
  FromProto<schema::FlowSchema>(pb, &f, symbols);
  return f;
}
Flow FlowFromProto(const ::flow::Flow& pb, SymbolCache& symbols) {
  Flow f;
  FromProto<schema::FlowSchema>(pb, &f, symbols);
  return f;
}
void FlowToProto(const Flow& f, ::flow::Flow* pb) {
  pb->Clear();
  ToProto<schema::FlowSchema>(f, pb);
}

Event EventFromProto(const ::observer::GetFlowsResponse& pb, SymbolTable& symbols) {
  Event ev;
  FromProto<schema::EventSchema>(pb, &ev, symbols);
  return ev;
}
Event EventFromProto(const ::observer::GetFlowsResponse& pb, SymbolCache& symbols) {
  Event ev;
  FromProto<schema::EventSchema>(pb, &ev, symbols);
  return ev;
}
void EventToProto(const Event& ev, ::observer::GetFlowsResponse* pb) {
  pb->Clear();
  ToProto<schema::EventSchema>(ev, pb);
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

// ICMP type and code, and the type VRRP and IGMP keep in the same 8-bit member (the tables
// of hubble_schema.h say which fields each keeps; the JSON decoder refuses the same values).
template <typename M>
absl::Status CheckType(absl::string_view proto, const M& m) {
  constexpr uint32_t kMax = std::numeric_limits<uint8_t>::max();
  if (m.type() > kMax) return OutOfRange(absl::StrCat(proto, ".type"), m.type(), kMax);
  return absl::OkStatus();
}

template <typename M>
absl::Status CheckTypeCode(absl::string_view proto, const M& m) {
  TW_RETURN_IF_ERROR(CheckType(proto, m));
  constexpr uint32_t kMax = std::numeric_limits<uint8_t>::max();
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
    case ::flow::Layer4::kVRRP:
      return CheckType("VRRP", l4.vrrp());
    case ::flow::Layer4::kIGMP:
      return CheckType("IGMP", l4.igmp());
    default:
      return absl::OkStatus();
  }
}

}  // namespace tw::flow
