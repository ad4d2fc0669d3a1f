// Hand-built flows for the classifier tests: pods, reserved entities, drops and verdicts in
// the shapes Hubble reports them (type-1 drop events with drop_reason_desc, type-5
// policy-verdict events, AUDIT verdicts, L7 drops).
//
//   Builders b;                                            // owns the symbol table
//   Flow f = b.Drop(b.Pod("business", "odoo"), b.Pod("business", "postgres"), 5432);
//   f.traffic_direction = TrafficDirection::kIngress;
#pragma once

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "flow/connection.h"
#include "flow/flow.h"

namespace tw::classify::testing {

using flow::Endpoint;
using flow::Flow;
using flow::Protocol;
using flow::TrafficDirection;
using flow::Verdict;

inline absl::Time T0() { return absl::FromUnixSeconds(1795000000); }

struct Builders {
  flow::SymbolTable symbols;
  int next_ip = 10;
  int next_uuid = 1;

  // A pod with app.kubernetes.io/name=<app> in <ns>; extra labels as "key=value".
  Endpoint Pod(const std::string& ns, const std::string& app,
               const std::vector<std::string>& extra = {}) {
    Endpoint e;
    e.id = 100 + next_ip;
    e.identity = 20000 + static_cast<uint32_t>(std::hash<std::string>()(ns + app) % 10000);
    e.namespace_ = symbols.Intern(ns);
    e.pod_name = symbols.Intern(app + "-0");
    e.labels.push_back(symbols.Intern("k8s:app.kubernetes.io/name=" + app));
    e.labels.push_back(symbols.Intern("k8s:io.kubernetes.pod.namespace=" + ns));
    e.labels.push_back(
        symbols.Intern("k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=" + ns));
    for (const auto& l : extra) e.labels.push_back(symbols.Intern("k8s:" + l));
    e.reserved = flow::ComputeReserved(e);
    return e;
  }
  Endpoint CoreDns() { return Pod("kube-system", "coredns", {"k8s-app=kube-dns"}); }
  Endpoint Entity(const std::string& name, uint32_t identity) {
    Endpoint e;
    e.identity = identity;
    e.labels.push_back(symbols.Intern("reserved:" + name));
    e.reserved = flow::ComputeReserved(e);
    return e;
  }
  Endpoint World() { return Entity("world", 2); }
  Endpoint Health() { return Entity("health", 4); }
  Endpoint RemoteNode() { return Entity("remote-node", 6); }

  std::string Ip() { return absl::StrCat("10.244.0.", next_ip++); }

  // A TCP SYN (or UDP/ICMP) type-1 drop event with POLICY_DENIED at EGRESS.
  Flow Drop(const Endpoint& src, const Endpoint& dst, uint16_t port,
            Protocol proto = Protocol::kTCP, uint16_t sport = 40000) {
    Flow f;
    f.time = T0();
    f.uuid = absl::StrCat("00000000-0000-4000-8000-", absl::Dec(next_uuid++, absl::kZeroPad12));
    f.verdict = Verdict::kDropped;
    f.drop_reason = flow::kDropPolicyDenied;
    f.drop_reason_desc = flow::kDropPolicyDenied;
    f.source_ip = "10.244.1.5";
    f.destination_ip = "10.244.2.7";
    f.ip_version = flow::IpVersion::kIPv4;
    f.l4.protocol = proto;
    if (proto == Protocol::kICMPv4 || proto == Protocol::kICMPv6) {
      f.l4.icmp_type = static_cast<uint8_t>(port);
    } else {
      f.l4.source_port = sport;
      f.l4.destination_port = port;
      if (proto == Protocol::kTCP) f.l4.tcp_flags = flow::kSYN;
    }
    f.source = src;
    f.destination = dst;
    f.type = flow::FlowType::kL3L4;
    f.node_name = symbols.Intern("homelab/w-1");
    f.event_type = flow::kEventDrop;
    f.event_sub_type = static_cast<int32_t>(flow::kDropPolicyDenied);
    f.traffic_direction = TrafficDirection::kEgress;
    return f;
  }
  // The type-5 policy-verdict twin of a drop event (new uuid, same packet).
  Flow VerdictTwin(const Flow& drop, absl::Duration offset = absl::Microseconds(-4)) {
    Flow f = drop;
    f.uuid = absl::StrCat("00000000-0000-4000-9000-", absl::Dec(next_uuid++, absl::kZeroPad12));
    f.time = drop.time + offset;
    f.event_type = flow::kEventPolicyVerdict;
    f.event_sub_type = 0;
    f.policy_match_type = 0;
    return f;
  }
  // An AUDIT policy verdict (type 5, no drop reason).
  Flow Audit(const Endpoint& src, const Endpoint& dst, uint16_t port,
             Protocol proto = Protocol::kTCP) {
    Flow f = Drop(src, dst, port, proto);
    f.verdict = Verdict::kAudit;
    f.drop_reason = 0;
    f.drop_reason_desc = 0;
    f.event_type = flow::kEventPolicyVerdict;
    f.event_sub_type = 0;
    return f;
  }
  // A FORWARDED trace of the same shape (learning, stream connections).
  Flow Forwarded(const Endpoint& src, const Endpoint& dst, uint16_t port,
                 Protocol proto = Protocol::kTCP) {
    Flow f = Drop(src, dst, port, proto);
    f.verdict = Verdict::kForwarded;
    f.drop_reason = 0;
    f.drop_reason_desc = 0;
    f.event_type = flow::kEventTrace;
    f.event_sub_type = 0;
    return f;
  }
};

}  // namespace tw::classify::testing
