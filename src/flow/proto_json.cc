#include "flow/proto_json.h"

#include <charconv>
#include <cmath>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/time_format.h"
#include "flow/json.h"
#include "google/protobuf/descriptor.h"

namespace tw::flow {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void WriteMessage(const Message& m, std::string* out);

// protojson's form: the shortest of 0, 3, 6 or 9 fraction digits, four-digit years.
std::string Timestamp(int64_t seconds, int32_t nanos) {
  return FormatRfc3339(absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos));
}

void WriteDouble(double v, std::string* out) {
  if (std::isnan(v)) {
    *out += "\"NaN\"";
  } else if (std::isinf(v)) {
    *out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out->append(buf, r.ptr);
  }
}

void WriteScalar(const Message& m, const Reflection* r, const FieldDescriptor* f, int index,
                 std::string* out) {
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      absl::StrAppend(out, rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      absl::StrAppend(out, rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      absl::StrAppend(out, "\"", rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f), "\"");
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      absl::StrAppend(out, "\"", rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f),
                      "\"");
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      WriteDouble(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f), out);
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      WriteDouble(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f), out);
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      *out += (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false";
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      int v = rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f);
      const auto* ev = f->enum_type()->FindValueByNumber(v);
      if (ev != nullptr) {
        AppendJsonString(ev->name(), out);
      } else {
        absl::StrAppend(out, v);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
      if (f->type() == FieldDescriptor::TYPE_BYTES) s = absl::Base64Escape(s);
      AppendJsonString(s, out);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      WriteMessage(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f), out);
      break;
  }
}

// The well-known types protojson writes in their own form; false for other messages.
bool WriteWellKnown(const Message& m, std::string* out) {
  const Descriptor* d = m.GetDescriptor();
  const std::string& name = d->full_name();
  const Reflection* r = m.GetReflection();
  if (name == "google.protobuf.Timestamp") {
    AppendJsonString(Timestamp(r->GetInt64(m, d->FindFieldByName("seconds")),
                               r->GetInt32(m, d->FindFieldByName("nanos"))),
                     out);
    return true;
  }
  if (name == "google.protobuf.BoolValue" || name == "google.protobuf.Int32Value" ||
      name == "google.protobuf.UInt32Value" || name == "google.protobuf.Int64Value" ||
      name == "google.protobuf.UInt64Value" || name == "google.protobuf.StringValue" ||
      name == "google.protobuf.DoubleValue" || name == "google.protobuf.FloatValue" ||
      name == "google.protobuf.BytesValue") {
    WriteScalar(m, r, d->FindFieldByName("value"), -1, out);
    return true;
  }
  if (name == "google.protobuf.FieldMask") {
    std::string joined;
    const FieldDescriptor* paths = d->FindFieldByName("paths");
    for (int i = 0; i < r->FieldSize(m, paths); ++i) {
      if (i > 0) joined += ",";
      joined += r->GetRepeatedString(m, paths, i);
    }
    AppendJsonString(joined, out);
    return true;
  }
  if (name == "google.protobuf.Any") {
    // Without the type's descriptor the payload cannot be spelled out; say what it is.
    *out += "{\"@type\":";
    AppendJsonString(r->GetString(m, d->FindFieldByName("type_url")), out);
    *out += "}";
    return true;
  }
  return false;
}

void WriteMessage(const Message& m, std::string* out) {
  if (WriteWellKnown(m, out)) return;
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  *out += '{';
  bool first = true;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated() ? r->FieldSize(m, f) == 0 : !r->HasField(m, f)) continue;
    if (!first) *out += ',';
    first = false;
    AppendJsonString(f->name(), out);
    *out += ':';
    if (f->is_repeated()) {
      *out += '[';
      for (int k = 0; k < r->FieldSize(m, f); ++k) {
        if (k > 0) *out += ',';
        WriteScalar(m, r, f, k, out);
      }
      *out += ']';
    } else {
      WriteScalar(m, r, f, -1, out);
    }
  }
  *out += '}';
}

}  // namespace

std::string HubbleJson(const google::protobuf::Message& message) {
  std::string out;
  WriteMessage(message, &out);
  return out;
}

}  // namespace tw::flow
