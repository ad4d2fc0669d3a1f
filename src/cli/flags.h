// Shared flag helpers so every subcommand speaks the same dialect:
//   --capture FILE... (one flag, several files, "-" = stdin), --policies PATH...,
//   -o FORMAT for the format and --out FILE for an output file, durations like
//   30s/5m/168h, times in RFC 3339, --log-level, and one set of relay/TLS flags.
//
//   RelayFlags relay;
//   relay.AddTo(cmd);                         // --relay/--server, --tls..., --connect-timeout
//   AddCaptureOption(cmd, &captures);         // --capture a.jsonl b.jsonl -
//   ...
//   sources::RelayClientOptions o = relay.ToOptions();
//   config::RelayOverride over = *relay.ToConfigOverride();   // `run`: flags win over the config
#pragma once

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/http.h"
#include "config/config.h"
#include "sources/relay/relay_client.h"

namespace tw::cli {

// --capture FILE... (repeatable, several files per flag); "-" reads standard input.
// `aliases` are extra names ("--flows", "--input-file").
CLI::Option* AddCaptureOption(CLI::App* cmd, std::vector<std::string>* files,
                              const std::string& names = "--capture");
// --policies PATH... (files or directories of CNP/CCNP/KNP YAML).
CLI::Option* AddPoliciesOption(CLI::App* cmd, std::vector<std::string>* paths);
// -o/--output with the allowed formats (first is the default).
CLI::Option* AddOutputOption(CLI::App* cmd, std::string* format,
                             const std::vector<std::string>& formats);
// A duration flag parsed with tw::ParseDuration ("30s", "5m", "168h"). Zero and negative
// durations are refused unless `allow_zero`.
CLI::Option* AddDurationOption(CLI::App* cmd, const std::string& name, absl::Duration* out,
                               const std::string& help, bool allow_zero = false);
// A count flag (--last N, --top N): a whole number >= 1.
CLI::Option* AddCountOption(CLI::App* cmd, const std::string& name, uint64_t* out,
                            const std::string& help);
// Global --log-level (default warn for one-shot commands, so stdout/stderr stay readable).
void AddLoggingOptions(CLI::App* app, std::string* level, bool* json);

// The Hubble Relay connection, with hubble's flag names: --relay (alias --server, as
// hubble), --tls, --tls-ca-cert-files, --tls-client-cert-file, --tls-client-key-file,
// --tls-server-name, --connect-timeout. Giving a CA file or a client certificate turns TLS
// on, as does a tls:// address.
struct RelayFlags {
  std::string address;
  bool tls = false;
  std::vector<std::string> tls_ca_files;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_server_name;
  absl::Duration connect_timeout = absl::Seconds(10);

  // Adds the flags to `cmd` (the TLS ones in the "TLS" group). The daemon retries forever
  // and takes no --connect-timeout (`connect_timeout` false); `suggest` uses --server for
  // a daemon's HTTP address (`server_alias` false).
  void AddTo(CLI::App* cmd, bool connect_timeout = true, bool server_alias = true);
  bool given() const { return !address.empty(); }
  // Options for a command's RelayClient: fail_if_unreachable (a command gives up when it
  // never connected within --connect-timeout; only the daemon retries forever).
  sources::RelayClientOptions ToOptions() const;
  // `tierwatch run`: the flags given, as overrides of the config's relay section. Fails when
  // more than one CA file is given (the config holds one, relay.tls.ca_file).
  absl::StatusOr<config::RelayOverride> ToConfigOverride() const;
};

// The daemon's HTTP API, for the on-call commands (drops, explain, suggest --server):
// --server URL and --token-file FILE (the bearer token a daemon with
// http.bearer_token_file wants; read from a file so it stays out of shell history and ps).
struct ServerFlags {
  std::string server = "http://127.0.0.1:9977";
  std::string token_file;

  // `with_default` false for `suggest`, where --server is one source of several and has no
  // default (empty = not given).
  void AddTo(CLI::App* cmd, bool with_default = true);
  // The request options: the token read from --token-file (a clear error when unreadable).
  absl::StatusOr<api::HttpGetOptions> ToOptions() const;
};

}  // namespace tw::cli
