#include "cli/flags.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/time_format.h"

namespace tw::cli {

CLI::Option* AddCaptureOption(CLI::App* cmd, std::vector<std::string>* files,
                              const std::string& names) {
  // Several files after one flag (--capture dir/*.jsonl) as well as the flag repeated.
  return cmd
      ->add_option(names, *files,
                   "Capture files in `hubble observe -o jsonpb` form (one JSON object a line); "
                   "several after one flag or the flag repeated; - reads standard input")
      ->type_name("FILE")
      ->expected(1, CLI::detail::expected_max_vector_size)
      ->allow_extra_args(true);
}

CLI::Option* AddPoliciesOption(CLI::App* cmd, std::vector<std::string>* paths) {
  return cmd
      ->add_option("--policies", *paths,
                   "CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy YAML "
                   "files or directories (searched recursively)")
      ->type_name("PATH")
      ->expected(1, CLI::detail::expected_max_vector_size)
      ->allow_extra_args(true);
}

CLI::Option* AddOutputOption(CLI::App* cmd, std::string* format,
                             const std::vector<std::string>& formats) {
  *format = formats.front();
  std::string joined;
  for (const auto& f : formats) joined += (joined.empty() ? "" : "|") + f;
  return cmd
      ->add_option("-o,--output", *format,
                   absl::StrCat("Output format: ", joined, " (default ", formats.front(), ")"))
      ->check(CLI::IsMember(formats).description(""))
      ->type_name("FORMAT");
}

CLI::Option* AddDurationOption(CLI::App* cmd, const std::string& name, absl::Duration* out,
                               const std::string& help, bool allow_zero) {
  return cmd
      ->add_option_function<std::string>(
          name,
          [out, name, allow_zero](const std::string& v) {
            auto d = tw::ParseDuration(v);
            if (!d.ok()) throw CLI::ValidationError(name, std::string(d.status().message()));
            if (*d < absl::ZeroDuration() || (*d == absl::ZeroDuration() && !allow_zero)) {
              throw CLI::ValidationError(
                  name, absl::StrCat("\"", v, "\": expected a duration greater than 0 (30s, 5m)"));
            }
            *out = *d;
          },
          help)
      ->type_name("DURATION");
}

CLI::Option* AddCountOption(CLI::App* cmd, const std::string& name, uint64_t* out,
                            const std::string& help) {
  return cmd
      ->add_option_function<std::string>(
          name,
          [out, name](const std::string& v) {
            uint64_t n = 0;
            if (v.empty() || v[0] == '-' || v[0] == '+' || !absl::SimpleAtoi(v, &n) || n == 0) {
              throw CLI::ValidationError(name,
                                         absl::StrCat("\"", v, "\": expected a whole number >= 1"));
            }
            *out = n;
          },
          help)
      ->type_name("N");
}

void AddLoggingOptions(CLI::App* app, std::string* level, bool* json) {
  app->add_option("--log-level", *level,
                  "Log level on stderr: trace|debug|info|warn|error|off (default warn)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}).description(""))
      ->type_name("LEVEL");
  app->add_flag("--log-json", *json, "Write logs as JSON lines");
}

void RelayFlags::AddTo(CLI::App* cmd, bool with_connect_timeout, bool server_alias) {
  cmd->add_option(server_alias ? "--relay,--server" : "--relay", address,
                  "Hubble Relay (or agent) address HOST:PORT; tls://HOST:PORT turns TLS on")
      ->type_name("ADDR");
  if (with_connect_timeout) {
    AddDurationOption(cmd, "--connect-timeout", &connect_timeout,
                      "Give up when the relay cannot be reached within this long (default 10s)");
  }
  cmd->add_flag("--tls", tls, "Use TLS to the relay")->group("TLS");
  cmd->add_option("--tls-ca-cert-files", tls_ca_files,
                  "PEM CA file(s) verifying the relay's certificate (default: system roots)")
      ->type_name("FILE")
      ->group("TLS");
  cmd->add_option("--tls-client-cert-file", tls_cert_file,
                  "PEM client certificate, when the relay requires mTLS")
      ->type_name("FILE")
      ->group("TLS");
  cmd->add_option("--tls-client-key-file", tls_key_file, "PEM key of --tls-client-cert-file")
      ->type_name("FILE")
      ->group("TLS");
  cmd->add_option("--tls-server-name", tls_server_name,
                  "Name the relay's certificate is issued for (Cilium: "
                  "ui.hubble-relay.cilium.io)")
      ->type_name("NAME")
      ->group("TLS");
}

sources::RelayClientOptions RelayFlags::ToOptions() const {
  sources::RelayClientOptions o;
  o.address = address;
  o.tls.enabled = tls || !tls_ca_files.empty() || !tls_cert_file.empty();
  o.tls.ca_files = tls_ca_files;
  o.tls.cert_file = tls_cert_file;
  o.tls.key_file = tls_key_file;
  o.tls.server_name = tls_server_name;
  o.connect_timeout = connect_timeout;
  o.fail_if_unreachable = true;
  o.seed = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  return o;
}

}  // namespace tw::cli

namespace tw::cli {

absl::StatusOr<config::RelayOverride> RelayFlags::ToConfigOverride() const {
  if (tls_ca_files.size() > 1) {
    return absl::InvalidArgumentError(
        "--tls-ca-cert-files: the daemon takes one CA file (relay.tls.ca_file); concatenate "
        "the PEM files into one");
  }
  config::RelayOverride o;
  o.address = address;
  o.tls = tls;
  if (!tls_ca_files.empty()) o.ca_file = tls_ca_files.front();
  o.cert_file = tls_cert_file;
  o.key_file = tls_key_file;
  o.server_name = tls_server_name;
  return o;
}

void ServerFlags::AddTo(CLI::App* cmd, bool with_default) {
  if (!with_default) server.clear();
  CLI::Option* opt = cmd->add_option("--server", server,
                                     with_default ? "The daemon's HTTP address"
                                                  : "A running daemon's HTTP address")
                         ->type_name("URL");
  if (with_default) opt->capture_default_str();
  cmd->add_option("--token-file", token_file,
                  "File whose first line is the API's bearer token (for a daemon with "
                  "http.bearer_token_file)")
      ->type_name("FILE");
}

absl::StatusOr<api::HttpGetOptions> ServerFlags::ToOptions() const {
  api::HttpGetOptions o;
  if (token_file.empty()) return o;
  absl::StatusOr<std::string> token = api::ReadBearerTokenFile(token_file);
  if (!token.ok()) {
    // The reader names the daemon's config key; here it is the flag.
    absl::string_view why = token.status().message();
    absl::ConsumePrefix(&why, "http.bearer_token_file: ");
    return absl::Status(token.status().code(), absl::StrCat("--token-file: ", why));
  }
  o.bearer_token = *std::move(token);
  return o;
}

}  // namespace tw::cli
