// EvaluateFlow: the Connection built from a tw::flow::Flow (labels as Symbols, reserved mask
// from identity numbers, IPs, destination_names, destination_service, L4, is_reply).
#include <string>

#include "flow/flow.h"
#include "gtest/gtest.h"
#include "policy/evaluator.h"
#include "policy_test_util.h"

namespace tw::policy::testing {
namespace {

using flow::Protocol;

class FlowEval : public ::testing::Test {
 protected:
  flow::Endpoint PodEp(const std::string& ns, const std::string& app) {
    flow::Endpoint e;
    e.identity = 40000;
    e.namespace_ = symbols_.Intern(ns);
    e.pod_name = symbols_.Intern(app + "-0");
    e.labels = {symbols_.Intern("k8s:app=" + app),
                symbols_.Intern("k8s:io.kubernetes.pod.namespace=" + ns)};
    e.reserved = flow::ComputeReserved(e);
    return e;
  }
  flow::Flow MakeFlow(flow::Endpoint src, flow::Endpoint dst, Protocol p, uint16_t port) {
    flow::Flow f;
    f.source = std::move(src);
    f.destination = std::move(dst);
    f.source_ip = "10.0.0.1";
    f.destination_ip = "10.0.0.2";
    f.l4.protocol = p;
    f.l4.destination_port = port;
    return f;
  }
  flow::SymbolTable symbols_;
};

TEST_F(FlowEval, ReplyIsUndecidedAndUnknownIsReplyIsJudged) {
  PolicySet set = MustParse(R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny, namespace: a}
spec:
  endpointSelector: {}
  ingress: [{}]
)");
  Evaluator eval(set);
  flow::Flow f = MakeFlow(PodEp("b", "x"), PodEp("a", "y"), Protocol::kTCP, 80);
  f.is_reply = true;
  Evaluation v = EvaluateFlow(eval, f);
  EXPECT_EQ(v.decision, Decision::kUndecided);
  EXPECT_EQ(v.undecided_reason, "reply: policy is not applied to replies");
  f.is_reply.reset();  // drops carry no is_reply: judged as the original direction
  v = EvaluateFlow(eval, f);
  EXPECT_EQ(v.decision, Decision::kDenied);
  EXPECT_EQ(v.drop_reason, flow::kDropPolicyDenied);
  // The one-off convenience agrees.
  EXPECT_EQ(EvaluateFlow(set, f).decision, Decision::kDenied);
}

TEST_F(FlowEval, IdentityNumbersAloneMakeReservedPeers) {
  // Older agents send identity 2 (world) or 1 (host) without labels.
  PolicySet set = MustParse(R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: world-only, namespace: a}
spec:
  endpointSelector: {}
  egress:
  - toEntities: [world]
)");
  Evaluator eval(set);
  flow::Endpoint world;
  world.identity = 2;
  world.reserved = flow::ComputeReserved(world);
  flow::Flow f = MakeFlow(PodEp("a", "x"), world, Protocol::kTCP, 443);
  EXPECT_EQ(EvaluateFlow(eval, f).decision, Decision::kAllowed);
  flow::Endpoint host;
  host.identity = 1;
  host.reserved = flow::ComputeReserved(host);
  f.destination = host;
  EXPECT_EQ(EvaluateFlow(eval, f).decision, Decision::kDenied);
}

TEST_F(FlowEval, NamesServiceAndIcmpComeFromTheFlow) {
  PolicySet set = MustParse(R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: mixed, namespace: a}
spec:
  endpointSelector: {}
  egress:
  - toFQDNs: [{matchName: api.github.com}]
  - toServices: [{k8sService: {serviceName: db, namespace: a}}]
  - icmps: [{fields: [{type: 8}]}]
)");
  Evaluator eval(set);
  flow::Endpoint world;
  world.identity = 16777300;
  world.labels = {symbols_.Intern("reserved:world"), symbols_.Intern("fqdn:api.github.com")};
  world.reserved = flow::ComputeReserved(world);
  flow::Flow f = MakeFlow(PodEp("a", "x"), world, Protocol::kTCP, 443);
  f.destination_names = {symbols_.Intern("api.github.com")};
  Evaluation v = EvaluateFlow(eval, f);
  EXPECT_EQ(v.decision, Decision::kAllowed);
  ASSERT_EQ(v.egress.allowed_by.size(), 1u);
  EXPECT_EQ(v.egress.allowed_by[0].rule_index, 0);

  flow::Flow svc = MakeFlow(PodEp("a", "x"), PodEp("a", "db"), Protocol::kTCP, 5432);
  svc.destination_service.name = symbols_.Intern("db");
  svc.destination_service.namespace_ = symbols_.Intern("a");
  EXPECT_EQ(EvaluateFlow(eval, svc).decision, Decision::kAllowed);

  flow::Flow ping = MakeFlow(PodEp("a", "x"), PodEp("b", "y"), Protocol::kICMPv4, 0);
  ping.l4.icmp_type = 8;
  EXPECT_EQ(EvaluateFlow(eval, ping).decision, Decision::kAllowed);
  ping.l4.icmp_type = 13;
  Evaluation pv = EvaluateFlow(eval, ping);
  // A pod of namespace b can never back service a/db, so toServices does not blur this.
  EXPECT_EQ(pv.decision, Decision::kDenied) << pv.undecided_reason;
  // Another pod of namespace a might back a/db: undecidable without the recorded service.
  flow::Flow same_ns = MakeFlow(PodEp("a", "x"), PodEp("a", "cache"), Protocol::kTCP, 6379);
  Evaluation sv = EvaluateFlow(eval, same_ns);
  EXPECT_EQ(sv.decision, Decision::kUndecided);
  EXPECT_NE(sv.undecided_reason.find("toServices"), std::string::npos);
}

TEST_F(FlowEval, NamespaceWithoutLabelsStillSelectsCnps) {
  // Every pod identity carries k8s:io.kubernetes.pod.namespace; a flow endpoint that only
  // records the namespace is treated the same way.
  PolicySet set = MustParse(R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny, namespace: a}
spec:
  endpointSelector: {}
  ingress: [{}]
)");
  Evaluator eval(set);
  flow::Endpoint bare;
  bare.identity = 50000;
  bare.namespace_ = symbols_.Intern("a");
  flow::Flow f = MakeFlow(PodEp("b", "x"), bare, Protocol::kTCP, 80);
  Evaluation v = EvaluateFlow(eval, f);
  EXPECT_EQ(v.decision, Decision::kDenied);
  EXPECT_EQ(Names(v.ingress.default_deny_by), std::vector<std::string>{"deny"});
}

}  // namespace
}  // namespace tw::policy::testing
