// What `hubble observe -o json` prints for a response read from a relay: protojson with
// proto field names (what hubble's printer uses), through Go's json.Encoder. Fields in
// declaration order, defaults omitted, enums by name (numbers when unknown), 64-bit
// integers as strings, Timestamps in RFC 3339 with 0, 3, 6 or 9 fraction digits, wrapper
// types as bare values, strings escaped as flow::AppendJsonString does. Fields the message
// carries as unknown (not in tierwatch's .proto subset) are left out.
//
//   ::observer::GetFlowsResponse resp = ...;
//   std::string line = tw::flow::HubbleJson(resp);   // no trailing newline
#pragma once

#include <string>

#include "google/protobuf/message.h"

namespace tw::flow {

std::string HubbleJson(const google::protobuf::Message& message);

}  // namespace tw::flow
