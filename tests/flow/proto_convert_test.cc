// flow::Event <-> protobuf: every field survives Flow -> proto -> Flow, and the deprecated
// fields of older agents are honoured where the new ones are absent.
#include "flow/proto_convert.h"

#include <gtest/gtest.h>

#include "flow/test_events.h"

namespace tw::flow {
namespace {

using testing::At;
using testing::SyntheticEvents;

TEST(ProtoConvert, SyntheticEventsRoundTrip) {
  SymbolTable symbols;
  std::vector<Event> events = SyntheticEvents(symbols);
  ASSERT_GE(events.size(), 10u);
  for (size_t i = 0; i < events.size(); ++i) {
    ::observer::GetFlowsResponse pb;
    EventToProto(events[i], &pb);
    // Through the wire format too, as the relay client sees it.
    std::string wire;
    ASSERT_TRUE(pb.SerializeToString(&wire));
    ::observer::GetFlowsResponse parsed;
    ASSERT_TRUE(parsed.ParseFromString(wire));
    SymbolTable other;  // symbols from another table compare by content
    Event back = EventFromProto(parsed, other);
    EXPECT_EQ(back, events[i]) << "event " << i << ":\n" << pb.DebugString();
  }
}

// The live stream converts through a SymbolCache: the same events, and the strings are the
// table's own (a second pass finds them without the table).
TEST(ProtoConvert, SymbolCacheGivesTheSameEventsAndTheTablesSymbols) {
  SymbolTable symbols;
  std::vector<Event> events = SyntheticEvents(symbols);
  SymbolTable other;
  SymbolCache cache(other);
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < events.size(); ++i) {
      ::observer::GetFlowsResponse pb;
      EventToProto(events[i], &pb);
      Event back = EventFromProto(pb, cache);
      EXPECT_EQ(back, events[i]) << "pass " << pass << " event " << i;
      EXPECT_EQ(back.node_name.view().data(), other.Intern(back.node_name.view()).view().data());
    }
  }
  size_t interned = other.size();
  ::observer::GetFlowsResponse pb;
  EventToProto(events[0], &pb);
  EventFromProto(pb, cache);
  EXPECT_EQ(other.size(), interned);  // nothing new
}

TEST(ProtoConvert, MapsFieldsByName) {
  SymbolTable symbols;
  Event ev = SyntheticEvents(symbols)[0];
  ::observer::GetFlowsResponse pb;
  EventToProto(ev, &pb);
  const ::flow::Flow& f = pb.flow();
  EXPECT_EQ(f.verdict(), ::flow::DROPPED);
  EXPECT_EQ(f.drop_reason_desc(), ::flow::POLICY_DENIED);
  EXPECT_EQ(f.ip().source(), "10.0.1.15");
  EXPECT_EQ(f.ip().source_xlated(), "192.0.2.7");
  EXPECT_EQ(f.ip().ipversion(), ::flow::IPv4);
  EXPECT_TRUE(f.l4().tcp().flags().syn());
  EXPECT_TRUE(f.l4().tcp().flags().ns());
  EXPECT_FALSE(f.l4().tcp().flags().ack());
  EXPECT_EQ(f.l4().tcp().destination_port(), 443u);
  EXPECT_EQ(f.source().workloads(0).kind(), "Deployment");
  EXPECT_EQ(f.source().cluster_name(), "prod");
  EXPECT_EQ(f.egress_denied_by(0).revision(), 18446744073709551615ull);
  EXPECT_EQ(f.egress_denied_by(0).kind(), "CiliumNetworkPolicy");
  EXPECT_EQ(f.destination_names_size(), 2);
  EXPECT_EQ(f.event_type().type(), 5);
  EXPECT_EQ(f.interface().name(), "lxc1234");
  EXPECT_FALSE(f.has_is_reply());
  EXPECT_EQ(f.time().seconds(), 1764300000);
  EXPECT_EQ(f.time().nanos(), 123456789);
  EXPECT_EQ(pb.node_name(), "prod/worker-1");
}

TEST(ProtoConvert, NegativeTimesKeepNanosPositive) {
  SymbolTable symbols;
  Event ev;
  ev.flow = Flow();
  ev.flow->time = At(-1, 999999999);  // 1969-12-31T23:59:59.999999999Z
  ::observer::GetFlowsResponse pb;
  EventToProto(ev, &pb);
  EXPECT_EQ(pb.flow().time().seconds(), -1);
  EXPECT_EQ(pb.flow().time().nanos(), 999999999);
  EXPECT_EQ(EventFromProto(pb, symbols), ev);
}

TEST(ProtoConvert, IsReplyFromDeprecatedReply) {
  SymbolTable symbols;
  ::flow::Flow pb;
  EXPECT_EQ(FlowFromProto(pb, symbols).is_reply, std::nullopt);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  pb.set_reply(true);  // Cilium 1.10: only `reply`
  EXPECT_EQ(FlowFromProto(pb, symbols).is_reply, std::optional<bool>(true));
  pb.mutable_is_reply()->set_value(false);  // the new field wins
  EXPECT_EQ(FlowFromProto(pb, symbols).is_reply, std::optional<bool>(false));
  pb.set_reply(false);
  pb.clear_is_reply();
  EXPECT_EQ(FlowFromProto(pb, symbols).is_reply, std::nullopt);
  pb.mutable_is_reply()->set_value(true);
  EXPECT_EQ(FlowFromProto(pb, symbols).is_reply, std::optional<bool>(true));
#pragma GCC diagnostic pop
}

TEST(ProtoConvert, ReservedComputedFromLabelsAndIdentity) {
  SymbolTable symbols;
  ::flow::Flow pb;
  pb.mutable_source()->add_labels("reserved:host");
  pb.mutable_destination()->set_identity(7);
  Flow f = FlowFromProto(pb, symbols);
  EXPECT_EQ(f.source.reserved, kReservedHost);
  EXPECT_EQ(f.destination.reserved, kReservedKubeApiserver | kReservedRemoteNode);
  EXPECT_EQ(ReservedEntityName(f.destination.reserved), "kube-apiserver");
}

TEST(ProtoConvert, OneofsAndOpenEnums) {
  SymbolTable symbols;
  ::flow::Flow pb;
  pb.mutable_l4()->mutable_icmpv4()->set_type(8);
  pb.set_drop_reason_desc(static_cast<::flow::DropReason>(206));  // newer agent
  pb.set_verdict(::flow::REDIRECTED);
  pb.mutable_l7()->mutable_http()->set_code(200);
  Flow f = FlowFromProto(pb, symbols);
  EXPECT_EQ(f.l4.protocol, Protocol::kICMPv4);
  EXPECT_EQ(f.l4.icmp_type, 8);
  EXPECT_EQ(f.drop_reason_desc, 206u);
  EXPECT_EQ(f.verdict, Verdict::kRedirected);
  ASSERT_TRUE(f.l7.has_value());
  ASSERT_TRUE(f.l7->http.has_value());
  EXPECT_EQ(f.l7->http->code, 200u);
  EXPECT_FALSE(f.l7->dns.has_value());

  ::flow::Flow no_l7;
  EXPECT_FALSE(FlowFromProto(no_l7, symbols).l7.has_value());
}

TEST(ProtoConvert, EmptyResponseIsEmptyEvent) {
  SymbolTable symbols;
  ::observer::GetFlowsResponse pb;
  Event ev = EventFromProto(pb, symbols);
  EXPECT_FALSE(ev.flow || ev.lost || ev.node_status);
  EXPECT_EQ(ev.time, absl::UnixEpoch());
}

// What flow::L4 cannot hold is refused, as the JSON decoder refuses such a line: ports
// above 65535, ICMP type/code above 255, and the type VRRP and IGMP keep in the same byte.
TEST(ProtoConvert, ValuesTheFlowCannotHoldAreRefused) {
  ::observer::GetFlowsResponse pb;
  pb.mutable_flow()->mutable_l4()->mutable_tcp()->set_destination_port(65535);
  EXPECT_TRUE(ValidateRanges(pb).ok());
  pb.mutable_flow()->mutable_l4()->mutable_tcp()->set_destination_port(65616);
  EXPECT_EQ(ValidateRanges(pb).message(),
            "field flow.l4.TCP.destination_port: expected 0-65535, got 65616 (out of range)");
  pb.mutable_flow()->mutable_l4()->mutable_icmpv4()->set_code(256);
  EXPECT_EQ(ValidateRanges(pb).message(),
            "field flow.l4.ICMPv4.code: expected 0-255, got 256 (out of range)");
  pb.mutable_flow()->mutable_l4()->mutable_vrrp()->set_type(300);
  EXPECT_EQ(ValidateRanges(pb).message(),
            "field flow.l4.VRRP.type: expected 0-255, got 300 (out of range)");
  pb.mutable_flow()->mutable_l4()->mutable_igmp()->set_type(255);
  EXPECT_TRUE(ValidateRanges(pb).ok());
}

}  // namespace
}  // namespace tw::flow
