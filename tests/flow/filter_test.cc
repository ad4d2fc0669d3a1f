// Hubble FlowFilter semantics over flow::Flow, and the observe flag builder.
#include "flow/filter.h"

#include <gtest/gtest.h>

#include "absl/time/time.h"

namespace tw::flow {
namespace {

class FilterTest : public ::testing::Test {
 protected:
  Flow MakeFlow() {
    Flow f;
    f.time = absl::FromUnixSeconds(1700000000);
    f.uuid = "11111111-2222-3333-4444-555555555555";
    f.verdict = Verdict::kDropped;
    f.drop_reason_desc = kDropPolicyDenied;
    f.source_ip = "10.0.1.15";
    f.destination_ip = "10.0.2.20";
    f.ip_version = IpVersion::kIPv4;
    f.l4.protocol = Protocol::kTCP;
    f.l4.source_port = 41234;
    f.l4.destination_port = 5432;
    f.l4.tcp_flags = kSYN;
    f.source.identity = 12345;
    f.source.namespace_ = s_.Intern("business");
    f.source.pod_name = s_.Intern("odoo-7d9f8-abcde");
    f.source.labels = {s_.Intern("k8s:app=odoo"), s_.Intern("k8s:tier=2"),
                       s_.Intern("k8s:io.kubernetes.pod.namespace=business")};
    f.source.workloads = {{s_.Intern("odoo"), s_.Intern("Deployment")}};
    f.destination.identity = 23456;
    f.destination.namespace_ = s_.Intern("business");
    f.destination.pod_name = s_.Intern("postgres-0");
    f.destination.labels = {s_.Intern("k8s:app=postgres"),
                            s_.Intern("k8s:io.kubernetes.pod.namespace=business")};
    f.node_name = s_.Intern("prod/worker-1");
    f.event_type = kEventDrop;
    f.event_sub_type = 133;
    f.traffic_direction = TrafficDirection::kIngress;
    return f;
  }
  Flow DnsFlow() {
    Flow f = MakeFlow();
    f.verdict = Verdict::kForwarded;
    f.drop_reason_desc = 0;
    f.event_type = kEventL7;
    f.event_sub_type = 0;
    f.type = FlowType::kL7;
    f.l4 = L4{};
    f.l4.protocol = Protocol::kUDP;
    f.l4.source_port = 53001;
    f.l4.destination_port = 53;
    f.l7 = L7{};
    f.l7->type = L7Type::kRequest;
    f.l7->dns = Dns{};
    f.l7->dns->query = "acme-v02.api.letsencrypt.org.";
    f.destination_names = {s_.Intern("acme-v02.api.letsencrypt.org")};
    f.is_reply = false;
    return f;
  }
  bool Match(const ::flow::FlowFilter& ff, const Flow& f) {
    auto p = CompileFlowFilter(ff);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() && (*p)(f);
  }
  SymbolTable s_;
};

TEST_F(FilterTest, EmptyFilterMatchesEverything) {
  EXPECT_TRUE(Match(::flow::FlowFilter(), MakeFlow()));
  FlowFilterSet none;
  EXPECT_TRUE(none.Matches(MakeFlow()));
  EXPECT_TRUE(none.empty());
}

TEST_F(FilterTest, FieldsAndValuesCombine) {
  Flow f = MakeFlow();
  ::flow::FlowFilter ff;
  ff.add_verdict(::flow::FORWARDED);
  EXPECT_FALSE(Match(ff, f));
  ff.add_verdict(::flow::DROPPED);  // values OR
  EXPECT_TRUE(Match(ff, f));
  ff.add_destination_port("80");  // fields AND
  EXPECT_FALSE(Match(ff, f));
  ff.add_destination_port("5432");
  EXPECT_TRUE(Match(ff, f));
}

TEST_F(FilterTest, WhitelistMinusBlacklist) {
  Flow f = MakeFlow();
  ::flow::FlowFilter fwd, drop, pg;
  fwd.add_verdict(::flow::FORWARDED);
  drop.add_verdict(::flow::DROPPED);
  pg.add_destination_pod("business/postgres");
  auto set = FlowFilterSet::Compile({fwd, drop}, {});
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->Matches(f));
  set = FlowFilterSet::Compile({fwd}, {});
  EXPECT_FALSE(set->Matches(f));
  set = FlowFilterSet::Compile({drop}, {pg});
  EXPECT_FALSE(set->Matches(f));
  set = FlowFilterSet::Compile({}, {fwd});  // empty whitelist = everything
  EXPECT_TRUE(set->Matches(f));
  // Lost events bypass filters.
  Event lost;
  lost.lost = LostEvent{};
  set = FlowFilterSet::Compile({fwd}, {});
  EXPECT_TRUE(set->Matches(lost));
}

TEST_F(FilterTest, IpExactAndCidr) {
  Flow f = MakeFlow();
  ::flow::FlowFilter ff;
  ff.add_source_ip("10.0.1.15");
  EXPECT_TRUE(Match(ff, f));
  ff.set_source_ip(0, "10.0.1.16");
  EXPECT_FALSE(Match(ff, f));
  ff.set_source_ip(0, "10.0.0.0/16");
  EXPECT_TRUE(Match(ff, f));
  ff.set_source_ip(0, "10.0.2.0/24");
  EXPECT_FALSE(Match(ff, f));
  ff.set_source_ip(0, "fd00::/8");
  EXPECT_FALSE(Match(ff, f));
  f.source_ip = "fd00::1:5";
  EXPECT_TRUE(Match(ff, f));
  ff.set_source_ip(0, "10.0.0.0/33");
  EXPECT_FALSE(CompileFlowFilter(ff).ok());
  ff.set_source_ip(0, "not-an-ip");
  EXPECT_FALSE(CompileFlowFilter(ff).ok());
}

TEST_F(FilterTest, PodPrefixAndNamespace) {
  Flow f = MakeFlow();
  ::flow::FlowFilter ff;
  ff.add_source_pod("business/");
  EXPECT_TRUE(Match(ff, f));
  ff.set_source_pod(0, "business/odoo");
  EXPECT_TRUE(Match(ff, f));
  ff.set_source_pod(0, "business/n8n");
  EXPECT_FALSE(Match(ff, f));
  ff.set_source_pod(0, "kube-system/");
  EXPECT_FALSE(Match(ff, f));
  ff.set_source_pod(0, "/odoo");  // any namespace
  EXPECT_TRUE(Match(ff, f));
  ff.set_source_pod(0, "odoo-7d");  // no namespace: "default", as Hubble's server reads it
  EXPECT_FALSE(Match(ff, f));
  ff.set_source_pod(0, "");
  EXPECT_FALSE(CompileFlowFilter(ff).ok());
}

TEST_F(FilterTest, LabelSelectors) {
  Flow f = MakeFlow();
  auto m = [&](const std::string& sel) {
    ::flow::FlowFilter ff;
    ff.add_source_label(sel);
    return Match(ff, f);
  };
  EXPECT_TRUE(m("app=odoo"));
  EXPECT_TRUE(m("k8s:app=odoo"));
  EXPECT_FALSE(m("reserved:app=odoo"));
  EXPECT_TRUE(m("app==odoo"));
  EXPECT_FALSE(m("app=n8n"));
  EXPECT_TRUE(m("app!=n8n"));
  EXPECT_FALSE(m("app!=odoo"));
  EXPECT_TRUE(m("app"));
  EXPECT_FALSE(m("!app"));
  EXPECT_TRUE(m("!debug-bypass"));
  EXPECT_TRUE(m("app in (n8n, odoo)"));
  EXPECT_FALSE(m("app notin (n8n,odoo)"));
  EXPECT_TRUE(m("app in (odoo),tier=2"));
  EXPECT_FALSE(m("app in (odoo),tier=3"));
  EXPECT_TRUE(m("missing notin (x)"));
  EXPECT_TRUE(m("io.kubernetes.pod.namespace=business"));
  f.source.labels = {s_.Intern("reserved:world")};
  EXPECT_TRUE(m("reserved:world"));
  EXPECT_FALSE(m("reserved:host"));

  EXPECT_FALSE(LabelSelector::Parse("app in (a,b").ok());
  EXPECT_FALSE(LabelSelector::Parse("app foo (a)").ok());
  EXPECT_FALSE(LabelSelector::Parse("").ok());
  EXPECT_FALSE(LabelSelector::Parse("a,,b").ok());
}

TEST_F(FilterTest, FqdnGlob) {
  Flow f = DnsFlow();
  ::flow::FlowFilter ff;
  ff.add_destination_fqdn("*.letsencrypt.org");
  EXPECT_TRUE(Match(ff, f));
  ff.set_destination_fqdn(0, "ACME-v02.api.letsencrypt.org.");
  EXPECT_TRUE(Match(ff, f));
  ff.set_destination_fqdn(0, "*.github.com");
  EXPECT_FALSE(Match(ff, f));
  EXPECT_FALSE(Match(ff, MakeFlow()));  // no names at all
  EXPECT_TRUE(FqdnGlobMatch("*", "a.b.c"));
  EXPECT_FALSE(FqdnGlobMatch("a*", "b.a"));
}

TEST_F(FilterTest, EventTypeAndSubType) {
  Flow f = MakeFlow();
  ::flow::FlowFilter ff;
  auto* et = ff.add_event_type();
  et->set_type(kEventDrop);
  EXPECT_TRUE(Match(ff, f));
  et->set_match_sub_type(true);
  et->set_sub_type(181);
  EXPECT_FALSE(Match(ff, f));
  et->set_sub_type(133);
  EXPECT_TRUE(Match(ff, f));
  et->set_type(kEventTrace);
  EXPECT_FALSE(Match(ff, f));
}

TEST_F(FilterTest, ProtocolsIncludingL7) {
  auto m = [&](const std::string& proto, const Flow& f) {
    ::flow::FlowFilter ff;
    ff.add_protocol(proto);
    return Match(ff, f);
  };
  EXPECT_TRUE(m("tcp", MakeFlow()));
  EXPECT_TRUE(m("TCP", MakeFlow()));
  EXPECT_FALSE(m("udp", MakeFlow()));
  EXPECT_TRUE(m("udp", DnsFlow()));
  EXPECT_TRUE(m("dns", DnsFlow()));
  EXPECT_FALSE(m("http", DnsFlow()));
  Flow icmp = MakeFlow();
  icmp.l4 = L4{};
  icmp.l4.protocol = Protocol::kICMPv6;
  EXPECT_TRUE(m("icmp", icmp));
  EXPECT_FALSE(m("icmpv4", icmp));
  ::flow::FlowFilter bad;
  bad.add_protocol("smtp");
  EXPECT_FALSE(CompileFlowFilter(bad).ok());
}

TEST_F(FilterTest, PortsOnlyForPortProtocols) {
  Flow f = MakeFlow();
  ::flow::FlowFilter ff;
  ff.add_source_port("41234");
  EXPECT_TRUE(Match(ff, f));
  f.l4.protocol = Protocol::kICMPv4;
  EXPECT_FALSE(Match(ff, f));
  ff.set_source_port(0, "70000");
  EXPECT_FALSE(CompileFlowFilter(ff).ok());
}

TEST_F(FilterTest, ReplyComparesIsReplyAbsentAsFalse) {
  Flow f = MakeFlow();  // is_reply unknown (a drop)
  ::flow::FlowFilter ff;
  ff.add_reply(false);
  EXPECT_TRUE(Match(ff, f));
  ff.set_reply(0, true);
  EXPECT_FALSE(Match(ff, f));
  f.is_reply = true;
  EXPECT_TRUE(Match(ff, f));
}

TEST_F(FilterTest, NodeNameGlobWithCluster) {
  Flow f = MakeFlow();  // prod/worker-1
  auto m = [&](const std::string& pat) {
    ::flow::FlowFilter ff;
    ff.add_node_name(pat);
    return Match(ff, f);
  };
  EXPECT_TRUE(m("worker-1"));
  EXPECT_TRUE(m("worker-*"));
  EXPECT_TRUE(m("prod/worker-1"));
  EXPECT_TRUE(m("*/worker-1"));
  EXPECT_FALSE(m("staging/worker-1"));
  EXPECT_FALSE(m("worker-2"));
  f.node_name = s_.Intern("worker-1");
  EXPECT_TRUE(m("worker-1"));
  EXPECT_TRUE(m("prod/worker-1"));  // cluster part is optional on the flow side
}

TEST_F(FilterTest, IdentityDirectionUuidDropReasonIpVersion) {
  Flow f = MakeFlow();
  ::flow::FlowFilter ff;
  ff.add_source_identity(12345);
  ff.add_traffic_direction(::flow::INGRESS);
  ff.add_uuid(f.uuid);
  ff.add_drop_reason_desc(::flow::POLICY_DENIED);
  ff.add_ip_version(::flow::IPv4);
  EXPECT_TRUE(Match(ff, f));
  ff.set_drop_reason_desc(0, ::flow::POLICY_DENY);
  EXPECT_FALSE(Match(ff, f));
  // Older captures carry the reason only in the drop event's sub_type.
  ff.set_drop_reason_desc(0, ::flow::POLICY_DENIED);
  f.drop_reason_desc = 0;
  EXPECT_TRUE(Match(ff, f));
  ff.set_uuid(0, "other");
  EXPECT_FALSE(Match(ff, f));
}

TEST_F(FilterTest, DnsQueryRegexAndHttp) {
  Flow f = DnsFlow();
  ::flow::FlowFilter ff;
  ff.add_dns_query("letsencrypt\\.org\\.$");
  EXPECT_TRUE(Match(ff, f));
  ff.set_dns_query(0, "^github");
  EXPECT_FALSE(Match(ff, f));
  ff.set_dns_query(0, "([");
  EXPECT_FALSE(CompileFlowFilter(ff).ok());

  Flow h = MakeFlow();
  h.l7 = L7{};
  h.l7->http = Http{503, "GET", "http://odoo.business:8069/web/login?x=1", "HTTP/1.1", {}};
  ::flow::FlowFilter hf;
  hf.add_http_status_code("5+");
  hf.add_http_method("get");
  hf.add_http_path("^/web/");
  EXPECT_TRUE(Match(hf, h));
  hf.set_http_status_code(0, "404");
  EXPECT_FALSE(Match(hf, h));
}

TEST_F(FilterTest, TcpFlagsWorkloadsUnsupported) {
  Flow f = MakeFlow();
  ::flow::FlowFilter ff;
  ff.add_tcp_flags()->set_syn(true);
  auto* w = ff.add_source_workload();
  w->set_name("odoo");
  EXPECT_TRUE(Match(ff, f));
  ff.mutable_tcp_flags(0)->set_ack(true);
  EXPECT_FALSE(Match(ff, f));
}

// Builds a request from hubble-style flags given as {flag, value} in command-line order;
// {"not", ""} is --not.
absl::StatusOr<FilterRequest> Flags(std::vector<std::pair<std::string, std::string>> flags) {
  ObserveFilterBuilder b;
  for (const auto& [f, v] : flags) {
    absl::Status st = f == "not" ? b.Not() : b.Set(f, v);
    if (!st.ok()) return st;
  }
  return b.Build();
}

std::vector<std::string> Strs(const google::protobuf::RepeatedPtrField<std::string>& r) {
  return std::vector<std::string>(r.begin(), r.end());
}

TEST_F(FilterTest, ObserveFlagsNamespaceIsEitherSide) {
  auto req = Flags({{"namespace", "business"}, {"verdict", "dropped"}});
  ASSERT_TRUE(req.ok()) << req.status();
  ASSERT_EQ(req->whitelist.size(), 2u);
  EXPECT_EQ(Strs(req->whitelist[0].source_pod()), std::vector<std::string>{"business/"});
  EXPECT_EQ(Strs(req->whitelist[1].destination_pod()), std::vector<std::string>{"business/"});
  EXPECT_EQ(req->whitelist[0].verdict(0), ::flow::DROPPED);
  EXPECT_EQ(req->whitelist[1].verdict(0), ::flow::DROPPED);

  auto set = FlowFilterSet::Compile(req->whitelist, req->blacklist);
  ASSERT_TRUE(set.ok());
  Flow f = MakeFlow();
  EXPECT_TRUE(set->Matches(f));
  f.source.namespace_ = s_.Intern("kube-system");  // destination still in business
  EXPECT_TRUE(set->Matches(f));
  f.destination.namespace_ = s_.Intern("kube-system");
  EXPECT_FALSE(set->Matches(f));
}

// The shapes hubble's CLI builds (its cmd/observe tests describe the same requests).
TEST_F(FilterTest, ObserveFlagsBuildWhatHubbleBuilds) {
  // --from-pod with --from-namespace: one filter, the namespace qualifies the pod.
  auto one = Flags({{"from-pod", "odoo"}, {"to-port", "5432"}, {"from-namespace", "business"}});
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->whitelist.size(), 1u);
  EXPECT_EQ(Strs(one->whitelist[0].source_pod()), std::vector<std::string>{"business/odoo"});
  EXPECT_EQ(Strs(one->whitelist[0].destination_port()), std::vector<std::string>{"5432"});

  // A pod without a namespace goes out as given; the server reads it as default/.
  auto bare = Flags({{"to-pod", "postgres"}});
  EXPECT_EQ(Strs(bare->whitelist[0].destination_pod()), std::vector<std::string>{"postgres"});

  // --to-namespace with --port: the either-side flag makes two filters.
  auto two = Flags({{"to-namespace", "cilium"}, {"port", "443"}});
  ASSERT_EQ(two->whitelist.size(), 2u);
  EXPECT_EQ(Strs(two->whitelist[0].destination_pod()), std::vector<std::string>{"cilium/"});
  EXPECT_EQ(Strs(two->whitelist[0].source_port()), std::vector<std::string>{"443"});
  EXPECT_EQ(Strs(two->whitelist[1].destination_port()), std::vector<std::string>{"443"});

  // -A / --all-namespaces: any namespace.
  auto all = Flags({{"all-namespaces", ""}, {"pod", "foo"}});
  ASSERT_EQ(all->whitelist.size(), 2u);
  EXPECT_EQ(Strs(all->whitelist[0].source_pod()), std::vector<std::string>{"/foo"});
  EXPECT_EQ(Strs(all->whitelist[1].destination_pod()), std::vector<std::string>{"/foo"});
  auto to_all = Flags({{"to-all-namespaces", ""}});
  EXPECT_EQ(Strs(to_all->whitelist[0].destination_pod()), std::vector<std::string>{"/"});

  // --not: the next flag only, into the blacklist with its own left/right pair.
  auto neg = Flags({{"ip", "1.2.3.4"},
                    {"verdict", "DROPPED"},
                    {"not", ""},
                    {"pod", "deathstar"},
                    {"not", ""},
                    {"http-status", "200"},
                    {"http-method", "get"}});
  ASSERT_TRUE(neg.ok()) << neg.status();
  ASSERT_EQ(neg->whitelist.size(), 2u);
  EXPECT_EQ(Strs(neg->whitelist[0].source_ip()), std::vector<std::string>{"1.2.3.4"});
  EXPECT_EQ(Strs(neg->whitelist[1].destination_ip()), std::vector<std::string>{"1.2.3.4"});
  EXPECT_EQ(Strs(neg->whitelist[0].http_method()), std::vector<std::string>{"get"});
  ASSERT_EQ(neg->blacklist.size(), 2u);
  EXPECT_EQ(Strs(neg->blacklist[0].source_pod()), std::vector<std::string>{"deathstar"});
  EXPECT_EQ(Strs(neg->blacklist[0].http_status_code()), std::vector<std::string>{"200"});
  EXPECT_EQ(Strs(neg->blacklist[1].destination_pod()), std::vector<std::string>{"deathstar"});

  // Labels: several requirements in one string stay one selector; -l is --label.
  auto labels = Flags({{"label", "k1=v1,k2=v2"}, {"label", "k3"}});
  EXPECT_EQ(Strs(labels->whitelist[0].source_label()),
            (std::vector<std::string>{"k1=v1,k2=v2", "k3"}));

  // Workloads, clusters, TCP flags, identities by name, -4.
  auto misc = Flags({{"from-workload", "Deployment/app"},
                     {"to-cluster", "prod"},
                     {"tcp-flags", "syn,ack"},
                     {"from-identity", "world"},
                     {"ipv4", ""},
                     {"encrypted", ""},
                     {"trace-id", "abc"},
                     {"interface", "eth0"}});
  ASSERT_TRUE(misc.ok()) << misc.status();
  const auto& m = misc->whitelist[0];
  EXPECT_EQ(m.source_workload(0).kind(), "Deployment");
  EXPECT_EQ(m.source_workload(0).name(), "app");
  EXPECT_EQ(m.destination_cluster_name(0), "prod");
  EXPECT_TRUE(m.tcp_flags(0).syn() && m.tcp_flags(0).ack());
  EXPECT_EQ(m.source_identity(0), 2u);
  EXPECT_EQ(m.ip_version(0), ::flow::IPv4);
  EXPECT_TRUE(m.encrypted(0));
  EXPECT_EQ(m.trace_id(0), "abc");
  EXPECT_EQ(m.interface(0).name(), "eth0");
}

TEST_F(FilterTest, ObserveFlagsRefuseWhatHubbleRefuses) {
  auto err = [](std::vector<std::pair<std::string, std::string>> f) {
    auto r = Flags(std::move(f));
    return r.ok() ? std::string() : std::string(r.status().message());
  };
  EXPECT_EQ(err({{"from-ip", "1.2.3.4"}, {"from-fqdn", "x.io"}}),
            "filters --from-fqdn and --from-ip cannot be combined");
  EXPECT_EQ(err({{"from-service", "a"}, {"service", "b"}}),
            "filters --service and --from-service cannot be combined");
  EXPECT_NE(err({{"namespace", "a"}, {"to-pod", "x"}}), "");
  EXPECT_EQ(err({{"to-namespace", "kube-system"}, {"to-pod", "cilium/foo"}}),
            "namespace conflict: \"kube-system\" does not contain \"cilium/foo\"");
  EXPECT_EQ(err({{"from-ip", "1.2.3.4"}, {"not", ""}}), "trailing --not found in the arguments");
  EXPECT_EQ(err({{"not", ""}, {"not", ""}}), "consecutive --not statements");
  EXPECT_NE(err({{"tcp-flags", "syn,"}}), "");
  EXPECT_NE(err({{"tcp-flags", "bogus"}}), "");
  EXPECT_NE(err({{"http-header", "nocolon"}}), "");
  EXPECT_NE(err({{"verdict", "MAYBE"}}), "");
  EXPECT_NE(err({{"port", "http"}}), "");
  EXPECT_NE(err({{"type", "bogus"}}), "");
  EXPECT_NE(err({{"label", "app in (x"}}), "");
  EXPECT_NE(err({{"identity", "bad"}}), "");
  EXPECT_TRUE(Flags({})->whitelist.empty());
  // Allowed combinations.
  EXPECT_EQ(err({{"to-service", "foo"}, {"from-service", "bar"}}), "");
  EXPECT_EQ(err({{"namespace", "test"}, {"pod", "blib"}, {"service", "bar"}}), "");
}

// How the server (and so the replay relay) reads names, HTTP codes, headers, trace ids and
// encryption, as Hubble's filters do.
TEST_F(FilterTest, ServerSideSemanticsFollowHubble) {
  Flow f = MakeFlow();  // business/odoo-... -> business/postgres-0
  ::flow::FlowFilter bare;
  bare.add_source_pod("odoo");  // no namespace: "default"
  EXPECT_FALSE(Match(bare, f));
  ::flow::FlowFilter any;
  any.add_source_pod("/odoo");
  EXPECT_TRUE(Match(any, f));
  ::flow::FlowFilter everyone;
  everyone.add_destination_pod("/");
  EXPECT_TRUE(Match(everyone, f));
  Flow world = f;
  world.destination = Endpoint();
  EXPECT_FALSE(Match(everyone, world));  // not a Kubernetes endpoint

  Flow http = f;
  http.l7.emplace();
  http.l7->http.emplace();
  http.l7->http->code = 404;
  http.l7->http->headers = {{"X-Request-Id", "42"}};
  http.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  http.encrypted = true;
  for (const char* code : {"404", "4+", "40+"}) {
    ::flow::FlowFilter st;
    st.add_http_status_code(code);
    EXPECT_TRUE(Match(st, http)) << code;
  }
  ::flow::FlowFilter no;
  no.add_http_status_code("41+");
  EXPECT_FALSE(Match(no, http));
  ::flow::FlowFilter bad;
  bad.add_http_status_code("4xx");
  EXPECT_FALSE(CompileFlowFilter(bad).ok());
  ::flow::FlowFilter hdr;
  auto* h = hdr.add_http_header();
  h->set_key("X-Request-Id");
  h->set_value("42");
  EXPECT_TRUE(Match(hdr, http));
  h->set_value("43");
  EXPECT_FALSE(Match(hdr, http));
  ::flow::FlowFilter trace;
  trace.add_trace_id("4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_TRUE(Match(trace, http));
  EXPECT_FALSE(Match(trace, f));
  ::flow::FlowFilter enc;
  enc.add_encrypted(true);
  EXPECT_TRUE(Match(enc, http));
  EXPECT_FALSE(Match(enc, f));
}

TEST_F(FilterTest, EventTypeNames) {
  auto et = ParseEventTypeFilter("trace:to-endpoint");
  ASSERT_TRUE(et.ok());
  EXPECT_EQ(et->type(), kEventTrace);
  EXPECT_TRUE(et->match_sub_type());
  EXPECT_EQ(et->sub_type(), 0);
  et = ParseEventTypeFilter("drop:POLICY_DENY");
  ASSERT_TRUE(et.ok());
  EXPECT_EQ(et->sub_type(), 181);
  et = ParseEventTypeFilter("policy-verdict");
  EXPECT_EQ(et->type(), kEventPolicyVerdict);
  EXPECT_FALSE(et->match_sub_type());
  EXPECT_EQ(ParseEventTypeFilter("l7")->type(), kEventL7);
}

}  // namespace
}  // namespace tw::flow
