#include "flow/json.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/time_format.h"
#include "flow/flow.pb.h"
#include "relay/relay.pb.h"
#include "simdjson.h"

// Decoding rules, chosen so that JsonDecoder and protobuf 3.21's JsonStringToMessage (with
// ignore_unknown_fields=true) followed by EventFromProto agree on every line Hubble or
// protobuf could write (tests/flow/json_differential_test.cc checks it):
//   - keys: the proto name or the lowerCamel json name, case-sensitive;
//   - null for any field means "absent" (also inside lists, where the element is skipped);
//   - integers: JSON numbers (integral floats such as 7.0 or 1e1 too) or decimal strings
//     with an optional sign; out-of-range values are errors;
//   - bools: true/false, or the strings protobuf accepts ("true", "t", "yes", "1", ...);
//   - enums: the value name, or a number (kept even if unknown: proto3 enums are open), or a
//     numeric string naming a declared value; an unknown name leaves the field at its
//     default, as protobuf does with ignore_unknown_fields;
//   - a repeated field also takes a single element instead of a list;
//   - duplicate keys: scalars last-wins, objects merge, lists concatenate (protobuf merges
//     the sub-messages); setting two members of a oneof (flow + lost_events, TCP + UDP,
//     dns + http) is an error as in protobuf;
//   - fields of the proto that flow::Flow does not keep (ethernet, emitter, tunnel,
//     LostEvent first/last, ...) and unknown fields are skipped unvalidated.
// Known, deliberate differences from protobuf: a Timestamp must be an RFC 3339 string (not
// the {"seconds":..} object form), nested lists in repeated fields are errors (protobuf
// flattens them), trailing commas are errors (protobuf tolerates them), and a line with no
// flow, lost_events, node_status or Flow field at all is an error instead of an empty event.

namespace tw::flow {

namespace od = simdjson::ondemand;

namespace {

// The field being decoded, as a chain of stack frames; turned into text only on error.
struct Path {
  const Path* parent;
  absl::string_view name;
  int64_t index;  // >= 0: list element of the parent
};

std::string PathString(const Path* p) {
  std::vector<const Path*> chain;
  for (; p != nullptr; p = p->parent) {
    if (!p->name.empty() || p->index >= 0) chain.push_back(p);
  }
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if ((*it)->index >= 0) {
      absl::StrAppend(&out, "[", (*it)->index, "]");
    } else {
      if (!out.empty()) out += '.';
      out.append((*it)->name.data(), (*it)->name.size());
    }
  }
  return out;
}

const char* TypeName(od::json_type t) {
  switch (t) {
    case od::json_type::array:
      return "array";
    case od::json_type::object:
      return "object";
    case od::json_type::number:
      return "number";
    case od::json_type::string:
      return "string";
    case od::json_type::boolean:
      return "boolean";
    case od::json_type::null:
      return "null";
  }
  return "value";
}

// Enum names -> numbers, built from the generated descriptors so they follow the protos.
struct EnumTable {
  std::string type_name;
  absl::flat_hash_map<std::string, int32_t> by_name;
  absl::flat_hash_set<int32_t> numbers;

  explicit EnumTable(const google::protobuf::EnumDescriptor* d) : type_name(d->name()) {
    for (int i = 0; i < d->value_count(); ++i) {
      by_name.emplace(d->value(i)->name(), d->value(i)->number());
      numbers.insert(d->value(i)->number());
    }
  }
};

// Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Reads exactly n digits at s[i..]; false if any is not a digit.
bool Digits(absl::string_view s, size_t i, size_t n, int* out) {
  if (i + n > s.size()) return false;
  int v = 0;
  for (size_t k = i; k < i + n; ++k) {
    char c = s[k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// RFC 3339 as protobuf's Timestamp JSON parser accepts it: "YYYY-MM-DDTHH:MM:SS", optional
// fraction of 1+ digits (only the first 9 count), then "Z" or "+HH:MM"/"-HH:MM"; year
// 0001-9999, real calendar dates. Hand-written because absl::ParseTime costs more than
// the rest of a flow's decoding.
bool ParseRfc3339(absl::string_view s, absl::Time* out) {
  int year, month, day, hour, min, sec;
  if (!Digits(s, 0, 4, &year) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, &month) ||
      s[7] != '-' || !Digits(s, 8, 2, &day) || s[10] != 'T' || !Digits(s, 11, 2, &hour) ||
      s[13] != ':' || !Digits(s, 14, 2, &min) || s[16] != ':' || !Digits(s, 17, 2, &sec)) {
    return false;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || min > 59 || sec > 59) {
    return false;
  }
  int mdays = kDays[month - 1] + (month == 2 && IsLeap(year) ? 1 : 0);
  if (day > mdays) return false;
  size_t i = 19;
  int64_t nanos = 0;
  if (s[i] == '.') {
    ++i;
    size_t start = i;
    int64_t scale = 100000000;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (scale > 0) {
        nanos += (s[i] - '0') * scale;
        scale /= 10;
      }
      ++i;
    }
    if (i == start) return false;
  }
  if (i >= s.size()) return false;
  int64_t offset = 0;
  if (s[i] == 'Z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    int oh, om;
    if (!Digits(s, i + 1, 2, &oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !Digits(s, i + 4, 2, &om) || oh > 23 || om > 59) {
      return false;
    }
    offset = (oh * 60 + om) * 60;
    if (s[i] == '-') offset = -offset;
    i += 6;
  } else {
    return false;
  }
  if (i != s.size()) return false;
  int64_t secs = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - offset;
  *out = absl::FromUnixSeconds(secs) + absl::Nanoseconds(nanos);
  return true;
}

// Decimal integer string as protobuf accepts it: optional sign, then digits only.
bool ParseIntString(absl::string_view s, bool* neg, uint64_t* mag) {
  size_t i = 0;
  *neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    *neg = s[0] == '-';
    i = 1;
  }
  if (i == s.size()) return false;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  *mag = v;
  return true;
}

enum class IntKind { kU32, kI32, kU64 };

bool InRange(IntKind kind, bool neg, uint64_t mag) {
  switch (kind) {
    case IntKind::kU32:
      return (!neg || mag == 0) && mag <= 0xffffffffull;
    case IntKind::kI32:
      return neg ? mag <= 0x80000000ull : mag <= 0x7fffffffull;
    case IntKind::kU64:
      return !neg || mag == 0;
  }
  return false;
}

const char* IntKindName(IntKind kind) {
  switch (kind) {
    case IntKind::kU32:
      return "an unsigned 32-bit integer";
    case IntKind::kI32:
      return "a 32-bit integer";
    case IntKind::kU64:
      return "an unsigned 64-bit integer (number or string)";
  }
  return "an integer";
}

// Field-name matching: the proto name, or also its lowerCamel json name.
// Templates on the literal so the length is a constant and the compare is inlined.
template <size_t N>
inline bool Is(absl::string_view key, const char (&lit)[N]) {
  return key.size() == N - 1 && std::memcmp(key.data(), lit, N - 1) == 0;
}
template <size_t N, size_t M>
inline bool Is(absl::string_view key, const char (&proto)[N], const char (&json)[M]) {
  return Is(key, proto) || Is(key, json);
}

#define TW_TRY(expr)           \
  do {                         \
    if (!(expr)) return false; \
  } while (0)

}  // namespace

struct JsonDecoder::Impl {
  explicit Impl(SymbolTable& s)
      : symbols(s),
        verdict(::flow::Verdict_descriptor()),
        flow_type(::flow::FlowType_descriptor()),
        auth_type(::flow::AuthType_descriptor()),
        direction(::flow::TrafficDirection_descriptor()),
        obs_point(::flow::TraceObservationPoint_descriptor()),
        trace_reason(::flow::TraceReason_descriptor()),
        ip_version(::flow::IPVersion_descriptor()),
        l7_type(::flow::L7FlowType_descriptor()),
        lost_source(::flow::LostEventSource_descriptor()),
        drop_reason(::flow::DropReason_descriptor()),
        node_state(::relay::NodeState_descriptor()) {}

  SymbolTable& symbols;
  od::parser parser;
  std::string buffer;  // the line plus simdjson's padding, reused across lines
  // Lock-free front of the SymbolTable: keys view the table's own (stable) strings.
  absl::flat_hash_map<absl::string_view, Symbol> interned;
  std::string error;
  UnknownEnumCounts unknown_enums;
  std::vector<std::string> new_unknown_enums;  // of the last Decode()

  const EnumTable verdict, flow_type, auth_type, direction, obs_point, trace_reason, ip_version,
      l7_type, lost_source, drop_reason, node_state;

  absl::StatusOr<Event> Decode(absl::string_view line);

  Symbol Intern(absl::string_view s) {
    if (s.empty()) return Symbol();
    auto it = interned.find(s);
    if (it != interned.end()) return it->second;
    if (interned.size() >= (1u << 18)) interned.clear();  // bound the front cache only
    Symbol sym = symbols.Intern(s);
    interned.emplace(sym.view(), sym);
    return sym;
  }

  // ---- errors -------------------------------------------------------------------------

  bool Fail(const Path& p, absl::string_view what) {
    std::string where = PathString(&p);
    error = where.empty() ? std::string(what) : absl::StrCat("field ", where, ": ", what);
    return false;
  }
  bool Expected(const Path& p, absl::string_view what, od::json_type got) {
    return Fail(p, absl::StrCat("expected ", what, ", got ", TypeName(got)));
  }
  bool JsonError(simdjson::error_code ec, const Path& p) {
    std::string where = PathString(&p);
    error = absl::StrCat("malformed JSON", where.empty() ? "" : " in field ", where, ": ",
                         simdjson::error_message(ec));
    return false;
  }

  // ---- scalars ------------------------------------------------------------------------

  bool Type(od::value& v, const Path& p, od::json_type* t) {
    if (auto ec = v.type().get(*t)) return JsonError(ec, p);
    return true;
  }

  bool Key(od::field& f, const Path& p, absl::string_view* key) {
    // Keys without escapes are read in place; only escaped ones are unescaped.
    const char* s = f.key().raw();
    const char* q = s;
    while (*q != '"' && *q != '\\') ++q;
    if (*q == '"') {
      *key = absl::string_view(s, static_cast<size_t>(q - s));
      return true;
    }
    std::string_view unescaped;
    if (auto ec = f.unescaped_key().get(unescaped)) return JsonError(ec, p);
    *key = absl::string_view(unescaped.data(), unescaped.size());
    return true;
  }

  bool String(od::value& v, od::json_type t, const Path& p, absl::string_view* out) {
    if (t != od::json_type::string) return Expected(p, "string", t);
    std::string_view s;
    if (auto ec = v.get_string().get(s)) return JsonError(ec, p);
    *out = absl::string_view(s.data(), s.size());
    return true;
  }
  bool StringTo(od::value& v, od::json_type t, const Path& p, std::string* out) {
    absl::string_view s;
    TW_TRY(String(v, t, p, &s));
    out->assign(s.data(), s.size());
    return true;
  }
  bool SymbolTo(od::value& v, od::json_type t, const Path& p, Symbol* out) {
    absl::string_view s;
    TW_TRY(String(v, t, p, &s));
    *out = Intern(s);
    return true;
  }

  bool Bool(od::value& v, od::json_type t, const Path& p, bool* out) {
    if (t == od::json_type::boolean) {
      if (auto ec = v.get_bool().get(*out)) return JsonError(ec, p);
      return true;
    }
    if (t == od::json_type::string) {
      absl::string_view s;
      TW_TRY(String(v, t, p, &s));
      if (absl::SimpleAtob(s, out)) return true;
      return Fail(p, absl::StrCat("expected true or false, got \"", s, "\""));
    }
    return Expected(p, "true or false", t);
  }

  // A JSON integer as sign + magnitude: a number (an integral float too) or a decimal string.
  bool Integer(od::value& v, od::json_type t, const Path& p, IntKind kind, bool* neg,
               uint64_t* mag) {
    if (t == od::json_type::number) {
      od::number_type nt;
      if (auto ec = v.get_number_type().get(nt)) return JsonError(ec, p);
      switch (nt) {
        case od::number_type::unsigned_integer: {
          if (auto ec = v.get_uint64().get(*mag)) return JsonError(ec, p);
          *neg = false;
          break;
        }
        case od::number_type::signed_integer: {
          int64_t i;
          if (auto ec = v.get_int64().get(i)) return JsonError(ec, p);
          *neg = i < 0;
          *mag = *neg ? static_cast<uint64_t>(-(i + 1)) + 1 : static_cast<uint64_t>(i);
          break;
        }
        case od::number_type::floating_point_number: {
          double d;
          if (auto ec = v.get_double().get(d)) return JsonError(ec, p);
          if (!std::isfinite(d) || d != std::trunc(d) || std::fabs(d) >= 18446744073709551616.0) {
            return Fail(p, absl::StrCat("expected ", IntKindName(kind), ", got ", d));
          }
          *neg = d < 0;
          *mag = static_cast<uint64_t>(std::fabs(d));
          break;
        }
      }
    } else if (t == od::json_type::string) {
      absl::string_view s;
      TW_TRY(String(v, t, p, &s));
      if (!ParseIntString(s, neg, mag) || (*neg && kind != IntKind::kI32)) {
        return Fail(p, absl::StrCat("expected ", IntKindName(kind), ", got \"", s, "\""));
      }
    } else {
      return Expected(p, IntKindName(kind), t);
    }
    if (!InRange(kind, *neg, *mag)) {
      return Fail(p, absl::StrCat("expected ", IntKindName(kind), ", got ", *neg ? "-" : "", *mag,
                                  " (out of range)"));
    }
    return true;
  }
  bool U32(od::value& v, od::json_type t, const Path& p, uint32_t* out) {
    bool neg;
    uint64_t mag;
    TW_TRY(Integer(v, t, p, IntKind::kU32, &neg, &mag));
    *out = static_cast<uint32_t>(mag);
    return true;
  }
  bool I32(od::value& v, od::json_type t, const Path& p, int32_t* out) {
    bool neg;
    uint64_t mag;
    TW_TRY(Integer(v, t, p, IntKind::kI32, &neg, &mag));
    *out = neg ? static_cast<int32_t>(-static_cast<int64_t>(mag)) : static_cast<int32_t>(mag);
    return true;
  }
  bool U64(od::value& v, od::json_type t, const Path& p, uint64_t* out) {
    bool neg;
    uint64_t mag;
    TW_TRY(Integer(v, t, p, IntKind::kU64, &neg, &mag));
    *out = mag;
    return true;
  }
  // Narrow targets (ports, ICMP type and code): the proto says uint32, but a value the
  // field cannot hold is a malformed line, never taken modulo (65616 is not port 80).
  template <typename T>
  bool U32As(od::value& v, od::json_type t, const Path& p, T* out) {
    uint32_t u;
    TW_TRY(U32(v, t, p, &u));
    constexpr uint32_t kMax = std::numeric_limits<T>::max();
    if (u > kMax) {
      return Fail(p, absl::StrCat("expected 0-", kMax, ", got ", u, " (out of range)"));
    }
    *out = static_cast<T>(u);
    return true;
  }

  // Counts a value the enum does not declare, per field (list indices dropped), and keeps
  // a message for the first one of each field so the caller can warn once.
  void UnknownEnum(const Path& p, const EnumTable& table, absl::string_view shown) {
    std::string field;
    std::vector<absl::string_view> names;
    for (const Path* q = &p; q != nullptr; q = q->parent) {
      if (!q->name.empty()) names.push_back(q->name);
    }
    for (auto it = names.rbegin(); it != names.rend(); ++it) {
      absl::StrAppend(&field, field.empty() ? "" : ".", *it);
    }
    ++unknown_enums.total;
    uint64_t& n = unknown_enums.by_field[field];
    if (n++ == 0) {
      new_unknown_enums.push_back(
          absl::StrCat("field ", field, ": unknown ", table.type_name, " value ", shown));
    }
  }

  // Enum by name or number; *set stays false for an unknown name (protobuf ignores it).
  bool Enum(od::value& v, od::json_type t, const Path& p, const EnumTable& table, int32_t* out,
            bool* set) {
    *set = false;
    if (t == od::json_type::string) {
      absl::string_view s;
      TW_TRY(String(v, t, p, &s));
      auto it = table.by_name.find(s);
      if (it != table.by_name.end()) {
        *out = it->second;
        *set = true;
        return true;
      }
      bool neg;
      uint64_t mag;
      if (ParseIntString(s, &neg, &mag) && InRange(IntKind::kI32, neg, mag)) {
        int32_t n =
            neg ? static_cast<int32_t>(-static_cast<int64_t>(mag)) : static_cast<int32_t>(mag);
        if (table.numbers.contains(n)) {
          *out = n;
          *set = true;
          return true;
        }
      }
      std::string shown;
      AppendJsonString(s, &shown);
      UnknownEnum(p, table, absl::StrCat(shown, " (left at the default)"));
      return true;
    }
    if (t == od::json_type::number) {
      TW_TRY(I32(v, t, p, out));
      *set = true;
      if (!table.numbers.contains(*out)) UnknownEnum(p, table, absl::StrCat(*out, " (kept)"));
      return true;
    }
    return Expected(p, absl::StrCat("a ", table.type_name, " name or number"), t);
  }
  template <typename T>
  bool EnumAs(od::value& v, od::json_type t, const Path& p, const EnumTable& table, T* out) {
    int32_t n;
    bool set;
    TW_TRY(Enum(v, t, p, table, &n, &set));
    if (set) *out = static_cast<T>(n);
    return true;
  }

  bool Time(od::value& v, od::json_type t, const Path& p, absl::Time* out) {
    absl::string_view s;
    if (t != od::json_type::string) return Expected(p, "an RFC 3339 timestamp string", t);
    TW_TRY(String(v, t, p, &s));
    if (!ParseRfc3339(s, out)) {
      return Fail(p, absl::StrCat("expected an RFC 3339 timestamp like "
                                  "2026-11-28T10:00:00.123456789Z, got \"",
                                  s, "\""));
    }
    return true;
  }

  // ---- containers ---------------------------------------------------------------------

  bool Object(od::value& v, od::json_type t, const Path& p, od::object* obj) {
    if (t != od::json_type::object) return Expected(p, "object", t);
    if (auto ec = v.get_object().get(*obj)) return JsonError(ec, p);
    return true;
  }

  // Calls fn(value, type, path) for each non-null element of a list, or once for a single
  // non-list value (protobuf accepts a lone element for a repeated field).
  template <typename Fn>
  bool Each(od::value& v, od::json_type t, const Path& p, Fn&& fn) {
    if (t != od::json_type::array) return fn(v, t, p);
    od::array arr;
    if (auto ec = v.get_array().get(arr)) return JsonError(ec, p);
    int64_t i = 0;
    for (auto el : arr) {
      Path ep{&p, {}, i++};
      od::value ev;
      if (auto ec = el.get(ev)) return JsonError(ec, ep);
      od::json_type et{};
      TW_TRY(Type(ev, ep, &et));
      if (et == od::json_type::null) continue;
      TW_TRY(fn(ev, et, ep));
    }
    return true;
  }

  bool Strings(od::value& v, od::json_type t, const Path& p, std::vector<std::string>* out) {
    return Each(v, t, p, [&](od::value& ev, od::json_type et, const Path& ep) {
      absl::string_view s;
      TW_TRY(String(ev, et, ep, &s));
      out->emplace_back(s);
      return true;
    });
  }
  bool Symbols(od::value& v, od::json_type t, const Path& p, std::vector<Symbol>* out) {
    return Each(v, t, p, [&](od::value& ev, od::json_type et, const Path& ep) {
      absl::string_view s;
      TW_TRY(String(ev, et, ep, &s));
      if (out->empty()) out->reserve(8);
      out->push_back(Intern(s));
      return true;
    });
  }

  // Iterates an object's fields: fn(key, value, type, path) for each non-null field.
  template <typename Fn>
  bool Fields(od::value& v, od::json_type t, const Path& p, Fn&& fn) {
    od::object obj;
    TW_TRY(Object(v, t, p, &obj));
    return FieldsOf(obj, p, fn);
  }
  template <typename Fn>
  bool FieldsOf(od::object& obj, const Path& p, Fn&& fn) {
    for (auto fr : obj) {
      od::field f;
      if (auto ec = std::move(fr).get(f)) return JsonError(ec, p);
      absl::string_view key;
      TW_TRY(Key(f, p, &key));
      Path fp{&p, key, -1};
      od::value fv = f.value();
      TW_TRY(fn(key, fv, fp));
    }
    return true;
  }

  // ---- messages -----------------------------------------------------------------------

  bool DecodeEndpoint(od::value& v, od::json_type t, const Path& p, Endpoint* ep) {
    return Fields(v, t, p, [&](absl::string_view k, od::value& fv, const Path& fp) {
      if (!IsEndpointKey(k)) return true;
      od::json_type ft{};
      TW_TRY(Type(fv, fp, &ft));
      if (ft == od::json_type::null) return true;
      if (Is(k, "ID")) return U32(fv, ft, fp, &ep->id);
      if (Is(k, "identity")) return U32(fv, ft, fp, &ep->identity);
      if (Is(k, "cluster_name", "clusterName")) return SymbolTo(fv, ft, fp, &ep->cluster_name);
      if (Is(k, "namespace")) return SymbolTo(fv, ft, fp, &ep->namespace_);
      if (Is(k, "labels")) return Symbols(fv, ft, fp, &ep->labels);
      if (Is(k, "pod_name", "podName")) return SymbolTo(fv, ft, fp, &ep->pod_name);
      // workloads
      return Each(fv, ft, fp, [&](od::value& ev, od::json_type et, const Path& ep2) {
        Workload w;
        TW_TRY(Fields(ev, et, ep2, [&](absl::string_view wk, od::value& wv, const Path& wp) {
          if (!Is(wk, "name") && !Is(wk, "kind")) return true;
          od::json_type wt{};
          TW_TRY(Type(wv, wp, &wt));
          if (wt == od::json_type::null) return true;
          return SymbolTo(wv, wt, wp, Is(wk, "name") ? &w.name : &w.kind);
        }));
        ep->workloads.push_back(w);
        return true;
      });
    });
  }
  static bool IsEndpointKey(absl::string_view k) {
    return Is(k, "ID") || Is(k, "identity") || Is(k, "cluster_name", "clusterName") ||
           Is(k, "namespace") || Is(k, "labels") || Is(k, "pod_name", "podName") ||
           Is(k, "workloads");
  }

  bool DecodeIp(od::value& v, od::json_type t, const Path& p, Flow* f) {
    return Fields(v, t, p, [&](absl::string_view k, od::value& fv, const Path& fp) {
      int which = Is(k, "source")                          ? 1
                  : Is(k, "destination")                   ? 2
                  : Is(k, "source_xlated", "sourceXlated") ? 3
                  : Is(k, "ipVersion")                     ? 4
                  : Is(k, "encrypted")                     ? 5
                                                           : 0;
      if (which == 0) return true;
      od::json_type ft{};
      TW_TRY(Type(fv, fp, &ft));
      if (ft == od::json_type::null) return true;
      switch (which) {
        case 1:
          return StringTo(fv, ft, fp, &f->source_ip);
        case 2:
          return StringTo(fv, ft, fp, &f->destination_ip);
        case 3:
          return StringTo(fv, ft, fp, &f->source_ip_xlated);
        case 4:
          return EnumAs(fv, ft, fp, ip_version, &f->ip_version);
        default:
          return Bool(fv, ft, fp, &f->encrypted);
      }
    });
  }

  bool DecodeTcpFlags(od::value& v, od::json_type t, const Path& p, uint16_t* bits) {
    static constexpr struct {
      absl::string_view name;
      uint16_t bit;
    } kFlags[] = {{"FIN", kFIN}, {"SYN", kSYN}, {"RST", kRST}, {"PSH", kPSH}, {"ACK", kACK},
                  {"URG", kURG}, {"ECE", kECE}, {"CWR", kCWR}, {"NS", kNS}};
    return Fields(v, t, p, [&](absl::string_view k, od::value& fv, const Path& fp) {
      for (const auto& flag : kFlags) {
        if (k != flag.name) continue;
        od::json_type ft{};
        TW_TRY(Type(fv, fp, &ft));
        if (ft == od::json_type::null) return true;
        bool b;
        TW_TRY(Bool(fv, ft, fp, &b));
        *bits = b ? (*bits | flag.bit) : (*bits & ~flag.bit);
        return true;
      }
      return true;
    });
  }

  bool DecodeL4(od::value& v, od::json_type t, const Path& p, L4* l4) {
    bool chosen = false;  // oneof `protocol`, per object as protobuf checks it
    return Fields(v, t, p, [&](absl::string_view k, od::value& fv, const Path& fp) {
      Protocol proto;
      if (k == "TCP")
        proto = Protocol::kTCP;
      else if (k == "UDP")
        proto = Protocol::kUDP;
      else if (k == "ICMPv4")
        proto = Protocol::kICMPv4;
      else if (k == "ICMPv6")
        proto = Protocol::kICMPv6;
      else if (k == "SCTP")
        proto = Protocol::kSCTP;
      else if (k == "VRRP")
        proto = Protocol::kVRRP;
      else if (k == "IGMP")
        proto = Protocol::kIGMP;
      else
        return true;
      od::json_type ft{};
      TW_TRY(Type(fv, fp, &ft));
      if (ft == od::json_type::null) return true;
      if (chosen) {
        return Fail(fp, "expected only one of TCP, UDP, ICMPv4, ICMPv6, SCTP, VRRP, IGMP");
      }
      chosen = true;
      if (l4->protocol != proto) *l4 = L4();  // a later `l4` switching protocol replaces it
      l4->protocol = proto;
      return Fields(fv, ft, fp, [&](absl::string_view pk, od::value& pv, const Path& pp) {
        od::json_type pt{};
        bool ports = proto == Protocol::kTCP || proto == Protocol::kUDP || proto == Protocol::kSCTP;
        bool icmp = proto == Protocol::kICMPv4 || proto == Protocol::kICMPv6;
        int which = 0;
        if (ports && Is(pk, "source_port", "sourcePort"))
          which = 1;
        else if (ports && Is(pk, "destination_port", "destinationPort"))
          which = 2;
        else if (proto == Protocol::kTCP && Is(pk, "flags"))
          which = 3;
        else if (Is(pk, "type"))
          which = 4;
        else if (icmp && Is(pk, "code"))
          which = 5;
        else
          return true;
        TW_TRY(Type(pv, pp, &pt));
        if (pt == od::json_type::null) return true;
        switch (which) {
          case 1:
            return U32As(pv, pt, pp, &l4->source_port);
          case 2:
            return U32As(pv, pt, pp, &l4->destination_port);
          case 3:
            return DecodeTcpFlags(pv, pt, pp, &l4->tcp_flags);
          case 4:
            if (ports) return true;  // TCP/UDP/SCTP have no `type`
            return U32As(pv, pt, pp, &l4->icmp_type);
          default:
            return U32As(pv, pt, pp, &l4->icmp_code);
        }
      });
    });
  }

  bool DecodeDns(od::value& v, od::json_type t, const Path& p, Dns* d) {
    return Fields(v, t, p, [&](absl::string_view k, od::value& fv, const Path& fp) {
      int which = Is(k, "query")                                     ? 1
                  : Is(k, "ips")                                     ? 2
                  : Is(k, "ttl")                                     ? 3
                  : Is(k, "cnames")                                  ? 4
                  : Is(k, "observation_source", "observationSource") ? 5
                  : Is(k, "rcode")                                   ? 6
                  : Is(k, "qtypes")                                  ? 7
                  : Is(k, "rrtypes")                                 ? 8
                                                                     : 0;
      if (which == 0) return true;
      od::json_type ft{};
      TW_TRY(Type(fv, fp, &ft));
      if (ft == od::json_type::null) return true;
      switch (which) {
        case 1:
          return StringTo(fv, ft, fp, &d->query);
        case 2:
          return Strings(fv, ft, fp, &d->ips);
        case 3:
          return U32(fv, ft, fp, &d->ttl);
        case 4:
          return Strings(fv, ft, fp, &d->cnames);
        case 5:
          return StringTo(fv, ft, fp, &d->observation_source);
        case 6:
          return U32(fv, ft, fp, &d->rcode);
        case 7:
          return Strings(fv, ft, fp, &d->qtypes);
        default:
          return Strings(fv, ft, fp, &d->rrtypes);
      }
    });
  }

  bool DecodeHttp(od::value& v, od::json_type t, const Path& p, Http* h) {
    return Fields(v, t, p, [&](absl::string_view k, od::value& fv, const Path& fp) {
      int which = Is(k, "code")       ? 1
                  : Is(k, "method")   ? 2
                  : Is(k, "url")      ? 3
                  : Is(k, "protocol") ? 4
                  : Is(k, "headers")  ? 5
                                      : 0;
      if (which == 0) return true;
      od::json_type ft{};
      TW_TRY(Type(fv, fp, &ft));
      if (ft == od::json_type::null) return true;
      switch (which) {
        case 1:
          return U32(fv, ft, fp, &h->code);
        case 2:
          return StringTo(fv, ft, fp, &h->method);
        case 3:
          return StringTo(fv, ft, fp, &h->url);
        case 4:
          return StringTo(fv, ft, fp, &h->protocol);
        default:
          return Each(fv, ft, fp, [&](od::value& ev, od::json_type et, const Path& hp) {
            std::pair<std::string, std::string> kv;
            TW_TRY(Fields(ev, et, hp, [&](absl::string_view hk, od::value& hv, const Path& kp) {
              if (!Is(hk, "key") && !Is(hk, "value")) return true;
              od::json_type kt{};
              TW_TRY(Type(hv, kp, &kt));
              if (kt == od::json_type::null) return true;
              return StringTo(hv, kt, kp, Is(hk, "key") ? &kv.first : &kv.second);
            }));
            h->headers.push_back(std::move(kv));
            return true;
          });
      }
    });
  }

  bool DecodeL7(od::value& v, od::json_type t, const Path& p, L7* l7) {
    bool chosen = false;  // oneof `record`
    return Fields(v, t, p, [&](absl::string_view k, od::value& fv, const Path& fp) {
      int which = Is(k, "type")                      ? 1
                  : Is(k, "latency_ns", "latencyNs") ? 2
                  : Is(k, "dns")                     ? 3
                  : Is(k, "http")                    ? 4
                  : Is(k, "kafka")                   ? 5
                                                     : 0;
      if (which == 0) return true;
      od::json_type ft{};
      TW_TRY(Type(fv, fp, &ft));
      if (ft == od::json_type::null) return true;
      switch (which) {
        case 1:
          return EnumAs(fv, ft, fp, l7_type, &l7->type);
        case 2:
          return U64(fv, ft, fp, &l7->latency_ns);
        default:
          break;
      }
      if (chosen) return Fail(fp, "expected only one of dns, http, kafka");
      chosen = true;
      if (which == 3) {
        l7->http.reset();
        if (!l7->dns) l7->dns.emplace();
        return DecodeDns(fv, ft, fp, &*l7->dns);
      }
      if (which == 4) {
        l7->dns.reset();
        if (!l7->http) l7->http.emplace();
        return DecodeHttp(fv, ft, fp, &*l7->http);
      }
      // Kafka (deprecated) is not kept; it still takes the oneof.
      l7->dns.reset();
      l7->http.reset();
      od::object ignored;
      return Object(fv, ft, fp, &ignored);
    });
  }

  bool DecodeService(od::value& v, od::json_type t, const Path& p, Service* s) {
    return Fields(v, t, p, [&](absl::string_view k, od::value& fv, const Path& fp) {
      bool name = Is(k, "name");
      if (!name && !Is(k, "namespace")) return true;
      od::json_type ft{};
      TW_TRY(Type(fv, fp, &ft));
      if (ft == od::json_type::null) return true;
      return SymbolTo(fv, ft, fp, name ? &s->name : &s->namespace_);
    });
  }

  bool DecodePolicies(od::value& v, od::json_type t, const Path& p, std::vector<PolicyRef>* out) {
    return Each(v, t, p, [&](od::value& ev, od::json_type et, const Path& ep) {
      PolicyRef ref;
      TW_TRY(Fields(ev, et, ep, [&](absl::string_view k, od::value& fv, const Path& fp) {
        int which = Is(k, "name")        ? 1
                    : Is(k, "namespace") ? 2
                    : Is(k, "labels")    ? 3
                    : Is(k, "revision")  ? 4
                    : Is(k, "kind")      ? 5
                                         : 0;
        if (which == 0) return true;
        od::json_type ft{};
        TW_TRY(Type(fv, fp, &ft));
        if (ft == od::json_type::null) return true;
        switch (which) {
          case 1:
            return SymbolTo(fv, ft, fp, &ref.name);
          case 2:
            return SymbolTo(fv, ft, fp, &ref.namespace_);
          case 3:
            return Symbols(fv, ft, fp, &ref.labels);
          case 4:
            return U64(fv, ft, fp, &ref.revision);
          default:
            return SymbolTo(fv, ft, fp, &ref.kind);
        }
      }));
      out->push_back(std::move(ref));
      return true;
    });
  }

  bool DecodeEventType(od::value& v, od::json_type t, const Path& p, Flow* f) {
    return Fields(v, t, p, [&](absl::string_view k, od::value& fv, const Path& fp) {
      bool type = Is(k, "type");
      if (!type && !Is(k, "sub_type", "subType")) return true;
      od::json_type ft{};
      TW_TRY(Type(fv, fp, &ft));
      if (ft == od::json_type::null) return true;
      return I32(fv, ft, fp, type ? &f->event_type : &f->event_sub_type);
    });
  }

  bool DecodeInterface(od::value& v, od::json_type t, const Path& p, Flow* f) {
    return Fields(v, t, p, [&](absl::string_view k, od::value& fv, const Path& fp) {
      bool index = Is(k, "index");
      if (!index && !Is(k, "name")) return true;
      od::json_type ft{};
      TW_TRY(Type(fv, fp, &ft));
      if (ft == od::json_type::null) return true;
      if (index) return U32(fv, ft, fp, &f->interface_index);
      return SymbolTo(fv, ft, fp, &f->interface_name);
    });
  }

  // What a Flow key means; kNone for unknown keys and for proto fields flow::Flow does not
  // keep (ethernet, emitter, tunnel, file, ip_trace_id, aggregate, extensions, ...).
  enum class FlowKey {
    kNone,
    kTime,
    kUuid,
    kVerdict,
    kDropReason,
    kAuthType,
    kIp,
    kL4,
    kSource,
    kDestination,
    kType,
    kNodeName,
    kNodeLabels,
    kSourceNames,
    kDestinationNames,
    kL7,
    kReply,
    kEventType,
    kSourceService,
    kDestinationService,
    kTrafficDirection,
    kPolicyMatchType,
    kTraceObservationPoint,
    kTraceReason,
    kDropReasonDesc,
    kIsReply,
    kInterface,
    kProxyPort,
    kTraceContext,
    kSummary,
    kEgressAllowedBy,
    kIngressAllowedBy,
    kEgressDeniedBy,
    kIngressDeniedBy,
    kPolicyLog,
  };

  static FlowKey ClassifyFlowKey(absl::string_view k) {
    if (k.empty()) return FlowKey::kNone;
    switch (k[0]) {
      case 't':
        if (Is(k, "time")) return FlowKey::kTime;
        if (Is(k, "traffic_direction", "trafficDirection")) return FlowKey::kTrafficDirection;
        if (Is(k, "trace_observation_point", "traceObservationPoint")) {
          return FlowKey::kTraceObservationPoint;
        }
        if (Is(k, "trace_reason", "traceReason")) return FlowKey::kTraceReason;
        if (Is(k, "trace_context", "traceContext")) return FlowKey::kTraceContext;
        break;
      case 'u':
        if (Is(k, "uuid")) return FlowKey::kUuid;
        break;
      case 'v':
        if (Is(k, "verdict")) return FlowKey::kVerdict;
        break;
      case 'd':
        if (Is(k, "destination")) return FlowKey::kDestination;
        if (Is(k, "drop_reason_desc", "dropReasonDesc")) return FlowKey::kDropReasonDesc;
        if (Is(k, "drop_reason", "dropReason")) return FlowKey::kDropReason;
        if (Is(k, "destination_names", "destinationNames")) return FlowKey::kDestinationNames;
        if (Is(k, "destination_service", "destinationService")) {
          return FlowKey::kDestinationService;
        }
        break;
      case 'a':
        if (Is(k, "auth_type", "authType")) return FlowKey::kAuthType;
        break;
      case 'I':
        if (Is(k, "IP")) return FlowKey::kIp;
        break;
      case 'l':
        if (Is(k, "l4")) return FlowKey::kL4;
        if (Is(k, "l7")) return FlowKey::kL7;
        break;
      case 's':
        if (Is(k, "source")) return FlowKey::kSource;
        if (Is(k, "source_names", "sourceNames")) return FlowKey::kSourceNames;
        if (Is(k, "source_service", "sourceService")) return FlowKey::kSourceService;
        break;
      case 'T':
        if (Is(k, "Type")) return FlowKey::kType;
        break;
      case 'n':
        if (Is(k, "node_name", "nodeName")) return FlowKey::kNodeName;
        if (Is(k, "node_labels", "nodeLabels")) return FlowKey::kNodeLabels;
        break;
      case 'r':
        if (Is(k, "reply")) return FlowKey::kReply;
        break;
      case 'e':
        if (Is(k, "event_type", "eventType")) return FlowKey::kEventType;
        if (Is(k, "egress_allowed_by", "egressAllowedBy")) return FlowKey::kEgressAllowedBy;
        if (Is(k, "egress_denied_by", "egressDeniedBy")) return FlowKey::kEgressDeniedBy;
        break;
      case 'p':
        if (Is(k, "policy_match_type", "policyMatchType")) return FlowKey::kPolicyMatchType;
        if (Is(k, "proxy_port", "proxyPort")) return FlowKey::kProxyPort;
        if (Is(k, "policy_log", "policyLog")) return FlowKey::kPolicyLog;
        break;
      case 'i':
        if (Is(k, "is_reply", "isReply")) return FlowKey::kIsReply;
        if (Is(k, "interface")) return FlowKey::kInterface;
        if (Is(k, "ingress_allowed_by", "ingressAllowedBy")) return FlowKey::kIngressAllowedBy;
        if (Is(k, "ingress_denied_by", "ingressDeniedBy")) return FlowKey::kIngressDeniedBy;
        break;
      case 'S':
        if (Is(k, "Summary")) return FlowKey::kSummary;
        break;
      default:
        break;
    }
    return FlowKey::kNone;
  }

  // One Flow field. `reply` (deprecated) is collected separately: it only counts when
  // is_reply is absent, whatever the key order.
  bool DecodeFlowField(FlowKey key, od::value& v, const Path& p, Flow* f, bool* reply) {
    od::json_type t{};
    TW_TRY(Type(v, p, &t));
    if (t == od::json_type::null) return true;
    switch (key) {
      case FlowKey::kNone:
        return true;
      case FlowKey::kTime:
        return Time(v, t, p, &f->time);
      case FlowKey::kUuid:
        return StringTo(v, t, p, &f->uuid);
      case FlowKey::kVerdict:
        return EnumAs(v, t, p, verdict, &f->verdict);
      case FlowKey::kDropReason:
        return U32(v, t, p, &f->drop_reason);
      case FlowKey::kAuthType:
        return EnumAs(v, t, p, auth_type, &f->auth_type);
      case FlowKey::kIp:
        return DecodeIp(v, t, p, f);
      case FlowKey::kL4:
        return DecodeL4(v, t, p, &f->l4);
      case FlowKey::kSource:
        return DecodeEndpoint(v, t, p, &f->source);
      case FlowKey::kDestination:
        return DecodeEndpoint(v, t, p, &f->destination);
      case FlowKey::kType:
        return EnumAs(v, t, p, flow_type, &f->type);
      case FlowKey::kNodeName:
        return SymbolTo(v, t, p, &f->node_name);
      case FlowKey::kNodeLabels:
        return Symbols(v, t, p, &f->node_labels);
      case FlowKey::kSourceNames:
        return Symbols(v, t, p, &f->source_names);
      case FlowKey::kDestinationNames:
        return Symbols(v, t, p, &f->destination_names);
      case FlowKey::kL7:
        if (t != od::json_type::object) return Expected(p, "object", t);
        if (!f->l7) f->l7.emplace();
        return DecodeL7(v, t, p, &*f->l7);
      case FlowKey::kReply:
        return Bool(v, t, p, reply);
      case FlowKey::kEventType:
        return DecodeEventType(v, t, p, f);
      case FlowKey::kSourceService:
        return DecodeService(v, t, p, &f->source_service);
      case FlowKey::kDestinationService:
        return DecodeService(v, t, p, &f->destination_service);
      case FlowKey::kTrafficDirection:
        return EnumAs(v, t, p, direction, &f->traffic_direction);
      case FlowKey::kPolicyMatchType:
        return U32(v, t, p, &f->policy_match_type);
      case FlowKey::kTraceObservationPoint:
        return EnumAs(v, t, p, obs_point, &f->trace_observation_point);
      case FlowKey::kTraceReason:
        return EnumAs(v, t, p, trace_reason, &f->trace_reason);
      case FlowKey::kDropReasonDesc:
        return EnumAs(v, t, p, drop_reason, &f->drop_reason_desc);
      case FlowKey::kIsReply: {
        bool b;
        TW_TRY(Bool(v, t, p, &b));
        f->is_reply = b;
        return true;
      }
      case FlowKey::kInterface:
        return DecodeInterface(v, t, p, f);
      case FlowKey::kProxyPort:
        return U32(v, t, p, &f->proxy_port);
      case FlowKey::kTraceContext:
        return Fields(v, t, p, [&](absl::string_view k, od::value& pv, const Path& pp) {
          if (!Is(k, "parent")) return true;
          od::json_type pt{};
          TW_TRY(Type(pv, pp, &pt));
          if (pt == od::json_type::null) return true;
          return Fields(pv, pt, pp, [&](absl::string_view ik, od::value& iv, const Path& ip) {
            if (!Is(ik, "trace_id", "traceId")) return true;
            od::json_type it{};
            TW_TRY(Type(iv, ip, &it));
            if (it == od::json_type::null) return true;
            return StringTo(iv, it, ip, &f->trace_id);
          });
        });
      case FlowKey::kSummary:
        return StringTo(v, t, p, &f->summary);
      case FlowKey::kEgressAllowedBy:
        return DecodePolicies(v, t, p, &f->egress_allowed_by);
      case FlowKey::kIngressAllowedBy:
        return DecodePolicies(v, t, p, &f->ingress_allowed_by);
      case FlowKey::kEgressDeniedBy:
        return DecodePolicies(v, t, p, &f->egress_denied_by);
      case FlowKey::kIngressDeniedBy:
        return DecodePolicies(v, t, p, &f->ingress_denied_by);
      case FlowKey::kPolicyLog:
        return Strings(v, t, p, &f->policy_log);
    }
    return true;
  }

  // Derived parts of a decoded flow, as FlowFromProto computes them.
  static void FinishFlow(Flow* f, bool reply) {
    if (!f->is_reply && reply) f->is_reply = true;
    f->source.reserved = ComputeReserved(f->source);
    f->destination.reserved = ComputeReserved(f->destination);
  }

  bool DecodeFlow(od::value& v, od::json_type t, const Path& p, Flow* f) {
    bool reply = false;
    TW_TRY(Fields(v, t, p, [&](absl::string_view k, od::value& fv, const Path& fp) {
      FlowKey key = ClassifyFlowKey(k);
      if (key == FlowKey::kNone) return true;
      return DecodeFlowField(key, fv, fp, f, &reply);
    }));
    FinishFlow(f, reply);
    return true;
  }

  bool DecodeLost(od::value& v, od::json_type t, const Path& p, LostEvent* l) {
    return Fields(v, t, p, [&](absl::string_view k, od::value& fv, const Path& fp) {
      int which = Is(k, "source")                             ? 1
                  : Is(k, "num_events_lost", "numEventsLost") ? 2
                  : Is(k, "cpu")                              ? 3
                                                              : 0;
      if (which == 0) return true;
      od::json_type ft{};
      TW_TRY(Type(fv, fp, &ft));
      if (ft == od::json_type::null) return true;
      switch (which) {
        case 1:
          return EnumAs(fv, ft, fp, lost_source, &l->source);
        case 2:
          return U64(fv, ft, fp, &l->num_events_lost);
        default: {
          int32_t cpu;
          TW_TRY(I32(fv, ft, fp, &cpu));
          l->cpu = cpu;
          return true;
        }
      }
    });
  }

  bool DecodeNodeStatus(od::value& v, od::json_type t, const Path& p, NodeStatus* n) {
    return Fields(v, t, p, [&](absl::string_view k, od::value& fv, const Path& fp) {
      int which = Is(k, "state_change", "stateChange") ? 1
                  : Is(k, "node_names", "nodeNames")   ? 2
                  : Is(k, "message")                   ? 3
                                                       : 0;
      if (which == 0) return true;
      od::json_type ft{};
      TW_TRY(Type(fv, fp, &ft));
      if (ft == od::json_type::null) return true;
      switch (which) {
        case 1:
          return EnumAs(fv, ft, fp, node_state, &n->state);
        case 2:
          return Strings(fv, ft, fp, &n->node_names);
        default:
          return StringTo(fv, ft, fp, &n->message);
      }
    });
  }

  // The top-level object: a GetFlowsResponse, or a bare Flow (legacy `-o json`). The two
  // share `time` and `node_name`, so Flow fields are decoded on the side and used only if
  // no flow/lost_events/node_status key shows up.
  bool DecodeTop(od::object& obj, Event* ev) {
    const Path root{nullptr, {}, -1};
    std::optional<Flow> bare;  // only built when a Flow key shows up at the top level
    bool bare_reply = false;
    bool any_bare_key = false;
    bool have_time = false;
    bool have_node_name = false;
    TW_TRY(FieldsOf(obj, root, [&](absl::string_view k, od::value& fv, const Path& fp) {
      enum { kOther, kFlow, kLost, kNode, kNodeName, kTime } which;
      if (Is(k, "flow"))
        which = kFlow;
      else if (Is(k, "lost_events", "lostEvents"))
        which = kLost;
      else if (Is(k, "node_status", "nodeStatus"))
        which = kNode;
      else if (Is(k, "node_name", "nodeName"))
        which = kNodeName;
      else if (Is(k, "time"))
        which = kTime;
      else
        which = kOther;
      if (which == kOther) {
        FlowKey key = ClassifyFlowKey(k);
        if (key == FlowKey::kNone) return true;
        any_bare_key = true;
        if (!bare) bare.emplace();
        return DecodeFlowField(key, fv, fp, &*bare, &bare_reply);
      }
      od::json_type ft{};
      TW_TRY(Type(fv, fp, &ft));
      if (ft == od::json_type::null) return true;
      if (which == kNodeName) {
        have_node_name = true;
        return SymbolTo(fv, ft, fp, &ev->node_name);
      }
      if (which == kTime) {
        have_time = true;
        return Time(fv, ft, fp, &ev->time);
      }
      if (ev->flow || ev->lost || ev->node_status) {
        return Fail(fp, "expected only one of flow, lost_events, node_status");
      }
      if (which == kFlow) return DecodeFlow(fv, ft, fp, &ev->flow.emplace());
      if (which == kLost) return DecodeLost(fv, ft, fp, &ev->lost.emplace());
      return DecodeNodeStatus(fv, ft, fp, &ev->node_status.emplace());
    }));
    if (ev->flow || ev->lost || ev->node_status) return true;
    if (!any_bare_key && !have_time && !have_node_name) {
      error =
          "expected a Hubble event: an object with flow, lost_events or node_status "
          "(hubble observe -o jsonpb), or a Flow object";
      return false;
    }
    if (!bare) bare.emplace();
    bare->time = ev->time;
    bare->node_name = ev->node_name;
    FinishFlow(&*bare, bare_reply);
    ev->flow = std::move(bare);
    return true;
  }
};

absl::StatusOr<Event> JsonDecoder::Impl::Decode(absl::string_view line) {
  // simdjson reads up to SIMDJSON_PADDING bytes past the end; one copy into a reused buffer.
  const size_t need = line.size() + simdjson::SIMDJSON_PADDING;
  if (buffer.size() < need) buffer.resize(std::max(need, buffer.size() * 2));
  std::memcpy(buffer.data(), line.data(), line.size());
  std::memset(buffer.data() + line.size(), 0, simdjson::SIMDJSON_PADDING);

  const Path root{nullptr, {}, -1};
  od::document doc;
  if (auto ec = parser.iterate(buffer.data(), line.size(), buffer.size()).get(doc)) {
    if (ec == simdjson::EMPTY) return absl::InvalidArgumentError("empty line");
    JsonError(ec, root);
    return absl::InvalidArgumentError(error);
  }
  od::object obj;
  if (auto ec = doc.get_object().get(obj)) {
    od::json_type t{};
    if (ec == simdjson::INCORRECT_TYPE && doc.type().get(t) == simdjson::SUCCESS) {
      // type() only peeks at the first byte ("nonsense" looks like null): read the scalar
      // to tell a wrong kind of JSON from text that is no JSON at all.
      simdjson::error_code scalar = simdjson::SUCCESS;
      switch (t) {
        case od::json_type::null: {
          bool is_null = false;
          scalar = doc.is_null().get(is_null);
          if (!scalar && !is_null) scalar = simdjson::N_ATOM_ERROR;
          break;
        }
        case od::json_type::boolean:
          scalar = doc.get_bool().error();
          break;
        case od::json_type::number:
          scalar = doc.get_double().error();
          break;
        case od::json_type::string:
          scalar = doc.get_string().error();
          break;
        default:
          break;
      }
      if (scalar)
        ec = scalar;
      else {
        return absl::InvalidArgumentError(
            absl::StrCat("expected a JSON object per line, got ", TypeName(t)));
      }
    }
    JsonError(ec, root);
    return absl::InvalidArgumentError(error);
  }
  Event ev;
  if (!DecodeTop(obj, &ev)) return absl::InvalidArgumentError(error);
  // Anything after the object (a second object, garbage) makes the line malformed.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected text after the JSON object at byte ", rest - buffer.data() + 1));
  }
  return ev;
}

JsonDecoder::JsonDecoder(SymbolTable& symbols) : impl_(std::make_unique<Impl>(symbols)) {}
JsonDecoder::~JsonDecoder() = default;

absl::StatusOr<Event> JsonDecoder::Decode(absl::string_view line) {
  impl_->new_unknown_enums.clear();
  return impl_->Decode(line);
}

const UnknownEnumCounts& JsonDecoder::unknown_enums() const { return impl_->unknown_enums; }

const std::vector<std::string>& JsonDecoder::new_unknown_enums() const {
  return impl_->new_unknown_enums;
}

// ---- writing ----------------------------------------------------------------------------

namespace {

// JSON text for one event, in Hubble's jsonpb layout: proto field names in declaration
// order, defaults omitted, enums by name (numbers when unknown), 64-bit ints as strings.
class Writer {
 public:
  std::string out;

  void Open() {
    out += '{';
    first_.push_back(true);
  }
  void Close() {
    out += '}';
    first_.pop_back();
  }
  void Key(absl::string_view k) {
    if (!first_.back()) out += ',';
    first_.back() = false;
    out += '"';
    out.append(k.data(), k.size());
    out += "\":";
  }
  void OpenField(absl::string_view k) {
    Key(k);
    Open();
  }

  void Str(absl::string_view k, absl::string_view v) {
    if (v.empty()) return;
    Key(k);
    Quote(v);
  }
  void U(absl::string_view k, uint64_t v) {
    if (v == 0) return;
    Key(k);
    absl::StrAppend(&out, v);
  }
  void I(absl::string_view k, int64_t v) {
    if (v == 0) return;
    Key(k);
    absl::StrAppend(&out, v);
  }
  void U64(absl::string_view k, uint64_t v) {
    if (v == 0) return;
    Key(k);
    absl::StrAppend(&out, "\"", v, "\"");
  }
  void Bool(absl::string_view k, bool v) {
    if (!v) return;
    Key(k);
    out += "true";
  }
  // Enum value: its name, or the number when this build does not know it.
  void Enum(absl::string_view k, int32_t v, absl::string_view name) {
    if (v == 0) return;
    Key(k);
    if (name.empty()) {
      absl::StrAppend(&out, v);
    } else {
      Quote(name);
    }
  }
  void Time(absl::string_view k, absl::Time t) {
    if (t == absl::UnixEpoch()) return;
    Key(k);
    Quote(FormatRfc3339(t));
  }
  template <typename List>
  void Strs(absl::string_view k, const List& v) {
    if (v.empty()) return;
    Key(k);
    out += '[';
    bool first = true;
    for (const auto& s : v) {
      if (!first) out += ',';
      first = false;
      Quote(View(s));
    }
    out += ']';
  }

  void Quote(absl::string_view s) {
    out += '"';
    size_t i = 0, start = 0;
    const size_t n = s.size();
    auto flush = [&](size_t end) { out.append(s.data() + start, end - start); };
    while (i < n) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      // hubble's -o json comes through Go's json.Encoder, which escapes <, > and & (and
      // U+2028/U+2029) in strings; so does this, to print what hubble prints.
      if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80 && c != '<' && c != '>' && c != '&') {
        ++i;
        continue;
      }
      if (c == '<' || c == '>' || c == '&') {
        flush(i);
        out += c == '<' ? "\\u003c" : c == '>' ? "\\u003e" : "\\u0026";
        start = ++i;
        continue;
      }
      if (c >= 0x80) {
        size_t len = Utf8Length(s, i);
        if (len == 3 && c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
            (static_cast<unsigned char>(s[i + 2]) == 0xA8 ||
             static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
          flush(i);
          out += static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
          i += 3;
          start = i;
          continue;
        }
        if (len > 0) {
          i += len;
          continue;
        }
        flush(i);
        out += "\\ufffd";  // invalid UTF-8 would make the line unreadable
        start = ++i;
        continue;
      }
      flush(i);
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default: {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        }
      }
      start = ++i;
    }
    flush(n);
    out += '"';
  }

 private:
  static absl::string_view View(const std::string& s) { return s; }
  static absl::string_view View(Symbol s) { return s.view(); }

  // Length of the well-formed UTF-8 sequence at s[i], 0 if ill-formed.
  static size_t Utf8Length(absl::string_view s, size_t i) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
    unsigned char c = b(i);
    if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(i + 1) || !cont(i + 2)) return 0;
      if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
      if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogate
      return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
      if (c == 0xF0 && b(i + 1) < 0x90) return 0;
      if (c == 0xF4 && b(i + 1) >= 0x90) return 0;
      return 4;
    }
    return 0;
  }

  std::vector<bool> first_;
};

}  // namespace

void AppendJsonString(absl::string_view s, std::string* out) {
  Writer w;
  w.Quote(s);
  out->append(w.out);
}

namespace {

bool IsEmpty(const Endpoint& ep) {
  return ep.id == 0 && ep.identity == 0 && ep.cluster_name.empty() && ep.namespace_.empty() &&
         ep.pod_name.empty() && ep.labels.empty() && ep.workloads.empty();
}

void WriteEndpoint(Writer& w, absl::string_view key, const Endpoint& ep) {
  if (IsEmpty(ep)) return;
  w.OpenField(key);
  w.U("ID", ep.id);
  w.U("identity", ep.identity);
  w.Str("cluster_name", ep.cluster_name.view());
  w.Str("namespace", ep.namespace_.view());
  w.Strs("labels", ep.labels);
  w.Str("pod_name", ep.pod_name.view());
  if (!ep.workloads.empty()) {
    w.Key("workloads");
    w.out += '[';
    for (size_t i = 0; i < ep.workloads.size(); ++i) {
      if (i > 0) w.out += ',';
      w.Open();
      w.Str("name", ep.workloads[i].name.view());
      w.Str("kind", ep.workloads[i].kind.view());
      w.Close();
    }
    w.out += ']';
  }
  w.Close();
}

void WriteL4(Writer& w, const L4& l4) {
  if (l4.protocol == Protocol::kUnknown) return;
  w.OpenField("l4");
  w.OpenField(ProtocolName(l4.protocol));
  switch (l4.protocol) {
    case Protocol::kTCP:
    case Protocol::kUDP:
    case Protocol::kSCTP:
      w.U("source_port", l4.source_port);
      w.U("destination_port", l4.destination_port);
      if (l4.protocol == Protocol::kTCP && l4.tcp_flags != 0) {
        static constexpr struct {
          absl::string_view name;
          uint16_t bit;
        } kFlags[] = {{"FIN", kFIN}, {"SYN", kSYN}, {"RST", kRST}, {"PSH", kPSH}, {"ACK", kACK},
                      {"URG", kURG}, {"ECE", kECE}, {"CWR", kCWR}, {"NS", kNS}};
        w.OpenField("flags");
        for (const auto& f : kFlags) w.Bool(f.name, l4.tcp_flags & f.bit);
        w.Close();
      }
      break;
    case Protocol::kICMPv4:
    case Protocol::kICMPv6:
      w.U("type", l4.icmp_type);
      w.U("code", l4.icmp_code);
      break;
    case Protocol::kVRRP:
    case Protocol::kIGMP:
      w.U("type", l4.icmp_type);
      break;
    case Protocol::kUnknown:
      break;
  }
  w.Close();
  w.Close();
}

void WriteL7(Writer& w, const L7& l7) {
  w.OpenField("l7");
  w.Enum("type", static_cast<int32_t>(l7.type), L7TypeName(l7.type));
  w.U64("latency_ns", l7.latency_ns);
  if (l7.dns) {
    const Dns& d = *l7.dns;
    w.OpenField("dns");
    w.Str("query", d.query);
    w.Strs("ips", d.ips);
    w.U("ttl", d.ttl);
    w.Strs("cnames", d.cnames);
    w.Str("observation_source", d.observation_source);
    w.U("rcode", d.rcode);
    w.Strs("qtypes", d.qtypes);
    w.Strs("rrtypes", d.rrtypes);
    w.Close();
  } else if (l7.http) {
    const Http& h = *l7.http;
    w.OpenField("http");
    w.U("code", h.code);
    w.Str("method", h.method);
    w.Str("url", h.url);
    w.Str("protocol", h.protocol);
    if (!h.headers.empty()) {
      w.Key("headers");
      w.out += '[';
      for (size_t i = 0; i < h.headers.size(); ++i) {
        if (i > 0) w.out += ',';
        w.Open();
        w.Str("key", h.headers[i].first);
        w.Str("value", h.headers[i].second);
        w.Close();
      }
      w.out += ']';
    }
    w.Close();
  }
  w.Close();
}

void WriteService(Writer& w, absl::string_view key, const Service& s) {
  if (s.name.empty() && s.namespace_.empty()) return;
  w.OpenField(key);
  w.Str("name", s.name.view());
  w.Str("namespace", s.namespace_.view());
  w.Close();
}

void WritePolicies(Writer& w, absl::string_view key, const std::vector<PolicyRef>& refs) {
  if (refs.empty()) return;
  w.Key(key);
  w.out += '[';
  for (size_t i = 0; i < refs.size(); ++i) {
    if (i > 0) w.out += ',';
    const PolicyRef& p = refs[i];
    w.Open();
    w.Str("name", p.name.view());
    w.Str("namespace", p.namespace_.view());
    w.Strs("labels", p.labels);
    w.U64("revision", p.revision);
    w.Str("kind", p.kind.view());
    w.Close();
  }
  w.out += ']';
}

template <typename E>
absl::string_view NameIfValid(int v, bool (*valid)(int), const std::string& (*name)(E)) {
  if (!valid(v)) return "";
  return name(static_cast<E>(v));
}

void WriteFlow(Writer& w, const Flow& f) {
  w.OpenField("flow");
  w.Time("time", f.time);
  w.Str("uuid", f.uuid);
  w.Enum("verdict", static_cast<int32_t>(f.verdict),
         NameIfValid<::flow::Verdict>(static_cast<int>(f.verdict), ::flow::Verdict_IsValid,
                                      ::flow::Verdict_Name));
  w.U("drop_reason", f.drop_reason);
  w.Enum(
      "auth_type", f.auth_type,
      NameIfValid<::flow::AuthType>(f.auth_type, ::flow::AuthType_IsValid, ::flow::AuthType_Name));
  if (!f.source_ip.empty() || !f.source_ip_xlated.empty() || !f.destination_ip.empty() ||
      f.ip_version != IpVersion::kNotUsed || f.encrypted) {
    w.OpenField("IP");
    w.Str("source", f.source_ip);
    w.Str("source_xlated", f.source_ip_xlated);
    w.Str("destination", f.destination_ip);
    w.Enum("ipVersion", static_cast<int32_t>(f.ip_version),
           NameIfValid<::flow::IPVersion>(static_cast<int>(f.ip_version), ::flow::IPVersion_IsValid,
                                          ::flow::IPVersion_Name));
    w.Bool("encrypted", f.encrypted);
    w.Close();
  }
  WriteL4(w, f.l4);
  WriteEndpoint(w, "source", f.source);
  WriteEndpoint(w, "destination", f.destination);
  w.Enum("Type", static_cast<int32_t>(f.type),
         NameIfValid<::flow::FlowType>(static_cast<int>(f.type), ::flow::FlowType_IsValid,
                                       ::flow::FlowType_Name));
  w.Str("node_name", f.node_name.view());
  w.Strs("node_labels", f.node_labels);
  w.Strs("source_names", f.source_names);
  w.Strs("destination_names", f.destination_names);
  if (f.l7) WriteL7(w, *f.l7);
  // Hubble fills the deprecated `reply` from is_reply; older readers still use it.
  w.Bool("reply", f.is_reply.value_or(false));
  if (f.event_type != 0 || f.event_sub_type != 0) {
    w.OpenField("event_type");
    w.I("type", f.event_type);
    w.I("sub_type", f.event_sub_type);
    w.Close();
  }
  WriteService(w, "source_service", f.source_service);
  WriteService(w, "destination_service", f.destination_service);
  w.Enum("traffic_direction", static_cast<int32_t>(f.traffic_direction),
         NameIfValid<::flow::TrafficDirection>(static_cast<int>(f.traffic_direction),
                                               ::flow::TrafficDirection_IsValid,
                                               ::flow::TrafficDirection_Name));
  w.U("policy_match_type", f.policy_match_type);
  w.Enum("trace_observation_point", f.trace_observation_point,
         TraceObservationPointName(f.trace_observation_point));
  w.Enum("trace_reason", f.trace_reason,
         NameIfValid<::flow::TraceReason>(f.trace_reason, ::flow::TraceReason_IsValid,
                                          ::flow::TraceReason_Name));
  w.Enum("drop_reason_desc", static_cast<int32_t>(f.drop_reason_desc),
         DropReasonName(f.drop_reason_desc));
  if (f.is_reply) {  // a wrapper: written when set, even when false
    w.Key("is_reply");
    w.out += *f.is_reply ? "true" : "false";
  }
  if (f.interface_index != 0 || !f.interface_name.empty()) {
    w.OpenField("interface");
    w.U("index", f.interface_index);
    w.Str("name", f.interface_name.view());
    w.Close();
  }
  w.U("proxy_port", f.proxy_port);
  if (!f.trace_id.empty()) {
    w.OpenField("trace_context");
    w.OpenField("parent");
    w.Str("trace_id", f.trace_id);
    w.Close();
    w.Close();
  }
  w.Str("Summary", f.summary);
  WritePolicies(w, "egress_allowed_by", f.egress_allowed_by);
  WritePolicies(w, "ingress_allowed_by", f.ingress_allowed_by);
  WritePolicies(w, "egress_denied_by", f.egress_denied_by);
  WritePolicies(w, "ingress_denied_by", f.ingress_denied_by);
  w.Strs("policy_log", f.policy_log);
  w.Close();
}

}  // namespace

std::string EventToJson(const Event& ev) {
  Writer w;
  w.out.reserve(1024);
  w.Open();
  if (ev.flow) {
    WriteFlow(w, *ev.flow);
  } else if (ev.lost) {
    w.OpenField("lost_events");
    w.Enum("source", static_cast<int32_t>(ev.lost->source),
           NameIfValid<::flow::LostEventSource>(static_cast<int>(ev.lost->source),
                                                ::flow::LostEventSource_IsValid,
                                                ::flow::LostEventSource_Name));
    w.U64("num_events_lost", ev.lost->num_events_lost);
    if (ev.lost->cpu) {  // a wrapper: written when set, even when 0
      w.Key("cpu");
      absl::StrAppend(&w.out, *ev.lost->cpu);
    }
    w.Close();
  } else if (ev.node_status) {
    w.OpenField("node_status");
    w.Enum("state_change", static_cast<int32_t>(ev.node_status->state),
           NameIfValid<::relay::NodeState>(static_cast<int>(ev.node_status->state),
                                           ::relay::NodeState_IsValid, ::relay::NodeState_Name));
    w.Strs("node_names", ev.node_status->node_names);
    w.Str("message", ev.node_status->message);
    w.Close();
  }
  w.Str("node_name", ev.node_name.view());
  w.Time("time", ev.time);
  w.Close();
  return std::move(w.out);
}

}  // namespace tw::flow
