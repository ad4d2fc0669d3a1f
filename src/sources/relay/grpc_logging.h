// Routes gRPC core's own log lines (gpr_log: "E1203 ... ssl_transport_security.cc ...")
// through spdlog instead of letting them reach stderr raw. gRPC's errors are details of
// failures tierwatch reports itself with a cause and a fix, so they are logged one level
// lower than gRPC rates them: ERROR at debug, INFO at trace, DEBUG dropped.
//
//   tw::sources::RouteGrpcLogsToSpdlog();   // idempotent; RelayClient and ReplayServer call it
//
// gRPC keeps one process-wide log function, so this is process-wide by nature.
#pragma once

namespace tw::sources {

void RouteGrpcLogsToSpdlog();

}  // namespace tw::sources
