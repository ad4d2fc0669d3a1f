// One test per FlowFilter field builder (CompileFlowFilterField): each field, set alone,
// keeps a flow it describes and drops one it does not. Every field of the proto is covered.
#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <set>
#include <string>

#include "absl/time/time.h"
#include "flow/filter.h"

namespace tw::flow {
namespace {

using ::flow::FlowFilter;

struct FieldCase {
  std::string field;
  std::function<void(FlowFilter*)> keeps;  // a value that describes Sample()
  std::function<void(FlowFilter*)> drops;  // a value that does not
};
void PrintTo(const FieldCase& c, std::ostream* os) { *os << c.field; }

// One flow carrying every field a filter can look at (L7 with both DNS and HTTP records, so
// one flow serves every case).
Flow Sample(SymbolTable& s) {
  Flow f;
  f.time = absl::FromUnixSeconds(1700000000);
  f.uuid = "uuid-1";
  f.verdict = Verdict::kDropped;
  f.drop_reason_desc = kDropPolicyDenied;
  f.source_ip = "10.0.1.15";
  f.source_ip_xlated = "192.0.2.1";
  f.destination_ip = "10.0.2.20";
  f.ip_version = IpVersion::kIPv4;
  f.l4.protocol = Protocol::kTCP;
  f.l4.source_port = 41234;
  f.l4.destination_port = 8080;
  f.l4.tcp_flags = kSYN;
  f.is_reply = false;
  f.encrypted = true;
  f.trace_id = "trace-1";
  f.interface_index = 7;
  f.interface_name = s.Intern("eth0");
  f.node_name = s.Intern("prod/worker-1");
  f.node_labels = {s.Intern("kubernetes.io/os=linux")};
  f.event_type = kEventDrop;
  f.event_sub_type = 133;
  f.traffic_direction = TrafficDirection::kIngress;
  f.source.identity = 1001;
  f.source.cluster_name = s.Intern("prod");
  f.source.namespace_ = s.Intern("shop");
  f.source.pod_name = s.Intern("web-1");
  f.source.labels = {s.Intern("k8s:app=web")};
  f.source.workloads = {{s.Intern("web"), s.Intern("Deployment")}};
  f.source_names = {s.Intern("web.example.com")};
  f.source_service = {s.Intern("web"), s.Intern("shop")};
  f.destination.identity = 1002;
  f.destination.cluster_name = s.Intern("prod");
  f.destination.namespace_ = s.Intern("shop");
  f.destination.pod_name = s.Intern("api-1");
  f.destination.labels = {s.Intern("k8s:app=api")};
  f.destination.workloads = {{s.Intern("api"), s.Intern("StatefulSet")}};
  f.destination_names = {s.Intern("api.example.com")};
  f.destination_service = {s.Intern("api"), s.Intern("shop")};
  f.l7 = L7{};
  f.l7->http = Http{404, "GET", "http://api/v1/items?x=1", "HTTP/1.1", {{"x-team", "blue"}}};
  f.l7->dns = Dns{};
  f.l7->dns->query = "api.example.com.";
  return f;
}

#define CASE(name, keep, drop)                                        \
  FieldCase {                                                         \
#name, [](FlowFilter * f) { keep; }, [](FlowFilter * f) { drop; } \
  }

std::vector<FieldCase> Cases() {
  return {
      CASE(uuid, f->add_uuid("uuid-1"), f->add_uuid("uuid-2")),
      CASE(source_ip, f->add_source_ip("10.0.1.0/24"), f->add_source_ip("10.0.2.0/24")),
      CASE(source_ip_xlated, f->add_source_ip_xlated("192.0.2.1"),
           f->add_source_ip_xlated("192.0.2.2")),
      CASE(destination_ip, f->add_destination_ip("10.0.2.20"), f->add_destination_ip("10.0.1.15")),
      CASE(source_pod, f->add_source_pod("shop/web"), f->add_source_pod("shop/api")),
      CASE(destination_pod, f->add_destination_pod("shop/"), f->add_destination_pod("other/")),
      CASE(source_service, f->add_source_service("shop/web"), f->add_source_service("shop/api")),
      CASE(destination_service, f->add_destination_service("shop/api"),
           f->add_destination_service("shop/web")),
      CASE(source_fqdn, f->add_source_fqdn("*.example.com"), f->add_source_fqdn("*.example.org")),
      CASE(destination_fqdn, f->add_destination_fqdn("api.example.com"),
           f->add_destination_fqdn("web.example.com")),
      CASE(source_label, f->add_source_label("app=web"), f->add_source_label("app!=web")),
      CASE(destination_label, f->add_destination_label("k8s:app in (api,db)"),
           f->add_destination_label("!app")),
      CASE(node_labels, f->add_node_labels("kubernetes.io/os=linux"),
           f->add_node_labels("kubernetes.io/os=windows")),
      CASE(source_workload, f->add_source_workload()->set_kind("Deployment"),
           f->add_source_workload()->set_name("api")),
      CASE(destination_workload, f->add_destination_workload()->set_name("api"),
           f->add_destination_workload()->set_kind("Deployment")),
      CASE(source_cluster_name, f->add_source_cluster_name("prod"),
           f->add_source_cluster_name("staging")),
      CASE(destination_cluster_name, f->add_destination_cluster_name("prod"),
           f->add_destination_cluster_name("staging")),
      CASE(traffic_direction, f->add_traffic_direction(::flow::INGRESS),
           f->add_traffic_direction(::flow::EGRESS)),
      CASE(verdict, f->add_verdict(::flow::DROPPED), f->add_verdict(::flow::FORWARDED)),
      CASE(drop_reason_desc, f->add_drop_reason_desc(::flow::POLICY_DENIED),
           f->add_drop_reason_desc(::flow::CT_MAP_INSERTION_FAILED)),
      CASE(interface, f->add_interface()->set_name("eth0"), f->add_interface()->set_index(8)),
      CASE(event_type, f->add_event_type()->set_type(kEventDrop),
           f->add_event_type()->set_type(kEventPolicyVerdict)),
      CASE(http_status_code, f->add_http_status_code("4+"), f->add_http_status_code("200")),
      CASE(protocol, f->add_protocol("TCP"), f->add_protocol("udp")),
      CASE(source_port, f->add_source_port("41234"), f->add_source_port("8080")),
      CASE(destination_port, f->add_destination_port("8080"), f->add_destination_port("41234")),
      CASE(reply, f->add_reply(false), f->add_reply(true)),
      CASE(dns_query, f->add_dns_query("example\\.com"), f->add_dns_query("example\\.org")),
      CASE(source_identity, f->add_source_identity(1001), f->add_source_identity(1002)),
      CASE(destination_identity, f->add_destination_identity(1002),
           f->add_destination_identity(1001)),
      CASE(http_method, f->add_http_method("get"), f->add_http_method("POST")),
      CASE(http_path, f->add_http_path("^/v1/"), f->add_http_path("^http")),
      CASE(http_url, f->add_http_url("^http://api/"), f->add_http_url("^/v1/")),
      CASE(
          http_header,
          {
            auto* h = f->add_http_header();
            h->set_key("x-team");
            h->set_value("blue");
          },
          {
            auto* h = f->add_http_header();
            h->set_key("x-team");
            h->set_value("red");
          }),
      CASE(tcp_flags, f->add_tcp_flags()->set_syn(true), f->add_tcp_flags()->set_fin(true)),
      CASE(node_name, f->add_node_name("prod/worker-*"), f->add_node_name("staging/*")),
      CASE(ip_version, f->add_ip_version(::flow::IPv4), f->add_ip_version(::flow::IPv6)),
      CASE(trace_id, f->add_trace_id("trace-1"), f->add_trace_id("trace-2")),
      CASE(encrypted, f->add_encrypted(true), f->add_encrypted(false)),
  };
}
#undef CASE

class FilterFieldTest : public ::testing::TestWithParam<FieldCase> {
 protected:
  bool Matches(const std::function<void(FlowFilter*)>& set) {
    FlowFilter ff;
    set(&ff);
    auto field = CompileFlowFilterField(GetParam().field, ff);
    EXPECT_TRUE(field.ok()) << field.status();
    auto whole = CompileFlowFilter(ff);
    EXPECT_TRUE(whole.ok()) << whole.status();
    if (!field.ok() || !whole.ok()) return false;
    Flow f = Sample(symbols_);
    // The field's builder alone and the whole filter agree when only that field is set.
    EXPECT_EQ((*field)(f), (*whole)(f));
    return (*field)(f);
  }
  SymbolTable symbols_;
};

TEST_P(FilterFieldTest, KeepsAFlowItDescribes) { EXPECT_TRUE(Matches(GetParam().keeps)); }
TEST_P(FilterFieldTest, DropsAFlowItDoesNotDescribe) { EXPECT_FALSE(Matches(GetParam().drops)); }

TEST_P(FilterFieldTest, EmptyFieldKeepsEverything) {
  auto p = CompileFlowFilterField(GetParam().field, FlowFilter());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE((*p)(Sample(symbols_)));
  EXPECT_TRUE((*p)(Flow()));
}

INSTANTIATE_TEST_SUITE_P(EveryField, FilterFieldTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<FieldCase>& info) {
                           return info.param.field;
                         });

TEST(FlowFilterFieldsTest, EveryProtoFieldHasABuilderAndATest) {
  std::set<std::string> builders(FlowFilterFields().begin(), FlowFilterFields().end());
  std::set<std::string> tested;
  for (const FieldCase& c : Cases()) tested.insert(c.field);
  const google::protobuf::Descriptor* d = FlowFilter::descriptor();
  std::set<std::string> proto;
  for (int i = 0; i < d->field_count(); ++i) proto.insert(d->field(i)->name());
  EXPECT_EQ(builders, proto);
  EXPECT_EQ(tested, proto);
}

TEST(FlowFilterFieldsTest, UnknownFieldIsRefused) {
  auto p = CompileFlowFilterField("source_colour", FlowFilter());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tw::flow
