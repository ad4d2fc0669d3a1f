// Synthetic events and jsonpb lines for the flow edge tests: shapes the real corpus lacks
// (DROPPED/AUDIT, drop_reason_desc, policy correlation, workloads, lost events, node status,
// lowerCamel names), written the way Hubble 1.16+ writes them.
//
//   tw::flow::SymbolTable symbols;
//   for (const Event& ev : tw::flow::testing::SyntheticEvents(symbols)) ...
//   for (const std::string& line : tw::flow::testing::SyntheticLines()) ...
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "flow/flow.h"

namespace tw::flow::testing {

inline absl::Time At(int64_t unix_seconds, int64_t nanos) {
  return absl::FromUnixSeconds(unix_seconds) + absl::Nanoseconds(nanos);
}

inline std::vector<Event> SyntheticEvents(SymbolTable& s) {
  std::vector<Event> out;

  // A TCP SYN from odoo to the world, dropped by default deny, with policy correlation.
  {
    Flow f;
    f.time = At(1764300000, 123456789);
    f.uuid = "5a0b2e4c-1111-4c3e-9d6a-0e6f3b2c9a01";
    f.verdict = Verdict::kDropped;
    f.drop_reason = 133;
    f.drop_reason_desc = kDropPolicyDenied;
    f.auth_type = 1;
    f.source_ip = "10.0.1.15";
    f.source_ip_xlated = "192.0.2.7";
    f.destination_ip = "203.0.113.9";
    f.ip_version = IpVersion::kIPv4;
    f.encrypted = true;
    f.l4.protocol = Protocol::kTCP;
    f.l4.source_port = 40512;
    f.l4.destination_port = 443;
    f.l4.tcp_flags = kSYN | kECE | kCWR | kNS;
    f.source.id = 1234;
    f.source.identity = 48211;
    f.source.cluster_name = s.Intern("prod");
    f.source.namespace_ = s.Intern("business");
    f.source.pod_name = s.Intern("odoo-7d9f8b6c4-x2x9z");
    f.source.labels = {s.Intern("k8s:app=odoo"), s.Intern("k8s:tier=2"),
                       s.Intern("k8s:io.kubernetes.pod.namespace=business")};
    f.source.workloads = {{s.Intern("odoo"), s.Intern("Deployment")}};
    f.source.reserved = ComputeReserved(f.source);
    f.destination.identity = 2;
    f.destination.labels = {s.Intern("reserved:world")};
    f.destination.reserved = ComputeReserved(f.destination);
    f.type = FlowType::kL3L4;
    f.node_name = s.Intern("prod/worker-1");
    f.node_labels = {s.Intern("kubernetes.io/hostname=worker-1"), s.Intern("zone=a")};
    f.destination_names = {s.Intern("api.example.com"), s.Intern("www.example.com")};
    f.event_type = kEventPolicyVerdict;
    f.event_sub_type = 0;
    f.traffic_direction = TrafficDirection::kEgress;
    f.policy_match_type = 0;
    f.interface_index = 17;
    f.interface_name = s.Intern("lxc1234");
    f.summary = "TCP Flags: SYN";
    PolicyRef p;
    p.name = s.Intern("deny-all-egress");
    p.namespace_ = s.Intern("business");
    p.kind = s.Intern("CiliumNetworkPolicy");
    p.labels = {s.Intern("k8s:io.cilium.k8s.policy.name=deny-all-egress"),
                s.Intern("k8s:io.cilium.k8s.policy.namespace=business")};
    p.revision = 18446744073709551615ull;  // 64-bit: written as a JSON string
    f.egress_denied_by = {p};
    f.policy_log = {"tier2-deny", "line with \"quotes\" and \\ backslash"};
    Event ev;
    ev.node_name = f.node_name;
    ev.time = f.time;
    ev.flow = std::move(f);
    out.push_back(std::move(ev));
  }

  // AUDIT verdict in policy-audit-mode, ingress, with allowed_by and an explicit is_reply=false.
  {
    Flow f;
    f.time = At(1764300001, 500000000);
    f.uuid = "5a0b2e4c-2222-4c3e-9d6a-0e6f3b2c9a02";
    f.verdict = Verdict::kAudit;
    f.source_ip = "fd00::10";
    f.destination_ip = "fd00::20";
    f.ip_version = IpVersion::kIPv6;
    f.l4.protocol = Protocol::kUDP;
    f.l4.source_port = 53000;
    f.l4.destination_port = 5432;
    f.source.identity = 9;
    f.source.labels = {s.Intern("reserved:world-ipv6"), s.Intern("cidr:fd00::/8")};
    f.source.reserved = ComputeReserved(f.source);
    f.destination.id = 77;
    f.destination.identity = 31000;
    f.destination.namespace_ = s.Intern("business");
    f.destination.pod_name = s.Intern("postgres-0");
    f.destination.labels = {s.Intern("k8s:app.kubernetes.io/name=postgres"),
                            s.Intern("k8s:weird=va\"l\\ue\n\t\x01 \xc3\xa9 \xe2\x82\xac")};
    f.destination.workloads = {{s.Intern("postgres"), s.Intern("StatefulSet")},
                               {s.Intern("db"), Symbol()}};
    f.destination.reserved = ComputeReserved(f.destination);
    f.type = FlowType::kL3L4;
    f.node_name = s.Intern("prod/worker-2");
    f.is_reply = false;
    f.event_type = kEventPolicyVerdict;
    f.traffic_direction = TrafficDirection::kIngress;
    f.policy_match_type = 2;
    f.source_service = {s.Intern("ext"), s.Intern("default")};
    f.destination_service = {s.Intern("postgres"), s.Intern("business")};
    PolicyRef allow;
    allow.name = s.Intern("allow-db");
    allow.namespace_ = s.Intern("business");
    allow.revision = 42;
    PolicyRef ccnp;
    ccnp.name = s.Intern("tier-baseline");
    ccnp.kind = s.Intern("CiliumClusterwideNetworkPolicy");
    f.ingress_allowed_by = {allow};
    f.ingress_denied_by = {ccnp, allow};
    f.egress_allowed_by = {ccnp};
    Event ev;
    ev.node_name = f.node_name;
    ev.time = f.time;
    ev.flow = std::move(f);
    out.push_back(std::move(ev));
  }

  // A DNS response (L7, type 129) with answers, cnames and a reply flag.
  {
    Flow f;
    f.time = At(1764300002, 1000);
    f.verdict = Verdict::kForwarded;
    f.source_ip = "10.0.0.10";
    f.destination_ip = "10.0.1.15";
    f.ip_version = IpVersion::kIPv4;
    f.l4.protocol = Protocol::kUDP;
    f.l4.source_port = 53;
    f.l4.destination_port = 41000;
    f.source.namespace_ = s.Intern("kube-system");
    f.source.labels = {s.Intern("k8s:k8s-app=kube-dns")};
    f.destination.namespace_ = s.Intern("business");
    f.type = FlowType::kL7;
    f.node_name = s.Intern("prod/worker-1");
    L7 l7;
    l7.type = L7Type::kResponse;
    l7.latency_ns = 1234567;
    Dns dns;
    dns.query = "acme-v02.api.letsencrypt.org.";
    dns.ips = {"172.65.32.248", "2606:4700:60:0:f53d:5624:85c7:3a2c"};
    dns.ttl = 300;
    dns.cnames = {"prod.api.letsencrypt.org."};
    dns.observation_source = "proxy";
    dns.rcode = 0;
    dns.qtypes = {"A"};
    dns.rrtypes = {"CNAME", "A"};
    l7.dns = dns;
    f.l7 = l7;
    f.is_reply = true;
    f.event_type = kEventL7;
    f.traffic_direction = TrafficDirection::kEgress;
    f.trace_observation_point = 101;  // TO_ENDPOINT
    f.trace_reason = 2;
    f.proxy_port = 40123;
    Event ev;
    ev.node_name = f.node_name;
    ev.time = f.time;
    ev.flow = std::move(f);
    out.push_back(std::move(ev));
  }

  // An HTTP request dropped by an L7 rule; ICMPv6 and SCTP flows; a drop with only sub_type.
  {
    Flow f;
    f.time = At(1764300003, 0);
    f.verdict = Verdict::kDropped;
    f.type = FlowType::kL7;
    f.l7 = L7{L7Type::kRequest, 0, std::nullopt,
              Http{403, "GET", "http://odoo/admin", "HTTP/1.1", {}}};
    f.event_type = kEventL7;
    Event ev;
    ev.flow = std::move(f);
    out.push_back(std::move(ev));
  }
  {
    Flow f;
    f.time = At(-1, 999999999);  // before 1970: exercises negative seconds
    f.verdict = Verdict::kDropped;
    f.l4.protocol = Protocol::kICMPv6;
    f.l4.icmp_type = 128;
    f.l4.icmp_code = 3;
    f.event_type = kEventDrop;
    f.event_sub_type = 181;
    f.trace_observation_point = 5;
    Event ev;
    ev.flow = std::move(f);
    out.push_back(std::move(ev));
  }
  {
    Flow f;
    f.verdict = Verdict::kTranslated;
    f.l4.protocol = Protocol::kSCTP;
    f.l4.source_port = 1;
    f.l4.destination_port = 65535;
    f.type = FlowType::kSock;
    f.drop_reason_desc = 206;  // newer than our enum: kept as a number
    f.verdict = static_cast<Verdict>(7);
    Event ev;
    ev.flow = std::move(f);
    out.push_back(std::move(ev));
  }

  // Lost events and node status.
  {
    Event ev;
    ev.lost = LostEvent{LostEventSource::kPerfEventRingBuffer, 12345678901234ull, 3};
    ev.node_name = s.Intern("prod/worker-1");
    ev.time = At(1764300004, 250000000);
    out.push_back(std::move(ev));
  }
  {
    Event ev;
    ev.lost = LostEvent{LostEventSource::kHubbleRingBuffer, 1, 0};
    out.push_back(std::move(ev));
  }
  {
    Event ev;
    ev.node_status = NodeStatus{NodeState::kConnected, {"prod/worker-1", "prod/worker-2"}, ""};
    ev.time = At(1764300000, 0);
    out.push_back(std::move(ev));
  }
  {
    Event ev;
    ev.node_status = NodeStatus{NodeState::kError, {"prod/worker-3"}, "connection refused: \"x\""};
    out.push_back(std::move(ev));
  }
  return out;
}

// jsonpb lines as Hubble (or protobuf's JSON mapping) may write them; each must decode the
// same with JsonDecoder and with protobuf's JsonStringToMessage.
inline std::vector<std::string> SyntheticLines() {
  return {
      // Example A of hubble-api.md §6.1: dropped by policy, exporter field mask.
      R"({"flow":{"time":"2023-08-21T12:12:18.510175415Z","verdict":"DROPPED","IP":{"source":"10.244.1.60","destination":"10.244.1.5","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":44916,"destination_port":80,"flags":{"SYN":true}}},"source":{"namespace":"default","pod_name":"xwing"},"destination":{"namespace":"default","pod_name":"deathstar-7848d6c4d5-th9v2"},"node_name":"kind-kind/kind-worker","drop_reason_desc":"POLICY_DENIED"},"node_name":"kind-kind/kind-worker","time":"2023-08-21T12:12:18.510175415Z"})",
      // printer_test.go drop flow (no outer node_name/time).
      R"({"flow":{"time":"1970-01-01T00:20:34.567800Z","verdict":"DROPPED","IP":{"source":"1.1.1.1","destination":"2.2.2.2"},"l4":{"TCP":{"source_port":31793,"destination_port":8080}},"source":{"identity":4},"destination":{"identity":12345},"Type":"L3_L4","node_name":"k8s1","event_type":{"type":1,"sub_type":133},"is_reply":false,"Summary":"TCP Flags: SYN"}})",
      // Example C: lost events.
      R"({"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"1","cpu":5},"node_name":"node-name","time":"1970-01-01T00:20:34.567800Z"})",
      R"({"lost_events":{"source":"OBSERVER_EVENTS_QUEUE","num_events_lost":"250","first":"2025-01-01T00:00:00Z","last":"2025-01-01T00:00:01Z"},"node_name":"n1","time":"2025-01-01T00:00:01Z"})",
      R"({"lostEvents":{"source":1,"numEventsLost":7,"cpu":0}})",
      // Node status, proto and json names.
      R"({"node_status":{"state_change":"NODE_CONNECTED","node_names":["kind-control-plane","kind-worker"]},"time":"2025-01-01T00:00:00Z"})",
      R"({"nodeStatus":{"stateChange":"NODE_ERROR","nodeNames":["kind-worker2"],"message":"dial tcp: i/o timeout"}})",
      // AUDIT with policy correlation and workloads, proto names.
      R"({"flow":{"time":"2025-06-01T10:00:00.5Z","uuid":"0b7c3f5e-1d2a-4c44-8f3e-5a6b7c8d9e0f","verdict":"AUDIT","auth_type":"SPIRE","IP":{"source":"10.0.1.5","source_xlated":"10.0.1.6","destination":"10.0.2.7","ipVersion":"IPv4","encrypted":true},"l4":{"TCP":{"source_port":51000,"destination_port":5432,"flags":{"SYN":true,"ECE":true,"CWR":true}}},"source":{"ID":12,"identity":50001,"cluster_name":"prod","namespace":"business","labels":["k8s:app=n8n","k8s:io.kubernetes.pod.namespace=business"],"pod_name":"n8n-5b6c7d8e9f-abcde","workloads":[{"name":"n8n","kind":"Deployment"}]},"destination":{"ID":13,"identity":50002,"namespace":"business","labels":["k8s:app=postgres"],"pod_name":"postgres-0","workloads":[{"name":"postgres","kind":"StatefulSet"}]},"Type":"L3_L4","node_name":"prod/worker-1","node_labels":["kubernetes.io/hostname=worker-1"],"event_type":{"type":5},"traffic_direction":"INGRESS","policy_match_type":2,"ingress_denied_by":[{"name":"default-deny","namespace":"business","labels":["k8s:io.cilium.k8s.policy.name=default-deny"],"revision":"17","kind":"CiliumNetworkPolicy"}],"ingress_allowed_by":[],"egress_allowed_by":[{"name":"allow-dns","kind":"CiliumClusterwideNetworkPolicy","revision":3}],"policy_log":["audit"],"Summary":"TCP Flags: SYN"},"node_name":"prod/worker-1","time":"2025-06-01T10:00:00.5Z"})",
      // The same shape with lowerCamel json names.
      R"({"flow":{"time":"2025-06-01T10:00:01Z","uuid":"u-2","verdict":"DROPPED","authType":"DISABLED","IP":{"source":"10.0.1.5","sourceXlated":"10.0.1.9","destination":"10.0.2.7","ipVersion":"IPv4"},"l4":{"UDP":{"sourcePort":51000,"destinationPort":53}},"source":{"ID":12,"identity":50001,"clusterName":"prod","namespace":"business","labels":["k8s:app=n8n"],"podName":"n8n-1","workloads":[{"name":"n8n","kind":"Deployment"}]},"destination":{"identity":2,"labels":["reserved:world"]},"Type":"L3_L4","nodeName":"prod/worker-1","nodeLabels":["a=b"],"sourceNames":["n8n.local"],"destinationNames":["api.example.com","example.com"],"eventType":{"type":1,"subType":181},"trafficDirection":"EGRESS","policyMatchType":0,"traceObservationPoint":"FROM_ENDPOINT","traceReason":"NEW","dropReason":181,"dropReasonDesc":"POLICY_DENY","isReply":false,"interface":{"index":4,"name":"eth0"},"proxyPort":0,"Summary":"UDP","egressDeniedBy":[{"name":"deny-world","namespace":"business"}],"ingressDeniedBy":[],"egressAllowedBy":[],"ingressAllowedBy":[],"policyLog":["x"]},"nodeName":"prod/worker-1","time":"2025-06-01T10:00:01Z"})",
      // Enums and 64-bit ints as numbers, 32-bit ints as strings, offsets and fractions.
      R"({"flow":{"time":"2025-06-01T12:00:01.1+02:00","verdict":2,"drop_reason_desc":133,"Type":1,"traffic_direction":2,"trace_observation_point":101,"IP":{"ipVersion":2,"source":"fd00::1","destination":"fd00::2"},"l4":{"ICMPv6":{"type":"128","code":0}},"event_type":{"type":"1","sub_type":"-5"},"policy_match_type":"4","l7":{"type":2,"latency_ns":"999"}},"time":"2025-06-01T10:00:01.123-00:30"})",
      R"({"flow":{"time":"2025-06-01T10:00:01.123456Z","verdict":"FORWARDED","l4":{"SCTP":{"source_port":1,"destination_port":2}},"Type":"SOCK","drop_reason_desc":206,"trace_reason":"SRV6_DECAP"}})",
      R"({"flow":{"verdict":"TRACED","l4":{"VRRP":{"type":1,"vrid":3,"priority":100}}}})",
      R"({"flow":{"verdict":"ERROR","l4":{"IGMP":{"type":22,"group_address":"239.1.1.1"}}}})",
      // L7 DNS and HTTP with nulls, empty objects and unknown fields (skipped).
      R"({"flow":{"time":"2025-06-01T10:00:02.000000001Z","verdict":"FORWARDED","Type":"L7","l7":{"type":"RESPONSE","latency_ns":"1500000","dns":{"query":"acme-v02.api.letsencrypt.org.","ips":["172.65.32.248"],"ttl":60,"cnames":["prod.api.letsencrypt.org."],"observation_source":"proxy","rcode":3,"qtypes":["A"],"rrtypes":["A","CNAME"]}},"event_type":{"type":129},"reply":true,"emitter":{"name":"Hubble","version":"1.19.0"},"file":{"name":"bpf_lxc.c","line":1234},"ip_trace_id":{"trace_id":"1234","ip_option_type":136},"aggregate":{"ingress_flow_count":1},"tunnel":{"protocol":"VXLAN","IP":{"source":"1.2.3.4"},"vni":7},"unknown_array":[1,{"a":[2,3]},"x"],"unknown_null":null}})",
      R"({"flow":{"verdict":"DROPPED","Type":"L7","l7":{"type":"REQUEST","http":{"code":403,"method":"GET","url":"http://odoo.business/web/login","protocol":"HTTP/1.1","headers":[{"key":"x","value":"y"}]}},"is_reply":null,"source":{},"destination":null,"l4":{},"IP":{}},"extra":{"deep":[[[{}]]]}})",
      R"({"flow":{"verdict":"FORWARDED","l7":{}}})",
      // Deprecated reply with is_reply absent; reply false; is_reply true with reply absent.
      R"({"flow":{"verdict":"FORWARDED","reply":true}})",
      R"({"flow":{"verdict":"FORWARDED","reply":false}})",
      R"({"flow":{"verdict":"FORWARDED","is_reply":true}})",
      R"({"flow":{"verdict":"FORWARDED","reply":true,"is_reply":false}})",
      // Unknown enum names: protobuf leaves the field at its default with ignore_unknown_fields.
      R"({"flow":{"verdict":"SOMETHING_NEW","drop_reason_desc":"DROP_NO_DEVICE","Type":"L3_L4"}})",
      // Escapes in strings and keys, unicode.
      R"({"flow":{"source":{"labels":["k8s:a=\"quoted\"","k8s:b=back\\slash","k8s:c=\u00e9\u20ac\ud83d\ude00","k8s:d=tab\there\nnl\u0001"],"pod_name":"p\/q"},"\u0076erdict":"FORWARDED"}})",
      // Bare Flow objects (legacy -o json).
      R"({"time":"2021-11-10T10:41:26.095357Z","verdict":"FORWARDED","IP":{"source":"10.244.0.160","destination":"10.244.0.148","ipVersion":"IPv4"},"l4":{"ICMPv4":{}},"source":{"ID":132,"identity":4,"labels":["reserved:health"]},"destination":{"identity":1,"labels":["reserved:host"]},"Type":"L3_L4","node_name":"kind-control-plane","reply":true,"event_type":{"type":4,"sub_type":3},"traffic_direction":"INGRESS","trace_observation_point":"TO_STACK","is_reply":true,"Summary":"ICMPv4 EchoReply"})",
      R"({"verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED","nodeName":"n"})",
      // Empty response-level fields.
      R"({"flow":{},"node_name":"","time":"1970-01-01T00:00:00Z"})",
  };
}

}  // namespace tw::flow::testing
