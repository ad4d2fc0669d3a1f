// The three identities of connection.h: connection (KeyAsSeen from peers), packet
// (PacketKey) and event (EventKey).
#include <gtest/gtest.h>

#include "absl/time/time.h"
#include "flow/connection.h"

namespace tw::flow {
namespace {

Flow Packet(SymbolTable& s) {
  Flow f;
  f.time = absl::FromUnixSeconds(1700000000);
  f.node_name = s.Intern("prod/worker-1");
  f.source_ip = "10.0.1.15";
  f.destination_ip = "10.0.2.20";
  f.l4.protocol = Protocol::kTCP;
  f.l4.source_port = 41234;
  f.l4.destination_port = 5432;
  f.l4.tcp_flags = kSYN;
  f.event_type = kEventDrop;
  f.verdict = Verdict::kDropped;
  f.source.namespace_ = s.Intern("business");
  f.source.pod_name = s.Intern("odoo-7d9f8-abcde");
  f.destination.namespace_ = s.Intern("business");
  f.destination.pod_name = s.Intern("postgres-0");
  return f;
}

TEST(PacketKeyTest, DropAndItsPolicyVerdictTwinAreTheSamePacket) {
  SymbolTable s;
  Flow drop = Packet(s);
  Flow verdict = drop;
  verdict.event_type = kEventPolicyVerdict;
  verdict.time += absl::Microseconds(3);
  verdict.uuid = "other-event";
  EXPECT_EQ(PacketKey(drop), PacketKey(verdict));
}

TEST(PacketKeyTest, AnotherNodePortOrFlagIsAnotherPacket) {
  SymbolTable s;
  Flow a = Packet(s);
  Flow node = a, port = a, flags = a, icmp_code = a;
  node.node_name = s.Intern("prod/worker-2");
  port.l4.source_port = 41235;
  flags.l4.tcp_flags = kSYN | kACK;
  icmp_code.l4.icmp_code = 1;
  for (const Flow* other : {&node, &port, &flags, &icmp_code}) {
    EXPECT_NE(PacketKey(a), PacketKey(*other));
  }
}

TEST(EventKeyTest, UuidWhenPresent) {
  SymbolTable s;
  Flow a = Packet(s);
  a.uuid = "11111111-2222";
  Flow b = a;
  b.time += absl::Seconds(1);  // the same event read again names itself by uuid only
  EXPECT_EQ(EventKey(a), "11111111-2222");
  EXPECT_EQ(EventKey(a), EventKey(b));
}

TEST(EventKeyTest, WithoutUuidTimePacketEventTypeAndVerdict) {
  SymbolTable s;
  Flow a = Packet(s);
  Flow later = a, verdict_event = a, audit = a;
  later.time += absl::Nanoseconds(1);
  verdict_event.event_type = kEventPolicyVerdict;
  audit.verdict = Verdict::kAudit;
  EXPECT_EQ(EventKey(a), EventKey(Packet(s)));
  for (const Flow* other : {&later, &verdict_event, &audit}) {
    EXPECT_NE(EventKey(a), EventKey(*other));
  }
}

TEST(KeyAsSeenTest, FromPeersEqualsFromFlow) {
  SymbolTable s;
  Flow f = Packet(s);
  Peer src = PeerOf(f.source, f.source_ip, f.source_names, PeerRole::kSource, s, nullptr, f.time);
  Peer dst = PeerOf(f.destination, f.destination_ip, f.destination_names, PeerRole::kDestination, s,
                    nullptr, f.time);
  auto from_peers = KeyAsSeen(f, src, dst);
  auto from_flow = KeyAsSeen(f, s, nullptr);
  ASSERT_TRUE(from_peers.has_value());
  ASSERT_TRUE(from_flow.has_value());
  EXPECT_EQ(*from_peers, *from_flow);
  EXPECT_EQ(from_peers->protocol, Protocol::kTCP);
  EXPECT_EQ(from_peers->port, 5432);
}

TEST(KeyAsSeenTest, PortlessOrProtocollessFlowsHaveNoKey) {
  SymbolTable s;
  Flow no_port = Packet(s);
  no_port.l4.destination_port = 0;
  Flow no_protocol = Packet(s);
  no_protocol.l4.protocol = Protocol::kUnknown;
  Peer p = Peer::Entity(s.Intern("world"));
  EXPECT_FALSE(KeyAsSeen(no_port, p, p).has_value());
  EXPECT_FALSE(KeyAsSeen(no_protocol, p, p).has_value());
  EXPECT_FALSE(KeyAsSeen(no_port, s, nullptr).has_value());
}

TEST(KeyAsSeenTest, IcmpKeyCarriesTheType) {
  SymbolTable s;
  Flow f = Packet(s);
  f.l4 = L4{};
  f.l4.protocol = Protocol::kICMPv4;
  f.l4.icmp_type = 8;
  auto key = KeyAsSeen(f, s, nullptr);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->port, 8);
}

}  // namespace
}  // namespace tw::flow
