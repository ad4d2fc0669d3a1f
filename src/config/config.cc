#include "config/config.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/time_format.h"
#include "common/yaml_schema.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace tw::config {

bool YamlValue::SameContent(const YamlValue& a, const YamlValue& b) {
  if (a.kind != b.kind || a.key != b.key || a.items.size() != b.items.size()) return false;
  if (a.kind == Kind::kScalar && (a.scalar != b.scalar || a.quoted != b.quoted)) return false;
  for (size_t i = 0; i < a.items.size(); ++i) {
    if (!SameContent(a.items[i], b.items[i])) return false;
  }
  return true;
}

std::string YamlValue::ToString() const {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kScalar:
      return quoted ? absl::StrCat("\"", scalar, "\"") : scalar;
    case Kind::kList: {
      std::vector<std::string> parts;
      for (const auto& i : items) parts.push_back(i.ToString());
      return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
    }
    case Kind::kMap: {
      std::vector<std::string> parts;
      for (const auto& i : items) parts.push_back(absl::StrCat(i.key, ": ", i.ToString()));
      return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
    }
  }
  return "";
}

absl::string_view ModeName(Mode mode) { return mode == Mode::kLearn ? "learn" : "watch"; }
absl::string_view OverflowName(Overflow o) { return o == Overflow::kBlock ? "block" : "drop"; }

bool operator==(const TlsConfig& a, const TlsConfig& b) {
  return a.enabled == b.enabled && a.ca_file == b.ca_file && a.cert_file == b.cert_file &&
         a.key_file == b.key_file && a.server_name == b.server_name;
}

namespace {

bool SameFilters(const std::vector<YamlValue>& a, const std::vector<YamlValue>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!YamlValue::SameContent(a[i], b[i])) return false;
  }
  return true;
}

}  // namespace

bool operator==(const RelayConfig& a, const RelayConfig& b) {
  return a.address == b.address && a.backlog == b.backlog && a.tls == b.tls &&
         a.keepalive == b.keepalive && a.resume_window == b.resume_window &&
         a.backoff.initial == b.backoff.initial && a.backoff.max == b.backoff.max &&
         SameFilters(a.filters.whitelist, b.filters.whitelist) &&
         SameFilters(a.filters.blacklist, b.filters.blacklist);
}

namespace {

int LineOf(const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  return m.is_null() ? 0 : m.line + 1;
}

std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return absl::StrCat("\"", n.Scalar(), "\"");
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "an undefined value";
  }
}

YamlValue ToYamlValue(const YAML::Node& n) {
  YamlValue v;
  v.line = LineOf(n);
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      v.kind = YamlValue::Kind::kScalar;
      v.scalar = n.Scalar();
      // yaml-cpp tags plain scalars "?" and quoted ones "!".
      v.quoted = n.Tag() == "!";
      break;
    case YAML::NodeType::Sequence:
      v.kind = YamlValue::Kind::kList;
      for (const auto& item : n) v.items.push_back(ToYamlValue(item));
      break;
    case YAML::NodeType::Map:
      v.kind = YamlValue::Kind::kMap;
      for (const auto& kv : n) {
        YamlValue item = ToYamlValue(kv.second);
        item.key = kv.first.IsScalar() ? kv.first.Scalar() : "";
        item.key_line = LineOf(kv.first);
        v.items.push_back(std::move(item));
      }
      break;
    default:
      v.kind = YamlValue::Kind::kNull;
  }
  return v;
}

// Walks the document, filling the config and collecting errors; never throws.
class Reader {
 public:
  // `name` labels errors; relative paths resolve against the directory of `file`.
  Reader(std::string name, const std::string& file, std::vector<Diagnostic>* errors)
      : file_(std::move(name)), errors_(errors) {
    if (!file.empty()) base_dir_ = std::filesystem::path(file).parent_path();
  }

  void Error(int line, std::string message) {
    errors_->push_back(Diagnostic::Error(file_, line, std::move(message)));
  }
  void Error(const YAML::Node& n, const std::string& path, const std::string& message) {
    Diagnostic d = Diagnostic::Error(file_, LineOf(n), message);
    d.path = path;
    errors_->push_back(std::move(d));
  }

  struct Entry {
    YAML::Node key;
    YAML::Node value;
  };
  using Entries = std::map<std::string, Entry>;

  // Reads a mapping whose keys must be among `allowed`: reports unknown keys (with a
  // suggestion), duplicates and non-scalar keys. False when `n` is not a mapping.
  bool Map(const YAML::Node& n, const std::string& path, const std::vector<std::string>& allowed,
           Entries* out) {
    if (n.IsNull()) return true;  // an empty section: all defaults
    if (!n.IsMap()) {
      Error(n, path.empty() ? "config" : path,
            absl::StrCat("expected a mapping of keys (", absl::StrJoin(allowed, ", "), "), got ",
                         Describe(n)));
      return false;
    }
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) {
        Error(kv.first, path.empty() ? "config" : path, "keys must be plain names");
        continue;
      }
      const std::string& key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        Error(kv.first, path.empty() ? "config" : path,
              tw::yaml::UnknownKeyMessage("key", key, allowed));
        continue;
      }
      // Duplicates were reported by yaml::CheckTree before the walk; the first one wins.
      if (out->count(key)) continue;
      (*out)[key] = Entry{kv.first, kv.second};
    }
    return true;
  }

  static const Entry* Find(const Entries& e, const std::string& key) {
    auto it = e.find(key);
    return it == e.end() ? nullptr : &it->second;
  }

  // A scalar as a string; null = "". False (and an error) for lists and mappings.
  bool Scalar(const Entry& e, const std::string& path, std::string* out) {
    if (e.value.IsNull()) {
      out->clear();
      return true;
    }
    if (!e.value.IsScalar()) {
      Error(e.value.IsDefined() ? e.value : e.key, path,
            absl::StrCat("expected a single value, got ", Describe(e.value)));
      return false;
    }
    *out = e.value.Scalar();
    return true;
  }

  void String(const Entries& entries, const std::string& key, const std::string& path,
              std::string* out) {
    if (const Entry* e = Find(entries, key)) Scalar(*e, path, out);
  }

  void Path(const Entries& entries, const std::string& key, const std::string& path,
            std::string* out) {
    String(entries, key, path, out);
    *out = ResolvePath(*out);
    if (const Entry* e = Find(entries, key)) lines_[path] = LineOf(e->value);
  }

  std::string ResolvePath(const std::string& p) const {
    if (p.empty() || base_dir_.empty()) return p;
    std::filesystem::path fp(p);
    if (fp.is_absolute()) return p;
    return (base_dir_ / fp).lexically_normal().string();
  }

  void Bool(const Entries& entries, const std::string& key, const std::string& path, bool* out) {
    const Entry* e = Find(entries, key);
    if (!e) return;
    std::string s;
    if (!Scalar(*e, path, &s)) return;
    std::string lower = absl::AsciiStrToLower(s);
    if (lower == "true") {
      *out = true;
    } else if (lower == "false") {
      *out = false;
    } else {
      Error(e->value, path, absl::StrCat("expected true or false, got \"", s, "\""));
    }
  }

  void Duration(const Entries& entries, const std::string& key, const std::string& path,
                absl::Duration* out, bool allow_zero) {
    const Entry* e = Find(entries, key);
    if (!e) return;
    std::string s;
    if (!Scalar(*e, path, &s)) return;
    auto d = tw::ParseDuration(s);
    if (!d.ok()) {
      Error(e->value, path, std::string(d.status().message()));
      return;
    }
    if (!allow_zero && *d <= absl::ZeroDuration()) {
      Error(e->value, path, absl::StrCat("must be longer than zero, got \"", s, "\""));
      return;
    }
    *out = *d;
  }

  void Int(const Entries& entries, const std::string& key, const std::string& path, int64_t* out,
           int64_t min, int64_t max) {
    const Entry* e = Find(entries, key);
    if (!e) return;
    std::string s;
    if (!Scalar(*e, path, &s)) return;
    int64_t v = 0;
    if (!absl::SimpleAtoi(s, &v)) {
      Error(e->value, path, absl::StrCat("expected a whole number, got \"", s, "\""));
      return;
    }
    if (v < min || v > max) {
      Error(e->value, path, absl::StrCat("must be between ", min, " and ", max, ", got ", v));
      return;
    }
    *out = v;
  }

  // A list of strings; a single string is accepted as a list of one.
  void StringList(const Entries& entries, const std::string& key, const std::string& path,
                  std::vector<std::string>* out, bool paths) {
    const Entry* e = Find(entries, key);
    if (!e) return;
    out->clear();
    auto add = [&](const YAML::Node& n, const std::string& p) {
      if (!n.IsScalar()) {
        Error(n, p, absl::StrCat("expected a string, got ", Describe(n)));
        return;
      }
      if (paths) lines_[absl::StrCat(path, "[", out->size(), "]")] = LineOf(n);
      out->push_back(paths ? ResolvePath(n.Scalar()) : n.Scalar());
    };
    if (e->value.IsNull()) return;
    if (e->value.IsScalar()) {
      add(e->value, path);
      return;
    }
    if (!e->value.IsSequence()) {
      Error(e->value, path, absl::StrCat("expected a list of strings, got ", Describe(e->value)));
      return;
    }
    for (size_t i = 0; i < e->value.size(); ++i) {
      add(e->value[i], absl::StrCat(path, "[", i, "]"));
    }
  }

  template <typename Enum>
  void Choice(const Entries& entries, const std::string& key, const std::string& path,
              const std::vector<std::pair<std::string, Enum>>& choices, Enum* out) {
    const Entry* e = Find(entries, key);
    if (!e) return;
    std::string s;
    if (!Scalar(*e, path, &s)) return;
    std::vector<std::string> names;
    for (const auto& [name, value] : choices) {
      if (name == s) {
        *out = value;
        return;
      }
      names.push_back(name);
    }
    Error(e->value, path,
          absl::StrCat("expected one of ", absl::StrJoin(names, ", "), ", got \"", s, "\""));
  }

  void Filters(const Entry& e, const std::string& path, std::vector<YamlValue>* out) {
    if (e.value.IsNull()) return;
    if (!e.value.IsSequence()) {
      Error(e.value, path,
            absl::StrCat("expected a list of Hubble flow filters (e.g. \"- verdict: [DROPPED]\"), "
                         "got ",
                         Describe(e.value)));
      return;
    }
    for (size_t i = 0; i < e.value.size(); ++i) {
      const YAML::Node& f = e.value[i];
      if (!f.IsMap()) {
        Error(f, absl::StrCat(path, "[", i, "]"),
              absl::StrCat("expected a flow filter mapping (e.g. \"verdict: [DROPPED]\"), got ",
                           Describe(f)));
        continue;
      }
      out->push_back(ToYamlValue(f));
    }
  }

  // The command line's TLS flags win over relay.tls; a CA or client certificate turns TLS
  // on, as with the other commands' flags.
  void OverrideTls(const RelayOverride& o, TlsConfig* tls) {
    if (o.tls || !o.ca_file.empty() || !o.cert_file.empty()) tls->enabled = true;
    if (!o.ca_file.empty()) tls->ca_file = o.ca_file;
    if (!o.cert_file.empty()) tls->cert_file = o.cert_file;
    if (!o.key_file.empty()) tls->key_file = o.key_file;
    if (!o.server_name.empty()) tls->server_name = o.server_name;
    if ((!o.cert_file.empty() || !o.key_file.empty()) &&
        tls->cert_file.empty() != tls->key_file.empty()) {
      Error(0,
            "--tls-client-cert-file and --tls-client-key-file go together (mTLS needs the "
            "client certificate and its key)");
    }
  }

  void Relay(const Entry* e, RelayConfig* relay, const LoadOptions& options,
             const YAML::Node& root) {
    Entries r;
    if (e && !Map(e->value, "relay",
                  {"address", "backlog", "tls", "keepalive", "resume_window", "backoff", "filters"},
                  &r)) {
      return;
    }
    String(r, "address", "relay.address", &relay->address);
    if (!options.relay.address.empty()) relay->address = options.relay.address;
    if (relay->address.empty() && options.require_relay_address) {
      if (e) {
        Error(e->key, "relay.address",
              "required: the Hubble Relay to read flows from, e.g. "
              "hubble-relay.kube-system.svc.cluster.local:80");
      } else {
        Error(root, "relay.address",
              "required: add a relay section with the Hubble Relay address, e.g. "
              "\"relay: {address: hubble-relay.kube-system.svc.cluster.local:80}\"");
      }
    }
    if (const Entry* b = Find(r, "backlog")) {
      std::string v;
      if (Scalar(*b, "relay.backlog", &v)) {
        if (v == "none" || v.empty()) {
          relay->backlog = Backlog{};
        } else if (v == "all") {
          relay->backlog = Backlog{Backlog::Kind::kAll, absl::ZeroDuration()};
        } else if (auto d = tw::ParseDuration(v); d.ok() && *d > absl::ZeroDuration()) {
          relay->backlog = Backlog{Backlog::Kind::kDuration, *d};
        } else {
          Error(b->value, "relay.backlog",
                absl::StrCat("expected none, all or a duration such as 10m, got \"", v, "\""));
        }
      }
    }
    if (const Entry* t = Find(r, "tls")) {
      Entries tls;
      if (Map(t->value, "relay.tls", {"enabled", "ca_file", "cert_file", "key_file", "server_name"},
              &tls)) {
        Bool(tls, "enabled", "relay.tls.enabled", &relay->tls.enabled);
        Path(tls, "ca_file", "relay.tls.ca_file", &relay->tls.ca_file);
        Path(tls, "cert_file", "relay.tls.cert_file", &relay->tls.cert_file);
        Path(tls, "key_file", "relay.tls.key_file", &relay->tls.key_file);
        String(tls, "server_name", "relay.tls.server_name", &relay->tls.server_name);
        if (relay->tls.cert_file.empty() != relay->tls.key_file.empty()) {
          Error(t->key, "relay.tls",
                "cert_file and key_file go together (mTLS needs the client certificate and its "
                "key)");
        }
        if (!relay->tls.enabled && (!relay->tls.ca_file.empty() || !relay->tls.cert_file.empty())) {
          Error(t->key, "relay.tls",
                "certificate files are given but enabled is false; set \"enabled: true\"");
        }
      }
    }
    OverrideTls(options.relay, &relay->tls);
    Duration(r, "keepalive", "relay.keepalive", &relay->keepalive, /*allow_zero=*/false);
    Duration(r, "resume_window", "relay.resume_window", &relay->resume_window,
             /*allow_zero=*/true);
    if (const Entry* b = Find(r, "backoff")) {
      Entries bo;
      if (Map(b->value, "relay.backoff", {"initial", "max"}, &bo)) {
        Duration(bo, "initial", "relay.backoff.initial", &relay->backoff.initial, false);
        Duration(bo, "max", "relay.backoff.max", &relay->backoff.max, false);
        if (relay->backoff.initial > relay->backoff.max) {
          Error(
              b->key, "relay.backoff",
              absl::StrCat("initial (", tw::FormatDuration(relay->backoff.initial),
                           ") is longer than max (", tw::FormatDuration(relay->backoff.max), ")"));
        }
      }
    }
    if (const Entry* f = Find(r, "filters")) {
      Entries fl;
      if (Map(f->value, "relay.filters", {"whitelist", "blacklist"}, &fl)) {
        if (const Entry* w = Find(fl, "whitelist")) {
          Filters(*w, "relay.filters.whitelist", &relay->filters.whitelist);
        }
        if (const Entry* b = Find(fl, "blacklist")) {
          Filters(*b, "relay.filters.blacklist", &relay->filters.blacklist);
        }
      }
    }
  }

  void Document(const YAML::Node& root, const LoadOptions& options, DaemonConfig* cfg) {
    if (root.IsNull()) {
      Error(1,
            "empty config: expected a mapping with at least relay.address "
            "(see config/tierwatch.example.yaml)");
      return;
    }
    Entries top;
    if (!Map(root, "",
             {"relay", "mode", "learn_for", "baseline", "tiers", "policies", "pipeline",
              "recent_drops", "http", "metrics", "suggestions", "log"},
             &top)) {
      return;
    }
    Relay(Find(top, "relay"), &cfg->relay, options, root);
    Choice<Mode>(top, "mode", "mode", {{"learn", Mode::kLearn}, {"watch", Mode::kWatch}},
                 &cfg->mode);
    Duration(top, "learn_for", "learn_for", &cfg->learn_for, /*allow_zero=*/false);

    const Entry* baseline = Find(top, "baseline");
    if (baseline) {
      Entries b;
      if (Map(baseline->value, "baseline", {"path", "save_interval"}, &b)) {
        Path(b, "path", "baseline.path", &cfg->baseline.path);
        Duration(b, "save_interval", "baseline.save_interval", &cfg->baseline.save_interval, false);
      }
    }
    if (cfg->mode == Mode::kLearn && cfg->baseline.path.empty()) {
      const Entry* m = Find(top, "mode");
      Error(baseline ? baseline->key : (m ? m->key : root), "baseline.path",
            "required in learn mode (where the learned baseline is saved and loaded from)");
    }
    Path(top, "tiers", "tiers", &cfg->tiers);
    StringList(top, "policies", "policies", &cfg->policies, /*paths=*/true);

    if (const Entry* p = Find(top, "pipeline")) {
      Entries pe;
      if (Map(p->value, "pipeline", {"queue_capacity", "overflow"}, &pe)) {
        Int(pe, "queue_capacity", "pipeline.queue_capacity", &cfg->pipeline.queue_capacity, 1,
            int64_t{1} << 24);
        Choice<Overflow>(pe, "overflow", "pipeline.overflow",
                         {{"block", Overflow::kBlock}, {"drop", Overflow::kDrop}},
                         &cfg->pipeline.overflow);
      }
    }
    Int(top, "recent_drops", "recent_drops", &cfg->recent_drops, 0, int64_t{1} << 24);
    if (const Entry* h = Find(top, "http")) {
      Entries he;
      if (Map(h->value, "http", {"listen", "bearer_token_file"}, &he)) {
        if (const Entry* t = Find(he, "bearer_token_file")) {
          Scalar(*t, "http.bearer_token_file", &cfg->http.bearer_token_file);
        }
        if (const Entry* l = Find(he, "listen")) {
          std::string v;
          if (Scalar(*l, "http.listen", &v)) {
            std::string host, error;
            int port = 0;
            if (!v.empty() && !ParseListenAddress(v, &host, &port, &error)) {
              Error(l->value, "http.listen", error);
            } else {
              cfg->http.listen = v;
            }
          }
        }
      }
    }
    if (const Entry* m = Find(top, "metrics")) {
      Entries me;
      if (Map(m->value, "metrics", {"max_namespaces"}, &me)) {
        Int(me, "max_namespaces", "metrics.max_namespaces", &cfg->metrics.max_namespaces, 1,
            100000);
      }
    }
    if (const Entry* sg = Find(top, "suggestions")) {
      Entries se;
      if (Map(sg->value, "suggestions", {"max_connections", "interval"}, &se)) {
        Int(se, "max_connections", "suggestions.max_connections", &cfg->suggestions.max_connections,
            0, int64_t{1} << 24);
        Duration(se, "interval", "suggestions.interval", &cfg->suggestions.interval,
                 /*allow_zero=*/false);
      }
    }
    if (const Entry* l = Find(top, "log")) {
      Entries le;
      if (Map(l->value, "log", {"level", "json"}, &le)) {
        Choice<std::string>(le, "level", "log.level",
                            {{"trace", "trace"},
                             {"debug", "debug"},
                             {"info", "info"},
                             {"warn", "warn"},
                             {"error", "error"},
                             {"off", "off"}},
                            &cfg->log.level);
        Bool(le, "json", "log.json", &cfg->log.json);
      }
    }
  }

  // `run --check`: the files the config names, each problem at the line naming it. Only
  // what can be known without reading them as tiers or policies (the caller does that).
  void CheckFiles(const DaemonConfig& cfg, const LoadOptions& options) {
    namespace fs = std::filesystem;
    auto at = [&](const std::string& key, const std::string& flag) {
      auto it = lines_.find(key);
      // A value from the command line has no line: name the flag instead.
      return std::make_pair(it == lines_.end() || !flag.empty() ? 0 : it->second,
                            flag.empty() ? key : absl::StrCat(key, " (", flag, ")"));
    };
    auto readable_file = [&](const std::string& key, const std::string& file,
                             const std::string& flag, const std::string& what) {
      if (file.empty()) return;
      auto [line, name] = at(key, flag);
      std::error_code ec;
      fs::file_status st = fs::status(file, ec);
      if (!fs::exists(st)) {
        Error(line, absl::StrCat(name, ": ", what, " ", file, " does not exist"));
      } else if (!fs::is_regular_file(st)) {
        Error(line, absl::StrCat(name, ": ", what, " ", file, " is not a regular file"));
      } else if (::access(file.c_str(), R_OK) != 0) {
        Error(line, absl::StrCat(name, ": ", what, " ", file,
                                 " is not readable: ", std::strerror(errno)));
      }
    };
    const RelayOverride& o = options.relay;
    readable_file("tiers", cfg.tiers, "", "tier config");
    readable_file("relay.tls.ca_file", cfg.relay.tls.ca_file,
                  o.ca_file.empty() ? "" : "--tls-ca-cert-files", "CA file");
    readable_file("relay.tls.cert_file", cfg.relay.tls.cert_file,
                  o.cert_file.empty() ? "" : "--tls-client-cert-file", "client certificate");
    readable_file("relay.tls.key_file", cfg.relay.tls.key_file,
                  o.key_file.empty() ? "" : "--tls-client-key-file", "client key");
    for (size_t i = 0; i < cfg.policies.size(); ++i) {
      auto [line, name] = at(absl::StrCat("policies[", i, "]"), "");
      if (line == 0) std::tie(line, name) = at("policies", "");
      std::error_code ec;
      if (!fs::exists(cfg.policies[i], ec)) {
        Error(line, absl::StrCat(name, ": ", cfg.policies[i],
                                 " does not exist (a policy file or a "
                                 "directory of them)"));
      } else if (::access(cfg.policies[i].c_str(), R_OK) != 0) {
        Error(line, absl::StrCat(name, ": ", cfg.policies[i],
                                 " is not readable: ", std::strerror(errno)));
      }
    }
    if (!cfg.baseline.path.empty()) {
      auto [line, name] = at("baseline.path", "");
      fs::path file(cfg.baseline.path);
      fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
      std::error_code ec;
      if (!fs::is_directory(dir, ec)) {
        Error(line, absl::StrCat(name, ": the directory ", dir.string(),
                                 " does not exist (the baseline is saved there)"));
      } else if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        Error(line, absl::StrCat(
                        name, ": the directory ", dir.string(),
                        " is not writable (the baseline is saved there): ", std::strerror(errno)));
      } else if (fs::exists(file, ec) && !fs::is_regular_file(file, ec)) {
        Error(line, absl::StrCat(name, ": ", file.string(), " is not a regular file"));
      } else if (cfg.mode == Mode::kWatch && !fs::exists(file, ec)) {
        Error(line, absl::StrCat(name, ": ", file.string(),
                                 " does not exist; watch mode compares traffic with a baseline "
                                 "learned before (mode: learn, or `tierwatch baseline learn`)"));
      }
    }
  }

 private:
  std::string file_;
  std::filesystem::path base_dir_;
  std::vector<Diagnostic>* errors_;
  std::map<std::string, int> lines_;  // config key path -> line of its value
};

}  // namespace

bool ParseListenAddress(absl::string_view listen, std::string* host, int* port,
                        std::string* error) {
  const std::string example =
      "expected HOST:PORT such as \":9977\", \"0.0.0.0:9977\" or "
      "\"127.0.0.1:9977\" (\"\" turns the HTTP server off)";
  size_t colon = listen.rfind(':');
  if (colon == absl::string_view::npos) {
    *error = absl::StrCat(example, ", got \"", listen, "\" (no port)");
    return false;
  }
  absl::string_view h = listen.substr(0, colon);
  absl::string_view p = listen.substr(colon + 1);
  if (absl::ConsumePrefix(&h, "[")) {
    if (!absl::ConsumeSuffix(&h, "]")) {
      *error = absl::StrCat(example, ", got \"", listen, "\" (unbalanced [ ])");
      return false;
    }
  } else if (h.find(':') != absl::string_view::npos) {
    *error = absl::StrCat(example, ", got \"", listen, "\" (write IPv6 hosts as [::1]:9977)");
    return false;
  }
  int n = 0;
  if (p.empty() || !absl::SimpleAtoi(p, &n) || n < 0 || n > 65535) {
    *error = absl::StrCat(example, ", got \"", listen, "\" (port \"", p, "\")");
    return false;
  }
  *host = std::string(h);
  *port = n;
  return true;
}

// Where each document of a stream starts, parsing at most `max` documents. yaml-cpp 0.7's
// LoadAll never returns on some malformed streams (a lone ",": jbeder/yaml-cpp#1040, found
// by fuzz/fuzz_daemon_config), so documents are counted with a bounded event parse.
class DocumentStarts : public YAML::EventHandler {
 public:
  static std::vector<YAML::Mark> Of(const std::string& text, size_t max) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentStarts h;
    while (h.starts_.size() < max && parser.HandleNextDocument(h)) {
    }
    return h.starts_;
  }
  void OnDocumentStart(const YAML::Mark& m) override { starts_.push_back(m); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  std::vector<YAML::Mark> starts_;
};

ParsedConfig Parse(absl::string_view yaml, const std::string& file, const LoadOptions& options) {
  ParsedConfig result;
  result.config.file = file;
  const std::string name = file.empty() ? "<config>" : file;
  Reader reader(name, file, &result.errors);
  std::vector<YAML::Node> docs;
  std::vector<YAML::Mark> starts;
  try {
    starts = DocumentStarts::Of(std::string(yaml), 2);
    if (!starts.empty()) docs.push_back(YAML::Load(std::string(yaml)));
  } catch (const YAML::Exception& e) {
    result.errors.push_back(Diagnostic::Error(
        name, e.mark.is_null() ? 0 : e.mark.line + 1,
        absl::StrCat("YAML syntax error: ", tw::yaml::LoadErrorMessage(e),
                     e.mark.is_null() ? "" : absl::StrCat(" (column ", e.mark.column + 1, ")"))));
    return result;
  }
  if (starts.size() > 1) {
    result.errors.push_back(Diagnostic::Error(
        name, starts[1].line + 1, "a config file holds one YAML document; found another"));
  }
  for (const YAML::Node& doc : docs) {
    std::vector<tw::yaml::TreeProblem> problems =
        tw::yaml::CheckTree(doc, tw::yaml::LimitsFor(yaml.size()));
    for (const tw::yaml::TreeProblem& p : problems) {
      Diagnostic d = Diagnostic::Error(name, p.line, p.message, p.column);
      d.path = p.path;
      result.errors.push_back(std::move(d));
    }
    // Interpreting a tree that blew the budget would do the expansion we just refused.
    if (tw::yaml::HasLimitProblem(problems)) return result;
  }
  try {
    reader.Document(docs.empty() ? YAML::Node() : docs[0], options, &result.config);
    if (options.check_files) reader.CheckFiles(result.config, options);
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws on some malformed trees (e.g. aliases to nowhere); keep what we have.
    result.errors.push_back(
        Diagnostic::Error(name, e.mark.is_null() ? 0 : e.mark.line + 1,
                          absl::StrCat("unreadable YAML: ", tw::yaml::LoadErrorMessage(e))));
  }
  return result;
}

ParsedConfig LoadFile(const std::string& path, const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ParsedConfig result;
    result.config.file = path;
    result.errors.push_back(Diagnostic::Error(
        path, 0, absl::StrCat("cannot read the config file: ", std::strerror(errno))));
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path, options);
}

}  // namespace tw::config
