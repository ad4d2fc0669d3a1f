// Synthetic relay traffic for the replay, relay-client and integration tests: flows on
// several nodes, in time order, with uuids, a mix of verdicts, namespaces and ports, and a
// few LostEvents — shapes a filter or a per-node `number` can tell apart.
//
//   tw::flow::SymbolTable symbols;
//   std::vector<tw::flow::Event> events = tw::replay::testing::SyntheticCapture(symbols, 300);
//   tw::replay::testing::WriteCapture(events, "/tmp/x.jsonl");   // needs flow/json.h
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "flow/flow.h"

namespace tw::replay::testing {

inline absl::Time CaptureStart() { return absl::FromUnixSeconds(1764300000); }

inline std::string SyntheticUuid(uint64_t i) {
  return absl::StrFormat("00000000-0000-4000-8000-%012d", i);
}

// `flows` flows 10 ms apart round-robin over nodes worker-1, worker-2, worker-3 (so node
// k%3 carries flow k); every 7th flow is DROPPED (POLICY_DENIED) from business to
// kube-system, the others FORWARDED from kube-system to business on port 5432; every
// `lost_every`-th position (0 = none) is followed by a LostEvent.
inline std::vector<flow::Event> SyntheticCapture(flow::SymbolTable& s, int flows,
                                                 int lost_every = 0, bool with_uuid = true) {
  std::vector<flow::Event> out;
  const char* nodes[] = {"prod/worker-1", "prod/worker-2", "prod/worker-3"};
  for (int i = 0; i < flows; ++i) {
    flow::Flow f;
    f.time = CaptureStart() + absl::Milliseconds(10) * i;
    if (with_uuid) f.uuid = SyntheticUuid(i);
    bool drop = i % 7 == 3;
    f.verdict = drop ? flow::Verdict::kDropped : flow::Verdict::kForwarded;
    f.drop_reason_desc = drop ? flow::kDropPolicyDenied : 0;
    f.event_type = drop ? flow::kEventDrop : flow::kEventTrace;
    f.event_sub_type = drop ? 133 : 0;
    f.type = flow::FlowType::kL3L4;
    f.ip_version = flow::IpVersion::kIPv4;
    f.source_ip = absl::StrFormat("10.0.%d.%d", i % 3, 10 + i % 200);
    f.destination_ip = "10.0.9.20";
    f.l4.protocol = flow::Protocol::kTCP;
    f.l4.source_port = static_cast<uint16_t>(30000 + i % 30000);
    f.l4.destination_port = drop ? 53 : 5432;
    f.l4.tcp_flags = flow::kSYN;
    f.source.identity = drop ? 23456 : 12345;
    f.source.namespace_ = s.Intern(drop ? "business" : "kube-system");
    f.source.pod_name = s.Intern(drop ? "odoo-7d9f8-abcde" : "coredns-5d78c9869d-x1");
    f.source.labels = {s.Intern(drop ? "k8s:app=odoo" : "k8s:k8s-app=kube-dns")};
    f.destination.identity = drop ? 12345 : 23456;
    f.destination.namespace_ = s.Intern(drop ? "kube-system" : "business");
    f.destination.pod_name = s.Intern(drop ? "coredns-5d78c9869d-x1" : "postgres-0");
    f.destination.labels = {s.Intern(drop ? "k8s:k8s-app=kube-dns" : "k8s:app=postgres")};
    f.node_name = s.Intern(nodes[i % 3]);
    f.traffic_direction = drop ? flow::TrafficDirection::kEgress : flow::TrafficDirection::kIngress;
    if (!drop) f.is_reply = false;
    f.summary = "TCP Flags: SYN";
    flow::Event ev;
    ev.node_name = f.node_name;
    ev.time = f.time;
    ev.flow = std::move(f);
    out.push_back(std::move(ev));
    if (lost_every > 0 && i % lost_every == lost_every - 1) {
      flow::Event lost;
      lost.lost = flow::LostEvent{flow::LostEventSource::kPerfEventRingBuffer, 3, 1};
      lost.node_name = s.Intern(nodes[i % 3]);
      lost.time = CaptureStart() + absl::Milliseconds(10) * i + absl::Milliseconds(5);
      out.push_back(std::move(lost));
    }
  }
  return out;
}

}  // namespace tw::replay::testing
