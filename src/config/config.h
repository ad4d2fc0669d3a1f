// The daemon's configuration (`tierwatch run --config FILE`): YAML in, plain option structs
// out, one struct per module, so each module takes only its own options.
//
//   tw::config::ParsedConfig r = tw::config::LoadFile("/etc/tierwatch/tierwatch.yaml");
//   if (!r.errors.empty()) {                       // every problem, each with file:line
//     for (const auto& e : r.errors) std::cerr << e.ToString() << "\n";
//     return 2;
//   }
//   const tw::config::DaemonConfig& cfg = r.config;
//   cfg.relay.address;         // "hubble-relay.kube-system.svc.cluster.local:80"
//   cfg.mode;                  // Mode::kLearn
//   cfg.learn_for;             // absl::Hours(168)
//
// config/tierwatch.example.yaml documents every key; docs/config.md explains them.
//
// Validation never stops at the first problem: unknown or duplicate keys, wrong types, bad
// durations or numbers, a mode other than learn|watch, a missing relay address... are all
// collected, each as "FILE:LINE:COLUMN: error: key.path: expected X, got Y" (the wording of
// tw::yaml::Reader, which every YAML reader shares). Only a YAML syntax error ends parsing
// early (nothing after it can be trusted).
//
// Relative paths (baseline.path, tiers, policies, TLS files) are resolved against the
// directory of the config file, so a config and the files it names can move together.
//
// Relay filters are kept as a protobuf-free YAML tree (YamlValue): the composition root
// (app/filter_config.h) maps them onto Hubble's flow.FlowFilter, where the field names and
// enum values are known, and reports errors with the lines recorded here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/diagnostic.h"

namespace tw::config {

// A YAML fragment kept as a tree for another module to interpret (relay filters).
struct YamlValue {
  enum class Kind : uint8_t { kNull, kScalar, kList, kMap };
  Kind kind = Kind::kNull;
  std::string scalar;            // kScalar
  bool quoted = false;           // kScalar written in quotes ("5" is a string, 5 may be a number)
  int line = 0;                  // 1-based line of the value
  std::string key;               // set when this value is an entry of a kMap
  int key_line = 0;              // 1-based line of that key
  std::vector<YamlValue> items;  // kList elements, or kMap entries (each with `key`)

  // Equal content, ignoring line numbers (a config reload that only moved lines changes
  // nothing).
  static bool SameContent(const YamlValue& a, const YamlValue& b);
  // Compact YAML flow form for logs and errors: {verdict: [DROPPED, AUDIT]}.
  std::string ToString() const;
};

enum class Mode : uint8_t { kLearn, kWatch };
absl::string_view ModeName(Mode mode);  // "learn", "watch"

struct TlsConfig {
  bool enabled = false;
  std::string ca_file;      // PEM CA bundle verifying the relay; "" = system roots
  std::string cert_file;    // client certificate for mTLS ("" = no client auth)
  std::string key_file;     // its private key
  std::string server_name;  // overrides the name checked in the relay's certificate
  friend bool operator==(const TlsConfig& a, const TlsConfig& b);
};

struct BackoffConfig {
  absl::Duration initial = absl::Milliseconds(200);
  absl::Duration max = absl::Seconds(30);
};

// Hubble FlowFilters in their YAML form: each element of whitelist/blacklist is a kMap
// whose keys are flow.FlowFilter field names (verdict, source_pod, event_type, ...).
struct FiltersConfig {
  std::vector<YamlValue> whitelist;
  std::vector<YamlValue> blacklist;
};

// Where the stream starts on the first connection (reconnects resume after the last flow).
struct Backlog {
  enum class Kind : uint8_t {
    kNone,      // "none": only flows that happen from now on
    kAll,       // "all": everything Hubble still holds in its ring buffers, then follow
    kDuration,  // e.g. "10m": what Hubble holds from that long ago on, then follow
  };
  Kind kind = Kind::kNone;
  absl::Duration duration;  // kDuration
  friend bool operator==(const Backlog& a, const Backlog& b) {
    return a.kind == b.kind && a.duration == b.duration;
  }
};

struct RelayConfig {
  std::string address;  // host:port of Hubble Relay
  Backlog backlog;
  TlsConfig tls;
  absl::Duration keepalive = absl::Seconds(30);
  absl::Duration resume_window = absl::Seconds(2);
  BackoffConfig backoff;
  FiltersConfig filters;
  // Whether a reload must reconnect (address, TLS, keepalive, backoff, window or filters
  // differ).
  friend bool operator==(const RelayConfig& a, const RelayConfig& b);
  friend bool operator!=(const RelayConfig& a, const RelayConfig& b) { return !(a == b); }
};

struct BaselineConfig {
  std::string path;  // snapshot file; required in learn mode
  absl::Duration save_interval = absl::Minutes(5);
};

// What the pipeline does when its queue is full (see app/pipeline.h).
enum class Overflow : uint8_t { kBlock, kDrop };
absl::string_view OverflowName(Overflow o);  // "block", "drop"

struct PipelineConfig {
  int64_t queue_capacity = 65536;  // events
  Overflow overflow = Overflow::kBlock;
};

// The HTTP server: /metrics, /healthz, /readyz and the JSON API (docs/api.md).
struct HttpConfig {
  // HOST:PORT; ":9977" = every interface; "" = no HTTP server. Port 0 picks a free port
  // (tests), which the daemon logs.
  std::string listen = ":9977";
  // A file holding a bearer token: when set, every request but /healthz and /readyz must
  // carry "Authorization: Bearer <token>" (docs/api.md#authentication). "" = no auth.
  std::string bearer_token_file;
};

// Prometheus series limits (docs/metrics.md).
struct MetricsConfig {
  // Most distinct values of the namespace label of tierwatch_drops_total; drops of further
  // namespaces count under namespace="_other".
  int64_t max_namespaces = 200;
};

// The suggested allow rules the daemon keeps for its drops (docs/suggest.md "Live").
struct SuggestionsConfig {
  // Most distinct connections kept (drops classified baseline_regression, platform_blocked,
  // metrics_scrape_blocked, dns_blocked); drops of further connections are counted, not
  // kept. 0 turns live suggestions off.
  int64_t max_connections = 10000;
  // Least time between two computations of the suggestion set (each also waits ten times
  // as long as the previous one took).
  absl::Duration interval = absl::Seconds(10);
  friend bool operator==(const SuggestionsConfig& a, const SuggestionsConfig& b) {
    return a.max_connections == b.max_connections && a.interval == b.interval;
  }
  friend bool operator!=(const SuggestionsConfig& a, const SuggestionsConfig& b) {
    return !(a == b);
  }
};

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error, off
  bool json = false;
};

struct DaemonConfig {
  std::string file;  // the file this was read from ("" when parsed from a string)
  RelayConfig relay;
  Mode mode = Mode::kLearn;
  absl::Duration learn_for = absl::Hours(168);
  BaselineConfig baseline;
  std::string tiers;                  // tier model file; "" = built-in default model
  std::vector<std::string> policies;  // policy files/directories; empty = none
  PipelineConfig pipeline;
  int64_t recent_drops = 1000;  // size of the ring of recent drops kept for the API
  HttpConfig http;
  MetricsConfig metrics;
  SuggestionsConfig suggestions;
  LogConfig log;
};

// Splits an http.listen value into host ("" = every interface) and port. False (with
// `error` saying why) when it is not HOST:PORT, [IPv6]:PORT or :PORT with a port 0-65535.
bool ParseListenAddress(absl::string_view listen, std::string* host, int* port, std::string* error);

// Relay settings given on the command line (`tierwatch run --relay ... --tls...`): each
// non-empty field replaces the config's, on start and on every reload. Paths are as given
// (relative to the working directory, not to the config file).
struct RelayOverride {
  std::string address;
  bool tls = false;  // true turns TLS on; false leaves the config's choice
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
  bool empty() const {
    return address.empty() && !tls && ca_file.empty() && cert_file.empty() && key_file.empty() &&
           server_name.empty();
  }
};

struct LoadOptions {
  // `tierwatch run --capture` reads files instead of a relay: then relay.address may be
  // absent.
  bool require_relay_address = true;
  RelayOverride relay;
  // `run --check`: also check the files the config names, each error at the line naming
  // it — tiers and TLS files readable, policy paths present, the baseline's directory
  // writable, and in watch mode the baseline file present.
  bool check_files = false;
};

struct ParsedConfig {
  DaemonConfig config;             // as far as it could be read (defaults elsewhere)
  std::vector<Diagnostic> errors;  // empty = valid; DiagnosticsToStatus makes them one status
  bool ok() const { return errors.empty(); }
};

// Reads and validates a config file. A file that cannot be read is one error at line 0.
ParsedConfig LoadFile(const std::string& path, const LoadOptions& options = {});
// Same from text; `file` names it in errors and is the base for relative paths.
ParsedConfig Parse(absl::string_view yaml, const std::string& file,
                   const LoadOptions& options = {});

}  // namespace tw::config
