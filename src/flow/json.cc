#include "flow/json.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/time_format.h"
#include "flow/hubble_schema.h"
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

// Enum names <-> numbers, built from the generated descriptors so they follow the protos.
struct EnumTable {
  std::string type_name;
  absl::flat_hash_map<std::string, int32_t> by_name;
  absl::flat_hash_map<int32_t, std::string> by_number;

  explicit EnumTable(const google::protobuf::EnumDescriptor* d) : type_name(d->name()) {
    for (int i = 0; i < d->value_count(); ++i) {
      by_name.emplace(d->value(i)->name(), d->value(i)->number());
      by_number.emplace(d->value(i)->number(), d->value(i)->name());  // first name wins
    }
  }
  // The value's name; "" when the proto does not declare it.
  absl::string_view Name(int32_t n) const {
    auto it = by_number.find(n);
    return it == by_number.end() ? absl::string_view() : absl::string_view(it->second);
  }
};

// One table per generated enum, built on first use and never changed afterwards.
template <typename E>
const EnumTable& EnumTableOf() {
  static const EnumTable* table = new EnumTable(google::protobuf::GetEnumDescriptor<E>());
  return *table;
}

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

#define TW_TRY(expr)           \
  do {                         \
    if (!(expr)) return false; \
  } while (0)

}  // namespace

struct JsonDecoder::Impl {
  explicit Impl(SymbolTable& s) : symbols(s) {}

  SymbolTable& symbols;
  od::parser parser;
  std::string buffer;  // the line plus simdjson's padding, reused across lines
  // Lock-free front of the SymbolTable: keys view the table's own (stable) strings.
  absl::flat_hash_map<absl::string_view, Symbol> interned;
  std::string error;
  UnknownEnumCounts unknown_enums;
  std::vector<std::string> new_unknown_enums;  // of the last Decode()

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

  ABSL_ATTRIBUTE_ALWAYS_INLINE bool Type(od::value& v, const Path& p, od::json_type* t) {
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

  ABSL_ATTRIBUTE_ALWAYS_INLINE bool String(od::value& v, od::json_type t, const Path& p,
                                           absl::string_view* out) {
    if (t != od::json_type::string) return Expected(p, "string", t);
    std::string_view s;
    if (auto ec = v.get_string().get(s)) return JsonError(ec, p);
    *out = absl::string_view(s.data(), s.size());
    return true;
  }
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool StringTo(od::value& v, od::json_type t, const Path& p,
                                             std::string* out) {
    absl::string_view s;
    TW_TRY(String(v, t, p, &s));
    out->assign(s.data(), s.size());
    return true;
  }
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool SymbolTo(od::value& v, od::json_type t, const Path& p,
                                             Symbol* out) {
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
        if (table.by_number.contains(n)) {
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
      if (!table.by_number.contains(*out)) UnknownEnum(p, table, absl::StrCat(*out, " (kept)"));
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

  ABSL_ATTRIBUTE_ALWAYS_INLINE bool Object(od::value& v, od::json_type t, const Path& p,
                                           od::object* obj) {
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

  // ---- messages, from the tables in hubble_schema.h ---------------------------------------

  struct MessageState {
    bool oneof_chosen = false;  // protobuf refuses two members of a oneof in one object
    bool mirror_true = false;   // a deprecated mirror (Flow.reply) read true
  };

  template <typename S>
  bool DecodeMessage(od::value& v, od::json_type t, const Path& p, typename S::Owner* o) {
    MessageState st;
    TW_TRY(Fields(v, t, p, [&](absl::string_view k, od::value& fv, const Path& fp) {
      bool ok = true;
      DecodeKey<S>(k, fv, fp, o, st, &ok);
      return ok;
    }));
    schema::Finish<S>(*o, st.mirror_true);
    return true;
  }

  // Decodes the value of `k` into `o` when `k` names a field of S (*ok: it decoded); false
  // when it names none (unknown keys and fields tierwatch does not keep are skipped).
  template <typename S>
  bool DecodeKey(absl::string_view k, od::value& fv, const Path& fp, typename S::Owner* o,
                 MessageState& st, bool* ok) {
    const schema::Key* key = schema::KeysOf<S>().Find(k);
    if (key == nullptr) return false;
    schema::VisitAt(S::kFields, key->field, [&](const auto& f) {
      using F = std::decay_t<decltype(f)>;
      if constexpr (F::kind == schema::FieldKind::kOneof) {
        schema::VisitAt(f.alternatives, key->alternative,
                        [&](const auto& alt) { *ok = DecodeAlternative(f, alt, fv, fp, o, st); });
      } else {
        *ok = DecodeField<S>(f, fv, fp, o, st);
      }
    });
    return true;
  }

  template <typename S, typename F>
  bool DecodeField(const F& f, od::value& v, const Path& p, typename S::Owner* o,
                   MessageState& st) {
    (void)f;
    od::json_type t{};
    TW_TRY(Type(v, p, &t));
    if (t == od::json_type::null) return true;
    using schema::FieldKind;
    if constexpr (F::kind == FieldKind::kValue) {
      return DecodeValue<schema::PbTypeOf<S, F>>(v, t, p, &(o->*F::member));
    } else if constexpr (F::kind == FieldKind::kMessage) {
      using T = schema::MemberType<F>;
      using Sub = typename F::Schema;
      auto& m = o->*F::member;
      if constexpr (schema::IsOptional<T>::value) {
        if (t != od::json_type::object) return Expected(p, "object", t);
        if (!m) m.emplace();
        return DecodeMessage<Sub>(v, t, p, &*m);
      } else if constexpr (schema::IsVector<T>::value) {
        return Each(v, t, p, [&](od::value& ev, od::json_type et, const Path& ep) {
          typename T::value_type element;
          TW_TRY(DecodeMessage<Sub>(ev, et, ep, &element));
          m.push_back(std::move(element));
          return true;
        });
      } else {
        return DecodeMessage<Sub>(v, t, p, &m);
      }
    } else if constexpr (F::kind == FieldKind::kInline) {
      return DecodeMessage<typename F::Schema>(v, t, p, o);
    } else if constexpr (F::kind == FieldKind::kBit) {
      bool b;
      TW_TRY(Bool(v, t, p, &b));
      auto& bits = o->*F::member;
      using Bits = std::decay_t<decltype(bits)>;
      bits = b ? static_cast<Bits>(bits | F::bit) : static_cast<Bits>(bits & ~F::bit);
      return true;
    } else {
      static_assert(F::kind == FieldKind::kMirror);
      return Bool(v, t, p, &st.mirror_true);
    }
  }

  template <typename Oneof, typename Alt, typename Owner>
  bool DecodeAlternative(const Oneof& oneof, const Alt& alt, od::value& v, const Path& p, Owner* o,
                         MessageState& st) {
    (void)alt;
    od::json_type t{};
    TW_TRY(Type(v, p, &t));
    if (t == od::json_type::null) return true;
    if (st.oneof_chosen) {
      std::string names;
      schema::ForEach(oneof.alternatives, [&](const auto& a) {
        absl::StrAppend(&names, names.empty() ? "" : ", ", a.name);
      });
      return Fail(p, absl::StrCat("expected only one of ", names));
    }
    st.oneof_chosen = true;
    auto& target = Alt::Choice::Choose(*o);
    if constexpr (std::is_void_v<typename Alt::Schema>) {
      (void)target;
      od::object ignored;
      return Object(v, t, p, &ignored);
    } else {
      return DecodeMessage<typename Alt::Schema>(v, t, p, &target);
    }
  }

  // One value; its JSON form follows the proto type P, its storage the member type T.
  template <typename P, typename T>
  bool DecodeValue(od::value& v, od::json_type t, const Path& p, T* out) {
    if constexpr (std::is_enum_v<P>) {
      return EnumAs(v, t, p, EnumTableOf<P>(), out);
    } else if constexpr (std::is_same_v<P, std::string>) {
      if constexpr (std::is_same_v<T, Symbol>) {
        return SymbolTo(v, t, p, out);
      } else {
        return StringTo(v, t, p, out);
      }
    } else if constexpr (std::is_same_v<P, bool>) {
      return Bool(v, t, p, out);
    } else if constexpr (std::is_same_v<P, uint32_t>) {
      if constexpr (std::is_same_v<T, uint32_t>) {
        return U32(v, t, p, out);
      } else {
        return U32As(v, t, p, out);
      }
    } else if constexpr (std::is_same_v<P, int32_t>) {
      return I32(v, t, p, out);
    } else if constexpr (std::is_same_v<P, uint64_t>) {
      return U64(v, t, p, out);
    } else if constexpr (std::is_same_v<P, google::protobuf::Timestamp>) {
      return Time(v, t, p, out);
    } else if constexpr (std::is_same_v<P, google::protobuf::BoolValue>) {
      bool b;
      TW_TRY(Bool(v, t, p, &b));
      *out = b;
      return true;
    } else if constexpr (std::is_same_v<P, google::protobuf::Int32Value>) {
      int32_t n;
      TW_TRY(I32(v, t, p, &n));
      *out = n;
      return true;
    } else {
      static_assert(std::is_same_v<P, google::protobuf::RepeatedPtrField<std::string>>);
      if constexpr (std::is_same_v<T, std::vector<Symbol>>) {
        return Symbols(v, t, p, out);
      } else {
        return Strings(v, t, p, out);
      }
    }
  }

  // The top-level object: a GetFlowsResponse, or a bare Flow (legacy `-o json`). The two
  // share `time` and `node_name` (the response's take them); Flow fields are decoded on the
  // side and used only when no flow/lost_events/node_status shows up.
  bool DecodeTop(od::object& obj, Event* ev) {
    const Path root{nullptr, {}, -1};
    std::optional<Flow> bare;  // only built when a Flow key shows up at the top level
    MessageState top, bare_state;
    bool any_key = false;
    TW_TRY(FieldsOf(obj, root, [&](absl::string_view k, od::value& fv, const Path& fp) {
      od::json_type ft{};
      TW_TRY(Type(fv, fp, &ft));
      if (ft == od::json_type::null) return true;  // absent, whatever the key
      bool ok = true;
      if (DecodeKey<schema::EventSchema>(k, fv, fp, ev, top, &ok)) {
        any_key = true;
        return ok;
      }
      if (!schema::KeysOf<schema::FlowSchema>().Find(k)) return true;
      any_key = true;
      if (!bare) bare.emplace();
      DecodeKey<schema::FlowSchema>(k, fv, fp, &*bare, bare_state, &ok);
      return ok;
    }));
    if (ev->flow || ev->lost || ev->node_status) return true;
    if (!any_key) {
      error =
          "expected a Hubble event: an object with flow, lost_events or node_status "
          "(hubble observe -o jsonpb), or a Flow object";
      return false;
    }
    if (!bare) bare.emplace();
    bare->time = ev->time;
    bare->node_name = ev->node_name;
    schema::Finish<schema::FlowSchema>(*bare, bare_state.mirror_true);
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
      Quote(schema::Text(s));
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

template <typename S>
void WriteMessage(Writer& w, const typename S::Owner& o);

// One value; its JSON form follows the proto type P (defaults omitted, as Hubble writes).
template <typename P, typename T>
void WriteValue(Writer& w, absl::string_view name, const T& v) {
  if constexpr (std::is_enum_v<P>) {
    const auto n = static_cast<int32_t>(v);
    w.Enum(name, n, EnumTableOf<P>().Name(n));
  } else if constexpr (std::is_same_v<P, std::string>) {
    w.Str(name, schema::Text(v));
  } else if constexpr (std::is_same_v<P, bool>) {
    w.Bool(name, v);
  } else if constexpr (std::is_same_v<P, uint32_t>) {
    w.U(name, v);
  } else if constexpr (std::is_same_v<P, int32_t>) {
    w.I(name, v);
  } else if constexpr (std::is_same_v<P, uint64_t>) {
    w.U64(name, v);
  } else if constexpr (std::is_same_v<P, google::protobuf::Timestamp>) {
    w.Time(name, v);
  } else if constexpr (std::is_same_v<P, google::protobuf::BoolValue>) {
    if (!v) return;  // a wrapper: written when set, even when false
    w.Key(name);
    w.out += *v ? "true" : "false";
  } else if constexpr (std::is_same_v<P, google::protobuf::Int32Value>) {
    if (!v) return;  // a wrapper: written when set, even when 0
    w.Key(name);
    absl::StrAppend(&w.out, *v);
  } else {
    static_assert(std::is_same_v<P, google::protobuf::RepeatedPtrField<std::string>>);
    w.Strs(name, v);
  }
}

template <typename S, typename F>
void WriteField(Writer& w, const F& f, const typename S::Owner& o) {
  using schema::FieldKind;
  if constexpr (F::kind == FieldKind::kValue) {
    WriteValue<schema::PbTypeOf<S, F>>(w, f.name, o.*F::member);
  } else if constexpr (F::kind == FieldKind::kMessage) {
    using T = schema::MemberType<F>;
    using Sub = typename F::Schema;
    const auto& m = o.*F::member;
    if constexpr (schema::IsOptional<T>::value) {
      if (!m) return;  // presence is kept: an empty message is written as {}
      w.OpenField(f.name);
      WriteMessage<Sub>(w, *m);
      w.Close();
    } else if constexpr (schema::IsVector<T>::value) {
      if (m.empty()) return;
      w.Key(f.name);
      w.out += '[';
      for (size_t i = 0; i < m.size(); ++i) {
        if (i > 0) w.out += ',';
        w.Open();
        WriteMessage<Sub>(w, m[i]);
        w.Close();
      }
      w.out += ']';
    } else {
      if (schema::AllDefault<Sub>(m)) return;
      w.OpenField(f.name);
      WriteMessage<Sub>(w, m);
      w.Close();
    }
  } else if constexpr (F::kind == FieldKind::kInline) {
    if (schema::AllDefault<typename F::Schema>(o)) return;
    w.OpenField(f.name);
    WriteMessage<typename F::Schema>(w, o);
    w.Close();
  } else if constexpr (F::kind == FieldKind::kBit) {
    w.Bool(f.name, ((o.*F::member) & F::bit) != 0);
  } else if constexpr (F::kind == FieldKind::kMirror) {
    w.Bool(f.name, (o.*F::member).value_or(false));
  } else {
    static_assert(F::kind == FieldKind::kOneof);
    schema::ForEach(f.alternatives, [&](const auto& alt) {
      using Alt = std::decay_t<decltype(alt)>;
      if constexpr (!std::is_void_v<typename Alt::Schema>) {
        if (!Alt::Choice::Chosen(o)) return;
        w.OpenField(alt.name);  // the chosen member is written even when empty
        WriteMessage<typename Alt::Schema>(w, Alt::Choice::Get(o));
        w.Close();
      }
    });
  }
}

template <typename S>
void WriteMessage(Writer& w, const typename S::Owner& o) {
  schema::ForEach(S::kFields, [&](const auto& f) { WriteField<S>(w, f, o); });
}

}  // namespace

std::string EventToJson(const Event& ev) {
  Writer w;
  w.out.reserve(1024);
  w.Open();
  WriteMessage<schema::EventSchema>(w, ev);
  w.Close();
  return std::move(w.out);
}

}  // namespace tw::flow
