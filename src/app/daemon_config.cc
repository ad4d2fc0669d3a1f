#include "app/daemon_config.h"

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/yaml_schema.h"
#include "flow/filter.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace tw::app {
namespace {

using config::YamlValue;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Maps YAML trees onto any protobuf message by reflection, so every FlowFilter field
// (current and future) is accepted under its proto name, without a hand-kept list.
class ProtoMapper {
 public:
  ProtoMapper(const std::string& file, std::vector<Diagnostic>* errors)
      : file_(file), errors_(errors) {}

  bool Map(const YamlValue& v, Message* msg, const std::string& path) {
    if (v.kind != YamlValue::Kind::kMap) {
      Error(v.line, path, absl::StrCat("expected a mapping, got ", v.ToString()));
      return false;
    }
    bool ok = true;
    const auto* desc = msg->GetDescriptor();
    for (const YamlValue& entry : v.items) {
      std::string field_path = absl::StrCat(path, ".", entry.key);
      const FieldDescriptor* fd = desc->FindFieldByName(entry.key);
      if (fd == nullptr) fd = desc->FindFieldByCamelcaseName(entry.key);
      if (fd == nullptr) {
        std::vector<std::string> names;
        for (int i = 0; i < desc->field_count(); ++i) names.push_back(desc->field(i)->name());
        Error(entry.key_line, path,
              tw::yaml::UnknownKeyMessage(absl::StrCat(desc->name(), " field"), entry.key, names));
        ok = false;
        continue;
      }
      if (fd->is_repeated()) {
        if (entry.kind == YamlValue::Kind::kList) {
          for (size_t i = 0; i < entry.items.size(); ++i) {
            ok &= Set(entry.items[i], msg, fd, absl::StrCat(field_path, "[", i, "]"));
          }
        } else if (entry.kind != YamlValue::Kind::kNull) {
          ok &= Set(entry, msg, fd, field_path);  // a single value stands for a list of one
        }
      } else {
        ok &= Set(entry, msg, fd, field_path);
      }
    }
    return ok;
  }

 private:
  void Error(int line, const std::string& path, const std::string& message) {
    Diagnostic d = Diagnostic::Error(file_, line, message);
    d.path = path;
    errors_->push_back(std::move(d));
  }

  bool Scalar(const YamlValue& v, const std::string& path, const char* expected) {
    if (v.kind == YamlValue::Kind::kScalar) return true;
    Error(v.line, path, absl::StrCat("expected ", expected, ", got ", v.ToString()));
    return false;
  }

  template <typename T>
  bool Number(const YamlValue& v, const std::string& path, T* out) {
    if (!Scalar(v, path, "a number")) return false;
    if (!absl::SimpleAtoi(v.scalar, out)) {
      Error(v.line, path,
            absl::StrCat("expected an integer from ", std::numeric_limits<T>::min(), " to ",
                         std::numeric_limits<T>::max(), ", got \"", v.scalar, "\""));
      return false;
    }
    return true;
  }

  bool Set(const YamlValue& v, Message* msg, const FieldDescriptor* fd, const std::string& path) {
    const Reflection* r = msg->GetReflection();
    const bool rep = fd->is_repeated();
    switch (fd->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: {
        if (!Scalar(v, path, "a string")) return false;
        rep ? r->AddString(msg, fd, v.scalar) : r->SetString(msg, fd, v.scalar);
        return true;
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        if (!Scalar(v, path, "true or false")) return false;
        std::string s = absl::AsciiStrToLower(v.scalar);
        if (s != "true" && s != "false") {
          Error(v.line, path, absl::StrCat("expected true or false, got \"", v.scalar, "\""));
          return false;
        }
        rep ? r->AddBool(msg, fd, s == "true") : r->SetBool(msg, fd, s == "true");
        return true;
      }
      case FieldDescriptor::CPPTYPE_INT32: {
        int32_t n = 0;
        if (!Number(v, path, &n)) return false;
        rep ? r->AddInt32(msg, fd, n) : r->SetInt32(msg, fd, n);
        return true;
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        uint32_t n = 0;
        if (!Number(v, path, &n)) return false;
        rep ? r->AddUInt32(msg, fd, n) : r->SetUInt32(msg, fd, n);
        return true;
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t n = 0;
        if (!Number(v, path, &n)) return false;
        rep ? r->AddInt64(msg, fd, n) : r->SetInt64(msg, fd, n);
        return true;
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t n = 0;
        if (!Number(v, path, &n)) return false;
        rep ? r->AddUInt64(msg, fd, n) : r->SetUInt64(msg, fd, n);
        return true;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT: {
        double d = 0;
        if (!Scalar(v, path, "a number")) return false;
        if (!absl::SimpleAtod(v.scalar, &d)) {
          Error(v.line, path, absl::StrCat("expected a number, got \"", v.scalar, "\""));
          return false;
        }
        if (fd->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
          rep ? r->AddFloat(msg, fd, static_cast<float>(d))
              : r->SetFloat(msg, fd, static_cast<float>(d));
        } else {
          rep ? r->AddDouble(msg, fd, d) : r->SetDouble(msg, fd, d);
        }
        return true;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        if (!Scalar(v, path, "a name")) return false;
        const auto* et = fd->enum_type();
        const auto* ev = et->FindValueByName(v.scalar);
        if (ev == nullptr) ev = et->FindValueByName(absl::AsciiStrToUpper(v.scalar));
        int32_t number = 0;
        if (ev == nullptr && absl::SimpleAtoi(v.scalar, &number)) {
          ev = et->FindValueByNumber(number);
        }
        if (ev == nullptr) {
          std::vector<absl::string_view> names;
          for (int i = 0; i < et->value_count(); ++i) names.push_back(et->value(i)->name());
          Error(v.line, path,
                tw::yaml::ExpectedOneOf(names, absl::StrCat("\"", v.scalar, "\""),
                                        absl::AsciiStrToUpper(v.scalar)));
          return false;
        }
        rep ? r->AddEnumValue(msg, fd, ev->number()) : r->SetEnumValue(msg, fd, ev->number());
        return true;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        Message* sub = rep ? r->AddMessage(msg, fd) : r->MutableMessage(msg, fd);
        return Map(v, sub, path);
      }
    }
    return false;
  }

  const std::string& file_;
  std::vector<Diagnostic>* errors_;
};

}  // namespace

std::vector<::flow::FlowFilter> BuildFlowFilters(const std::vector<YamlValue>& yaml,
                                                 const std::string& file, const std::string& path,
                                                 std::vector<Diagnostic>* errors) {
  std::vector<::flow::FlowFilter> out;
  ProtoMapper mapper(file, errors);
  for (size_t i = 0; i < yaml.size(); ++i) {
    std::string item_path = absl::StrCat(path, "[", i, "]");
    ::flow::FlowFilter filter;
    if (!mapper.Map(yaml[i], &filter, item_path)) continue;
    // The same compiler the replay relay uses: catches bad CIDRs, selectors, regexes here
    // rather than as a relay error at connect time.
    auto compiled = flow::CompileFlowFilter(filter);
    if (!compiled.ok()) {
      Diagnostic d =
          Diagnostic::Error(file, yaml[i].line, std::string(compiled.status().message()));
      d.path = item_path;
      errors->push_back(std::move(d));
      continue;
    }
    out.push_back(std::move(filter));
  }
  return out;
}

namespace {

absl::StatusOr<LoadedConfig> Finish(config::ParsedConfig r) {
  LoadedConfig loaded;
  loaded.config = std::move(r.config);
  const std::string file = loaded.config.file.empty() ? "<config>" : loaded.config.file;
  loaded.filters.whitelist = BuildFlowFilters(loaded.config.relay.filters.whitelist, file,
                                              "relay.filters.whitelist", &r.errors);
  loaded.filters.blacklist = BuildFlowFilters(loaded.config.relay.filters.blacklist, file,
                                              "relay.filters.blacklist", &r.errors);
  if (!r.errors.empty()) return DiagnosticsToStatus(std::move(r.errors));
  return loaded;
}

}  // namespace

absl::StatusOr<LoadedConfig> LoadDaemonConfig(const std::string& path,
                                              const config::LoadOptions& options) {
  return Finish(config::LoadFile(path, options));
}

absl::StatusOr<LoadedConfig> ParseDaemonConfig(absl::string_view yaml, const std::string& file,
                                               const config::LoadOptions& options) {
  return Finish(config::Parse(yaml, file, options));
}

sources::RelayClientOptions RelayClientOptionsFor(const LoadedConfig& cfg, absl::Time now,
                                                  std::optional<absl::Time> resume, uint64_t seed) {
  const config::RelayConfig& r = cfg.config.relay;
  sources::RelayClientOptions o;
  o.address = r.address;
  o.follow = true;
  if (resume) {
    o.since = *resume;
  } else if (r.backlog.kind == config::Backlog::Kind::kAll) {
    // Hubble treats a present `since` as a lower bound: the epoch reaches back to the oldest
    // flow each agent's ring buffer still holds.
    o.since = absl::UnixEpoch();
  } else if (r.backlog.kind == config::Backlog::Kind::kDuration) {
    o.since = now - r.backlog.duration;
  }
  o.whitelist = cfg.filters.whitelist;
  o.blacklist = cfg.filters.blacklist;
  o.tls.enabled = r.tls.enabled;
  if (!r.tls.ca_file.empty()) o.tls.ca_files = {r.tls.ca_file};
  o.tls.cert_file = r.tls.cert_file;
  o.tls.key_file = r.tls.key_file;
  o.tls.server_name = r.tls.server_name;
  o.keepalive_time = r.keepalive;
  o.backoff.initial = r.backoff.initial;
  o.backoff.max = r.backoff.max;
  o.resume_window = r.resume_window;
  o.seed = seed;
  return o;
}

}  // namespace tw::app
