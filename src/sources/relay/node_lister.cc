#include "sources/relay/node_lister.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "observer/observer.grpc.pb.h"

namespace tw::sources {

absl::StatusOr<std::vector<RelayNode>> ListRelayNodes(const RelayClientOptions& options,
                                                      absl::Duration timeout) {
  RelayTlsOptions tls = options.tls;
  std::string address = options.address;
  if (absl::StartsWith(address, "tls://")) {
    address = address.substr(6);
    tls.enabled = true;
  }
  auto creds = MakeRelayCredentials(tls);
  if (!creds.ok()) return creds.status();
  grpc::ChannelArguments args;
  // Its own connection, like each stream attempt: never a subchannel shared with the stream.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (tls.enabled && !tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  auto channel = grpc::CreateCustomChannel(address, *creds, args);
  auto stub = ::observer::Observer::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  // Connecting is part of the deadline: wait for the channel instead of failing fast.
  ctx.set_wait_for_ready(true);
  ::observer::GetNodesResponse resp;
  grpc::Status st = stub->GetNodes(&ctx, ::observer::GetNodesRequest(), &resp);
  if (!st.ok()) {
    return absl::UnavailableError(absl::StrCat("GetNodes from relay ", address, ": ",
                                               st.error_message(), " (gRPC code ",
                                               static_cast<int>(st.error_code()), ")"));
  }
  std::vector<RelayNode> out;
  out.reserve(resp.nodes_size());
  for (const auto& n : resp.nodes()) {
    out.push_back({n.name(), ::relay::NodeState_Name(n.state())});
  }
  return out;
}

}  // namespace tw::sources
