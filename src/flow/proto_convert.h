// flow::Event <-> Hubble protobuf messages. The only place (with json.cc) that knows the
// generated flow types; everything after the edge works on flow::Flow.
//
//   observer::GetFlowsResponse resp = ...;               // from the relay stream
//   tw::flow::SymbolCache cache(symbols);                 // one per stream thread
//   tw::flow::Event ev = tw::flow::EventFromProto(resp, cache);
//
//   observer::GetFlowsResponse out;                       // replay server
//   tw::flow::EventToProto(ev, &out);
#pragma once

#include "absl/status/status.h"
#include "flow/flow.h"
#include "flow/flow.pb.h"
#include "flow/symbol_cache.h"
#include "observer/observer.pb.h"

namespace tw::flow {

Flow FlowFromProto(const ::flow::Flow& pb, SymbolTable& symbols);
// The same through a thread's SymbolCache: no lock for strings seen before (live streams).
Flow FlowFromProto(const ::flow::Flow& pb, SymbolCache& symbols);
void FlowToProto(const Flow& flow, ::flow::Flow* pb);

Event EventFromProto(const ::observer::GetFlowsResponse& pb, SymbolTable& symbols);
Event EventFromProto(const ::observer::GetFlowsResponse& pb, SymbolCache& symbols);
void EventToProto(const Event& event, ::observer::GetFlowsResponse* pb);

// google.protobuf.Timestamp <-> absl::Time, exact to the nanosecond on both sides of 1970
// (seconds floor, 0 <= nanos < 1e9 as the Timestamp contract asks). Every wire timestamp
// (flows, node status, lost events, GetFlows since/until) goes through these two.
absl::Time TimeFromProto(const google::protobuf::Timestamp& ts);
void TimeToProto(absl::Time t, google::protobuf::Timestamp* ts);

// A port above 65535 or an ICMP type/code above 255 cannot be held by flow::L4 (the wire
// says uint32): such a message is malformed, as the JSON decoder says of such a line; never
// taken modulo (65616 is not port 80). Check before EventFromProto.
absl::Status ValidateRanges(const ::observer::GetFlowsResponse& pb);

}  // namespace tw::flow
