// The daemon's config as the composition root needs it: config::DaemonConfig plus the
// relay filters mapped onto Hubble's flow.FlowFilter protos, validated together so that
// one Status lists every problem of the file (YAML shape, values, and filter fields), each
// with FILE:LINE.
//
//   absl::StatusOr<tw::app::LoadedConfig> cfg = tw::app::LoadDaemonConfig("tw.yaml");
//   if (!cfg.ok()) { std::cerr << cfg.status().message() << "\n"; return 2; }
//   cfg->filters.whitelist;   // std::vector<::flow::FlowFilter>, ready for GetFlows
//
// Filter YAML follows the protobuf field names of flow.FlowFilter (lowerCamel accepted
// too); enum values by name (DROPPED, INGRESS, POLICY_DENIED) or number; a single value
// where the field is a list stands for a list of one; nested messages as mappings:
//
//   whitelist:
//     - verdict: [DROPPED, AUDIT]
//       event_type: [{type: 5}]
//     - source_pod: ["business/"]
//       tcp_flags: [{SYN: true}]
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "config/config.h"
#include "flow/flow.pb.h"
#include "sources/relay/relay_client.h"

namespace tw::app {

struct RelayFilters {
  std::vector<::flow::FlowFilter> whitelist;
  std::vector<::flow::FlowFilter> blacklist;
};

struct LoadedConfig {
  config::DaemonConfig config;
  RelayFilters filters;
};

// Maps YAML filter trees onto FlowFilter protos and checks that each compiles (CIDRs,
// selectors, ports, regexes). Errors are appended with `file` and the value's line; `path`
// names the list in messages ("relay.filters.whitelist").
std::vector<::flow::FlowFilter> BuildFlowFilters(const std::vector<config::YamlValue>& yaml,
                                                 const std::string& file, const std::string& path,
                                                 std::vector<Diagnostic>* errors);

// Reads, validates and maps a config file. All errors in one InvalidArgument status.
absl::StatusOr<LoadedConfig> LoadDaemonConfig(const std::string& path,
                                              const config::LoadOptions& options = {});
// Same from text (tests).
absl::StatusOr<LoadedConfig> ParseDaemonConfig(absl::string_view yaml, const std::string& file,
                                               const config::LoadOptions& options = {});

// The relay client's options for a config: address, TLS, keepalive, backoff, resume window,
// filters, follow. The stream starts at `resume` when given (a reconnect after a reload),
// else per relay.backlog: none = no `since` (new flows only), all = the epoch (everything
// the agents hold), a duration = `now` minus it.
sources::RelayClientOptions RelayClientOptionsFor(const LoadedConfig& config, absl::Time now,
                                                  std::optional<absl::Time> resume, uint64_t seed);

}  // namespace tw::app
