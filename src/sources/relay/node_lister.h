// ListRelayNodes: Hubble Relay's GetNodes — the nodes whose agents the relay knows, with
// their state — over the same connection settings (address, TLS/mTLS, server name) the
// flow stream uses. A sharded `tierwatch run` asks it which nodes exist, takes those that
// hash to its shard (app/shard.h) and subscribes to their flows only.
//
//   tw::sources::RelayClientOptions opts = ...;           // as for RelayClient
//   auto nodes = tw::sources::ListRelayNodes(opts, absl::Seconds(10));
//   if (nodes.ok()) for (const auto& n : *nodes) use(n.name);   // "cluster/node"
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sources/relay/relay_client.h"

namespace tw::sources {

struct RelayNode {
  std::string name;   // as flows carry it in node_name: "cluster/node"
  std::string state;  // relay.NodeState name: NODE_CONNECTED, NODE_UNAVAILABLE, NODE_GONE, ...
};

// One GetNodes call with `timeout` as its deadline (connecting included). Errors name the
// address and gRPC's reason; an unreadable certificate file is InvalidArgument.
absl::StatusOr<std::vector<RelayNode>> ListRelayNodes(const RelayClientOptions& options,
                                                      absl::Duration timeout);

}  // namespace tw::sources
