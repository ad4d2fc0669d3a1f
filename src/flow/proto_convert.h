// flow::Event <-> Hubble protobuf messages. The only place (with json.cc) that knows the
// generated flow types; everything after the edge works on flow::Flow.
//
//   observer::GetFlowsResponse resp = ...;               // from the relay stream
//   tw::flow::Event ev = tw::flow::EventFromProto(resp, symbols);
//
//   observer::GetFlowsResponse out;                       // replay server
//   tw::flow::EventToProto(ev, &out);
#pragma once

#include "flow/flow.h"
#include "flow/flow.pb.h"
#include "observer/observer.pb.h"

namespace tw::flow {

Flow FlowFromProto(const ::flow::Flow& pb, SymbolTable& symbols);
void FlowToProto(const Flow& flow, ::flow::Flow* pb);

Event EventFromProto(const ::observer::GetFlowsResponse& pb, SymbolTable& symbols);
void EventToProto(const Event& event, ::observer::GetFlowsResponse* pb);

}  // namespace tw::flow
