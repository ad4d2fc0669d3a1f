// The real corpus (../shared/data/hubble-otel-flows, 1,916 flows from Cilium 1.10) decodes
// with zero errors, and decoded fields equal values read by eye from the files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "common/time_format.h"
#include "flow/json.h"
#include "testing/paths.h"

namespace tw::flow {
namespace {

struct CorpusFile {
  std::vector<std::string> lines;
  std::vector<Event> events;
};

class JsonCorpus : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tw::testing::SharedCorpusDir();
    if (dir_.empty()) GTEST_SKIP() << tw::testing::kNoSharedReason;
  }

  // Decodes a corpus file; every line must decode.
  const CorpusFile& Load(const std::string& name) {
    auto it = files_.find(name);
    if (it != files_.end()) return it->second;
    CorpusFile& f = files_[name];
    std::ifstream in(std::filesystem::path(dir_) / name);
    EXPECT_TRUE(in.good()) << name;
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      absl::StatusOr<Event> ev = decoder_.Decode(line);
      EXPECT_TRUE(ev.ok()) << name << ":" << n << ": " << ev.status();
      if (!ev.ok()) continue;
      f.lines.push_back(line);
      f.events.push_back(std::move(*ev));
    }
    return f;
  }

  const Flow& FlowAt(const std::string& name, size_t line) {
    const CorpusFile& f = Load(name);
    EXPECT_GE(f.events.size(), line);
    EXPECT_TRUE(f.events[line - 1].flow.has_value());
    return *f.events[line - 1].flow;
  }

  std::string dir_;
  SymbolTable symbols_;
  JsonDecoder decoder_{symbols_};
  std::map<std::string, CorpusFile> files_;
};

const char* const kFiles[] = {
    "basic-sample-10-flows.jsonl",
    "basic-sample-330-dns-flows.jsonl",
    "basic-sample-348-http-flows.jsonl",
    "basic-sample-400-icmpv4-flows.jsonl",
    "basic-sample-400-l7-redirected-flows.jsonl",
    "basic-sample-400-tcp-flows.jsonl",
    "basic-sample-400-udp-flows.jsonl",
    "basic-sample-5-dns-flows.jsonl",
    "basic-sample-5-http-flows.jsonl",
};

TEST_F(JsonCorpus, AllFlowsDecodeAndCountsMatchTheTable) {
  // hubble-api.md §6.2: lines and REDIRECTED flows per file.
  const std::map<std::string, std::pair<size_t, size_t>> expected = {
      {"basic-sample-10-flows.jsonl", {10, 0}},
      {"basic-sample-330-dns-flows.jsonl", {330, 0}},
      {"basic-sample-348-http-flows.jsonl", {348, 0}},
      {"basic-sample-400-icmpv4-flows.jsonl", {18, 0}},
      {"basic-sample-400-l7-redirected-flows.jsonl", {400, 400}},
      {"basic-sample-400-tcp-flows.jsonl", {400, 27}},
      {"basic-sample-400-udp-flows.jsonl", {400, 30}},
      {"basic-sample-5-dns-flows.jsonl", {5, 0}},
      {"basic-sample-5-http-flows.jsonl", {5, 0}},
  };
  size_t total = 0, reply_true = 0, reply_false = 0, reply_unknown = 0;
  for (const char* name : kFiles) {
    const CorpusFile& f = Load(name);
    size_t redirected = 0, forwarded = 0;
    for (const Event& ev : f.events) {
      ASSERT_TRUE(ev.flow.has_value()) << name;
      EXPECT_FALSE(ev.lost || ev.node_status);
      const Flow& fl = *ev.flow;
      if (fl.verdict == Verdict::kRedirected) ++redirected;
      if (fl.verdict == Verdict::kForwarded) ++forwarded;
      if (!fl.is_reply)
        ++reply_unknown;
      else if (*fl.is_reply)
        ++reply_true;
      else
        ++reply_false;
      // Every line carries the response-level node_name and time equal to the flow's.
      EXPECT_EQ(ev.node_name, fl.node_name);
      EXPECT_EQ(ev.time, fl.time);
      EXPECT_NE(fl.time, absl::UnixEpoch());
    }
    auto [lines, redirected_expected] = expected.at(name);
    EXPECT_EQ(f.events.size(), lines) << name;
    EXPECT_EQ(redirected, redirected_expected) << name;
    EXPECT_EQ(forwarded + redirected, lines) << name << ": only FORWARDED and REDIRECTED";
    total += f.events.size();
  }
  EXPECT_EQ(total, 1916u);
  // is_reply: 626 true + 5 from the deprecated `reply` alone, 1,149 explicit false, 136
  // with neither key (counted with jq over the files).
  EXPECT_EQ(reply_true, 631u);
  EXPECT_EQ(reply_false, 1149u);
  EXPECT_EQ(reply_unknown, 136u);
}

TEST_F(JsonCorpus, TcpTraceFlowWithDeprecatedReply) {
  // basic-sample-10-flows.jsonl line 1: `reply` true, no `is_reply` (Cilium 1.10).
  const Flow& f = FlowAt("basic-sample-10-flows.jsonl", 1);
  EXPECT_EQ(FormatRfc3339(f.time), "2021-06-16T16:52:13.136834446Z");
  EXPECT_EQ(f.verdict, Verdict::kForwarded);
  EXPECT_EQ(f.source_ip, "10.0.2.16");
  EXPECT_EQ(f.destination_ip, "10.0.2.1");
  EXPECT_EQ(f.ip_version, IpVersion::kIPv4);
  EXPECT_EQ(f.l4.protocol, Protocol::kTCP);
  EXPECT_EQ(f.l4.source_port, 15020);
  EXPECT_EQ(f.l4.destination_port, 42044);
  EXPECT_EQ(f.l4.tcp_flags, kFIN | kACK);
  EXPECT_EQ(f.source.id, 1231u);
  EXPECT_EQ(f.source.identity, 25339u);
  EXPECT_EQ(f.source.namespace_, "bookinfo");
  EXPECT_EQ(f.source.pod_name, "reviews-v1-545db77b95-s6jb8");
  ASSERT_EQ(f.source.labels.size(), 7u);
  EXPECT_EQ(f.source.labels[0], "k8s:app=reviews");
  EXPECT_EQ(f.source.labels[6], "k8s:version=v1");
  EXPECT_EQ(f.source.WorkloadName(), "reviews");
  EXPECT_EQ(f.source.reserved, kReservedNone);
  EXPECT_EQ(f.destination.identity, 1u);
  EXPECT_EQ(f.destination.reserved, kReservedHost);
  EXPECT_EQ(f.type, FlowType::kL3L4);
  EXPECT_EQ(f.node_name, "gke-ilya-otel-demo-1-ilya-otel-demo-1-6114bb84-zr1l");
  EXPECT_EQ(f.is_reply, std::optional<bool>(true));
  EXPECT_EQ(f.event_type, kEventTrace);
  EXPECT_EQ(f.event_sub_type, 3);
  EXPECT_EQ(f.traffic_direction, TrafficDirection::kIngress);
  EXPECT_EQ(f.trace_observation_point, 3);  // TO_STACK
  EXPECT_EQ(f.summary, "TCP Flags: ACK, FIN");
  EXPECT_FALSE(f.l7.has_value());
}

TEST_F(JsonCorpus, DnsAnswer) {
  // basic-sample-330-dns-flows.jsonl line 6: an L7 DNS response with one answer.
  const Flow& f = FlowAt("basic-sample-330-dns-flows.jsonl", 6);
  EXPECT_EQ(f.type, FlowType::kL7);
  EXPECT_EQ(f.event_type, kEventL7);
  ASSERT_TRUE(f.l7.has_value());
  EXPECT_EQ(f.l7->type, L7Type::kResponse);
  ASSERT_TRUE(f.l7->dns.has_value());
  EXPECT_FALSE(f.l7->http.has_value());
  EXPECT_EQ(f.l7->dns->query, "istiod-istio-1611.istio-system.svc.cluster.local.");
  EXPECT_EQ(f.l7->dns->ips, std::vector<std::string>{"10.160.0.203"});
  EXPECT_EQ(f.l7->dns->ttl, 30u);
  EXPECT_EQ(f.l7->dns->observation_source, "proxy");
  EXPECT_EQ(f.l7->dns->qtypes, std::vector<std::string>{"A"});
  EXPECT_EQ(f.l7->dns->rrtypes, std::vector<std::string>{"A"});
  EXPECT_EQ(f.source.pod_name, "kube-dns-b4f5c58c7-vnx5s");
  EXPECT_EQ(f.source.WorkloadName(), "kube-dns");
  EXPECT_EQ(f.destination.WorkloadName(), "node-local-dns");
  EXPECT_EQ(f.l4.source_port, 53);
  EXPECT_EQ(f.is_reply, std::optional<bool>(true));
  EXPECT_EQ(f.summary,
            "DNS Answer \"10.160.0.203\" TTL: 30 (Proxy "
            "istiod-istio-1611.istio-system.svc.cluster.local. A)");
}

TEST_F(JsonCorpus, HttpRequestToWorld) {
  // basic-sample-5-http-flows.jsonl line 1: Prometheus scraping an IP in the world.
  const Flow& f = FlowAt("basic-sample-5-http-flows.jsonl", 1);
  ASSERT_TRUE(f.l7 && f.l7->http);
  EXPECT_EQ(f.l7->type, L7Type::kRequest);
  EXPECT_EQ(f.l7->http->method, "GET");
  EXPECT_EQ(f.l7->http->url, "http://10.128.0.4:9990/metrics");
  EXPECT_EQ(f.l7->http->protocol, "HTTP/1.1");
  EXPECT_EQ(f.l7->http->code, 0u);
  EXPECT_EQ(f.destination.reserved, kReservedWorld);
  EXPECT_EQ(ReservedEntityName(f.destination.reserved), "world");
  EXPECT_EQ(f.source.WorkloadName(), "prometheus");
  EXPECT_EQ(f.is_reply, std::optional<bool>(false));
}

TEST_F(JsonCorpus, PolicyVerdictRedirectedToDnsProxy) {
  // basic-sample-400-l7-redirected-flows.jsonl line 102 (hubble-api.md Extra D).
  const Flow& f = FlowAt("basic-sample-400-l7-redirected-flows.jsonl", 102);
  EXPECT_EQ(FormatRfc3339(f.time), "2021-11-10T10:41:04.849510Z");
  EXPECT_EQ(f.verdict, Verdict::kRedirected);
  EXPECT_EQ(f.source_ip, "10.244.0.206");
  EXPECT_EQ(f.destination_ip, "10.244.1.80");
  EXPECT_EQ(f.l4.protocol, Protocol::kUDP);
  EXPECT_EQ(f.l4.source_port, 44680);
  EXPECT_EQ(f.l4.destination_port, 53);
  EXPECT_EQ(f.source.id, 2078u);
  EXPECT_EQ(f.source.identity, 16370u);
  EXPECT_EQ(f.source.LabelValue("k8s:io.cilium.k8s.policy.serviceaccount"),
            std::optional<absl::string_view>("bookinfo-ratings"));
  EXPECT_EQ(f.source.WorkloadName(), "ratings");
  EXPECT_EQ(f.destination.namespace_, "kube-system");
  // The pod is coredns-...: named after it (its k8s-app label says kube-dns).
  EXPECT_EQ(f.destination.WorkloadName(), "coredns");
  EXPECT_EQ(f.event_type, kEventPolicyVerdict);
  EXPECT_EQ(f.traffic_direction, TrafficDirection::kEgress);
  EXPECT_EQ(f.policy_match_type, 2u);
  EXPECT_EQ(f.is_reply, std::optional<bool>(false));
  EXPECT_FALSE(f.IsPolicyVerdictDrop());
}

TEST_F(JsonCorpus, HealthIcmpEchoReply) {
  // basic-sample-400-icmpv4-flows.jsonl line 2 (hubble-api.md Example B): "ICMPv4":{}.
  const Flow& f = FlowAt("basic-sample-400-icmpv4-flows.jsonl", 2);
  EXPECT_EQ(f.l4.protocol, Protocol::kICMPv4);
  EXPECT_EQ(f.l4.icmp_type, 0);
  EXPECT_EQ(f.source.reserved, kReservedHealth);
  EXPECT_EQ(f.source.id, 132u);
  EXPECT_EQ(f.destination.reserved, kReservedHost);
  EXPECT_EQ(f.is_reply, std::optional<bool>(true));
  EXPECT_EQ(f.summary, "ICMPv4 EchoReply");
}

TEST_F(JsonCorpus, LabelsAndNamesAreInterned) {
  for (const char* name : kFiles) Load(name);
  // 1,916 flows carry ~21k label strings; interning keeps one copy of each distinct value.
  EXPECT_LT(symbols_.size(), 2000u);
  const Flow& a = FlowAt("basic-sample-400-tcp-flows.jsonl", 1);
  const Flow& b = FlowAt("basic-sample-400-tcp-flows.jsonl", 2);
  EXPECT_EQ(&a.node_name.str(), &b.node_name.str());
}

}  // namespace
}  // namespace tw::flow
