#include "config/config.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

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

// The value of `key` in `map`, undefined when `map` holds no such key or is not a mapping (an
// absent or empty section): yaml-cpp throws when a missing node is indexed further.
YAML::Node Get(const YAML::Node& map, const char* key) {
  if (map.IsMap()) {
    if (const YAML::Node v = map[key]) return v;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

// Walks the document, filling the config and collecting errors; never throws. The typed
// reads and their wording are tw::yaml::Reader's; what is the config's own is here: paths
// relative to the config file, the command line's relay flags, the relay filters kept as
// trees, and the position of each path for `run --check`.
class ConfigReader : public tw::yaml::Reader {
 public:
  // `name` labels errors; relative paths resolve against the directory of `file`.
  ConfigReader(std::string name, const std::string& file) : Reader(std::move(name)) {
    if (!file.empty()) base_dir_ = std::filesystem::path(file).parent_path();
  }

  using Reader::Error;
  // A problem with no node to point at (the whole file, or a command-line flag at line 0).
  void Error(int line, std::string message) { ErrorAt(line, 0, "", std::move(message)); }

  // A path setting: "" when left empty, else resolved against the config file's directory.
  void Path(const YAML::Node& n, const std::string& path, std::string* out) {
    if (StringOrEmpty(n, path, out)) *out = ResolvePath(*out);
  }

  std::string ResolvePath(const std::string& p) const {
    if (p.empty() || base_dir_.empty()) return p;
    std::filesystem::path fp(p);
    if (fp.is_absolute()) return p;
    return (base_dir_ / fp).lexically_normal().string();
  }

  void Filters(const YAML::Node& n, const std::string& path, std::vector<YamlValue>* out) {
    if (n.IsNull()) return;
    if (!n.IsSequence()) {
      Error(n, path,
            absl::StrCat("expected a list of Hubble flow filters (e.g. \"- verdict: [DROPPED]\"), "
                         "got ",
                         tw::yaml::Describe(n)));
      return;
    }
    for (size_t i = 0; i < n.size(); ++i) {
      const YAML::Node f = n[i];
      if (!f.IsMap()) {
        Error(f, absl::StrCat(path, "[", i, "]"),
              absl::StrCat("expected a flow filter mapping (e.g. \"verdict: [DROPPED]\"), got ",
                           tw::yaml::Describe(f)));
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

  void Relay(const YAML::Node& root, RelayConfig* relay, const LoadOptions& options) {
    const YAML::Node r = Get(root, "relay");
    if (r && !MapOrEmpty(r, "relay",
                         {"address", "backlog", "tls", "keepalive", "resume_window", "backoff",
                          "filters"})) {
      return;
    }
    if (const YAML::Node a = Get(r, "address")) StringOrEmpty(a, "relay.address", &relay->address);
    if (!options.relay.address.empty()) relay->address = options.relay.address;
    if (relay->address.empty() && options.require_relay_address) {
      if (r) {
        Error(tw::yaml::KeyNode(root, "relay"), "relay.address",
              "required: the Hubble Relay to read flows from, e.g. "
              "hubble-relay.kube-system.svc.cluster.local:80");
      } else {
        Error(root, "relay.address",
              "required: add a relay section with the Hubble Relay address, e.g. "
              "\"relay: {address: hubble-relay.kube-system.svc.cluster.local:80}\"");
      }
    }
    if (const YAML::Node b = Get(r, "backlog")) {
      std::string v;
      if (StringOrEmpty(b, "relay.backlog", &v)) {
        if (v == "none" || v.empty()) {
          relay->backlog = Backlog{};
        } else if (v == "all") {
          relay->backlog = Backlog{Backlog::Kind::kAll, absl::ZeroDuration()};
        } else if (auto d = tw::ParseDuration(v); d.ok() && *d > absl::ZeroDuration()) {
          relay->backlog = Backlog{Backlog::Kind::kDuration, *d};
        } else {
          Error(b, "relay.backlog",
                absl::StrCat("expected none, all or a duration such as 10m, got \"", v, "\""));
        }
      }
    }
    if (const YAML::Node t = Get(r, "tls")) {
      if (MapOrEmpty(t, "relay.tls",
                     {"enabled", "ca_file", "cert_file", "key_file", "server_name"})) {
        if (const YAML::Node v = Get(t, "enabled"))
          Bool(v, "relay.tls.enabled", &relay->tls.enabled);
        if (const YAML::Node v = Get(t, "ca_file"))
          Path(v, "relay.tls.ca_file", &relay->tls.ca_file);
        if (const YAML::Node v = Get(t, "cert_file")) {
          Path(v, "relay.tls.cert_file", &relay->tls.cert_file);
        }
        if (const YAML::Node v = Get(t, "key_file"))
          Path(v, "relay.tls.key_file", &relay->tls.key_file);
        if (const YAML::Node v = Get(t, "server_name")) {
          StringOrEmpty(v, "relay.tls.server_name", &relay->tls.server_name);
        }
        const YAML::Node key = tw::yaml::KeyNode(r, "tls");
        if (relay->tls.cert_file.empty() != relay->tls.key_file.empty()) {
          Error(key, "relay.tls",
                "cert_file and key_file go together (mTLS needs the client certificate and its "
                "key)");
        }
        if (!relay->tls.enabled && (!relay->tls.ca_file.empty() || !relay->tls.cert_file.empty())) {
          Error(key, "relay.tls",
                "certificate files are given but enabled is false; set \"enabled: true\"");
        }
      }
    }
    OverrideTls(options.relay, &relay->tls);
    if (const YAML::Node v = Get(r, "keepalive")) {
      PositiveDuration(v, "relay.keepalive", &relay->keepalive);
    }
    if (const YAML::Node v = Get(r, "resume_window")) {
      Duration(v, "relay.resume_window", &relay->resume_window);
    }
    if (const YAML::Node b = Get(r, "backoff")) {
      if (MapOrEmpty(b, "relay.backoff", {"initial", "max"})) {
        if (const YAML::Node v = Get(b, "initial")) {
          PositiveDuration(v, "relay.backoff.initial", &relay->backoff.initial);
        }
        if (const YAML::Node v = Get(b, "max")) {
          PositiveDuration(v, "relay.backoff.max", &relay->backoff.max);
        }
        if (relay->backoff.initial > relay->backoff.max) {
          Error(
              tw::yaml::KeyNode(r, "backoff"), "relay.backoff",
              absl::StrCat("initial (", tw::FormatDuration(relay->backoff.initial),
                           ") is longer than max (", tw::FormatDuration(relay->backoff.max), ")"));
        }
      }
    }
    if (const YAML::Node f = Get(r, "filters")) {
      if (MapOrEmpty(f, "relay.filters", {"whitelist", "blacklist"})) {
        if (const YAML::Node w = Get(f, "whitelist")) {
          Filters(w, "relay.filters.whitelist", &relay->filters.whitelist);
        }
        if (const YAML::Node b = Get(f, "blacklist")) {
          Filters(b, "relay.filters.blacklist", &relay->filters.blacklist);
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
    if (!Map(root, "config",
             {"relay", "mode", "learn_for", "baseline", "tiers", "policies", "pipeline",
              "recent_drops", "http", "metrics", "suggestions", "log"})) {
      return;
    }
    Relay(root, &cfg->relay, options);
    // An unreadable mode says so once: no consequence is drawn from the default it left.
    bool mode_known = true;
    if (const YAML::Node v = Get(root, "mode")) {
      mode_known =
          Choice<Mode>(v, "mode", {{"learn", Mode::kLearn}, {"watch", Mode::kWatch}}, &cfg->mode);
    }
    if (const YAML::Node v = Get(root, "learn_for"))
      PositiveDuration(v, "learn_for", &cfg->learn_for);

    const YAML::Node baseline = Get(root, "baseline");
    if (baseline && MapOrEmpty(baseline, "baseline", {"path", "save_interval"})) {
      if (const YAML::Node v = Get(baseline, "path")) Path(v, "baseline.path", &cfg->baseline.path);
      if (const YAML::Node v = Get(baseline, "save_interval")) {
        PositiveDuration(v, "baseline.save_interval", &cfg->baseline.save_interval);
      }
    }
    if (mode_known && cfg->mode == Mode::kLearn && cfg->baseline.path.empty()) {
      const YAML::Node at = baseline            ? tw::yaml::KeyNode(root, "baseline")
                            : Get(root, "mode") ? tw::yaml::KeyNode(root, "mode")
                                                : root;
      Error(at, "baseline.path",
            "required in learn mode (where the learned baseline is saved and loaded from)");
    }
    if (const YAML::Node v = Get(root, "tiers")) Path(v, "tiers", &cfg->tiers);
    if (const YAML::Node v = Get(root, "policies")) {
      StringList(v, "policies", &cfg->policies);
      for (std::string& p : cfg->policies) p = ResolvePath(p);
    }

    if (const YAML::Node p = Get(root, "pipeline")) {
      if (MapOrEmpty(p, "pipeline", {"queue_capacity", "overflow"})) {
        if (const YAML::Node v = Get(p, "queue_capacity")) {
          Int(v, "pipeline.queue_capacity", 1, int64_t{1} << 24, &cfg->pipeline.queue_capacity);
        }
        if (const YAML::Node v = Get(p, "overflow")) {
          Choice<Overflow>(v, "pipeline.overflow",
                           {{"block", Overflow::kBlock}, {"drop", Overflow::kDrop}},
                           &cfg->pipeline.overflow);
        }
      }
    }
    if (const YAML::Node v = Get(root, "recent_drops")) {
      Int(v, "recent_drops", 0, int64_t{1} << 24, &cfg->recent_drops);
    }
    if (const YAML::Node h = Get(root, "http")) {
      if (MapOrEmpty(h, "http", {"listen", "bearer_token_file"})) {
        if (const YAML::Node t = Get(h, "bearer_token_file")) {
          StringOrEmpty(t, "http.bearer_token_file", &cfg->http.bearer_token_file);
        }
        if (const YAML::Node l = Get(h, "listen")) {
          std::string v;
          if (StringOrEmpty(l, "http.listen", &v)) {
            std::string host, error;
            int port = 0;
            if (!v.empty() && !ParseListenAddress(v, &host, &port, &error)) {
              Error(l, "http.listen", error);
            } else {
              cfg->http.listen = v;
            }
          }
        }
      }
    }
    if (const YAML::Node m = Get(root, "metrics")) {
      if (MapOrEmpty(m, "metrics", {"max_namespaces"})) {
        if (const YAML::Node v = Get(m, "max_namespaces")) {
          Int(v, "metrics.max_namespaces", 1, 100000, &cfg->metrics.max_namespaces);
        }
      }
    }
    if (const YAML::Node sg = Get(root, "suggestions")) {
      if (MapOrEmpty(sg, "suggestions", {"max_connections", "interval"})) {
        if (const YAML::Node v = Get(sg, "max_connections")) {
          Int(v, "suggestions.max_connections", 0, int64_t{1} << 24,
              &cfg->suggestions.max_connections);
        }
        if (const YAML::Node v = Get(sg, "interval")) {
          PositiveDuration(v, "suggestions.interval", &cfg->suggestions.interval);
        }
      }
    }
    if (const YAML::Node l = Get(root, "log")) {
      if (MapOrEmpty(l, "log", {"level", "json"})) {
        if (const YAML::Node v = Get(l, "level")) {
          Choice<std::string>(v, "log.level",
                              {{"trace", "trace"},
                               {"debug", "debug"},
                               {"info", "info"},
                               {"warn", "warn"},
                               {"error", "error"},
                               {"off", "off"}},
                              &cfg->log.level);
        }
        if (const YAML::Node v = Get(l, "json")) Bool(v, "log.json", &cfg->log.json);
      }
    }
  }

  // `run --check`: the files the config names, each problem at the value naming it. Only
  // what can be known without reading them as tiers or policies (the caller does that).
  void CheckFiles(const DaemonConfig& cfg, const LoadOptions& options) {
    namespace fs = std::filesystem;
    // Where `key` was read, and the name to report it by; a value from the command line has
    // no position: the flag is named instead.
    struct Place {
      Position pos;
      std::string name;
    };
    auto at = [&](const std::string& key, const std::string& flag) {
      auto it = positions_.find(key);
      if (!flag.empty()) return Place{Position{}, absl::StrCat(key, " (", flag, ")")};
      return Place{it == positions_.end() ? Position{} : it->second, key};
    };
    auto error = [&](const Place& p, std::string message) {
      ErrorAt(p.pos.line, p.pos.column, p.name, std::move(message));
    };
    auto readable_file = [&](const std::string& key, const std::string& file,
                             const std::string& flag, const std::string& what) {
      if (file.empty()) return;
      const Place p = at(key, flag);
      std::error_code ec;
      fs::file_status st = fs::status(file, ec);
      if (!fs::exists(st)) {
        error(p, absl::StrCat(what, " ", file, " does not exist"));
      } else if (!fs::is_regular_file(st)) {
        error(p, absl::StrCat(what, " ", file, " is not a regular file"));
      } else if (::access(file.c_str(), R_OK) != 0) {
        error(p, absl::StrCat(what, " ", file, " is not readable: ", std::strerror(errno)));
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
      Place p = at(absl::StrCat("policies[", i, "]"), "");
      if (p.pos.line == 0) p = at("policies", "");
      std::error_code ec;
      if (!fs::exists(cfg.policies[i], ec)) {
        error(p, absl::StrCat(cfg.policies[i],
                              " does not exist (a policy file or a directory of them)"));
      } else if (::access(cfg.policies[i].c_str(), R_OK) != 0) {
        error(p, absl::StrCat(cfg.policies[i], " is not readable: ", std::strerror(errno)));
      }
    }
    if (!cfg.baseline.path.empty()) {
      const Place p = at("baseline.path", "");
      fs::path file(cfg.baseline.path);
      fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
      std::error_code ec;
      if (!fs::is_directory(dir, ec)) {
        error(p, absl::StrCat("the directory ", dir.string(),
                              " does not exist (the baseline is saved there)"));
      } else if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        error(p, absl::StrCat(
                     "the directory ", dir.string(),
                     " is not writable (the baseline is saved there): ", std::strerror(errno)));
      } else if (fs::exists(file, ec) && !fs::is_regular_file(file, ec)) {
        error(p, absl::StrCat(file.string(), " is not a regular file"));
      } else if (cfg.mode == Mode::kWatch && !fs::exists(file, ec)) {
        error(p, absl::StrCat(file.string(),
                              " does not exist; watch mode compares traffic with a baseline "
                              "learned before (mode: learn, or `tierwatch baseline learn`)"));
      }
    }
  }

 protected:
  void Visited(const std::string& path, const YAML::Node& n) override {
    const YAML::Mark m = n.Mark();
    if (!m.is_null()) positions_[path] = Position{m.line + 1, m.column + 1};
  }

 private:
  struct Position {
    int line = 0;  // 1-based; 0 = none
    int column = 0;
  };
  std::filesystem::path base_dir_;
  std::map<std::string, Position> positions_;  // config key path -> where its value is
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
  ConfigReader reader(file.empty() ? "<config>" : file, file);
  auto error_at = [&](const YAML::Mark& m, std::string message) {
    if (m.is_null()) {
      reader.ErrorAt(0, 0, "", std::move(message));
    } else {
      reader.ErrorAt(m.line + 1, m.column + 1, "", std::move(message));
    }
  };
  std::vector<YAML::Node> docs;
  std::vector<YAML::Mark> starts;
  bool readable = true;
  try {
    starts = DocumentStarts::Of(std::string(yaml), 2);
    if (!starts.empty()) docs.push_back(YAML::Load(std::string(yaml)));
  } catch (const YAML::Exception& e) {
    error_at(e.mark, absl::StrCat("YAML syntax error: ", tw::yaml::LoadErrorMessage(e)));
    readable = false;
  }
  if (readable && starts.size() > 1) {
    error_at(starts[1], "a config file holds one YAML document; found another");
  }
  for (const YAML::Node& doc : docs) {
    std::vector<tw::yaml::TreeProblem> problems =
        tw::yaml::CheckTree(doc, tw::yaml::LimitsFor(yaml.size()));
    for (const tw::yaml::TreeProblem& p : problems) {
      reader.ErrorAt(p.line, p.column, p.path, p.message);
    }
    // Interpreting a tree that blew the budget would do the expansion we just refused.
    if (tw::yaml::HasLimitProblem(problems)) readable = false;
  }
  if (readable) {
    try {
      reader.Document(docs.empty() ? YAML::Node() : docs[0], options, &result.config);
      if (options.check_files) reader.CheckFiles(result.config, options);
    } catch (const YAML::Exception& e) {
      // yaml-cpp throws on some malformed trees (e.g. aliases to nowhere); keep what we have.
      error_at(e.mark, absl::StrCat("unreadable YAML: ", tw::yaml::LoadErrorMessage(e)));
    }
  }
  result.errors = std::move(reader.diagnostics());
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
