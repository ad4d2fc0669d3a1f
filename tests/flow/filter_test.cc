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
  ff.set_source_pod(0, "odoo-7d");
  EXPECT_TRUE(Match(ff, f));
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
  h.l7->http = Http{503, "GET", "http://odoo.business:8069/web/login?x=1", "HTTP/1.1"};
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

  ::flow::FlowFilter hdr;
  hdr.add_http_header()->set_key("x");
  EXPECT_EQ(CompileFlowFilter(hdr).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FilterTest, ObserveFlagsNamespaceIsEitherSide) {
  ObserveFilterFlags fl;
  fl.namespace_ = {"business"};
  fl.verdict = {"dropped"};
  auto req = BuildObserveFilters(fl);
  ASSERT_TRUE(req.ok()) << req.status();
  ASSERT_EQ(req->whitelist.size(), 2u);
  EXPECT_EQ(req->whitelist[0].source_pod(0), "business/");
  EXPECT_EQ(req->whitelist[1].destination_pod(0), "business/");
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

TEST_F(FilterTest, ObserveFlagsOneSidedCollapseToOneFilter) {
  ObserveFilterFlags fl;
  fl.from_pod = {"odoo"};
  fl.to_port = {"5432"};
  fl.from_namespace = {"business"};
  fl.type = {"drop"};
  fl.protocol = {"tcp"};
  auto req = BuildObserveFilters(fl);
  ASSERT_TRUE(req.ok()) << req.status();
  ASSERT_EQ(req->whitelist.size(), 1u);
  const auto& w = req->whitelist[0];
  ASSERT_EQ(w.source_pod_size(), 1);
  EXPECT_EQ(w.source_pod(0), "business/odoo");  // the namespace qualified the pod
  EXPECT_EQ(w.destination_port(0), "5432");
  EXPECT_EQ(w.event_type(0).type(), kEventDrop);
  auto set = FlowFilterSet::Compile(req->whitelist, req->blacklist);
  EXPECT_TRUE(set->Matches(MakeFlow()));

  ObserveFilterFlags unq;
  unq.to_pod = {"postgres"};
  req = BuildObserveFilters(unq);
  EXPECT_EQ(req->whitelist[0].destination_pod(0), "default/postgres");
}

TEST_F(FilterTest, ObserveFlagsRejectBadValues) {
  ObserveFilterFlags fl;
  fl.verdict = {"MAYBE"};
  EXPECT_FALSE(BuildObserveFilters(fl).ok());
  fl = {};
  fl.port = {"http"};
  EXPECT_FALSE(BuildObserveFilters(fl).ok());
  fl = {};
  fl.type = {"bogus"};
  EXPECT_FALSE(BuildObserveFilters(fl).ok());
  fl = {};
  fl.label = {"app in (x"};
  EXPECT_FALSE(BuildObserveFilters(fl).ok());
  fl = {};
  EXPECT_TRUE(BuildObserveFilters(fl)->whitelist.empty());
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
