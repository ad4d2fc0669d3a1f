// `tierwatch policy verdict` end to end: the real binary, real policy files and capture
// lines, JSON lines checked field by field.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/paths.h"
#include "testing/run.h"

namespace tw {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using Result = testing::RunResult;
using testing::RunTierwatch;
using testing::Slurp;

std::vector<json> Lines(const std::string& s) {
  std::vector<json> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

// Capture lines in `hubble observe -o jsonpb` form.
const char* kFlows[] = {
    // 0: external-secrets -> onepassword-connect:8080 (dropped at ingress by the story)
    R"({"flow":{"time":"2026-01-01T10:00:00Z","uuid":"u0","verdict":"FORWARDED","IP":{"source":"10.0.1.5","destination":"10.0.1.6","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":40000,"destination_port":8080,"flags":{"SYN":true}}},"source":{"identity":3001,"namespace":"external-secrets","pod_name":"external-secrets-0","labels":["k8s:app.kubernetes.io/name=external-secrets","k8s:io.kubernetes.pod.namespace=external-secrets"]},"destination":{"identity":3002,"namespace":"external-secrets","pod_name":"onepassword-connect-0","labels":["k8s:app.kubernetes.io/name=onepassword-connect","k8s:io.kubernetes.pod.namespace=external-secrets"]},"Type":"L3_L4","is_reply":false,"event_type":{"type":5},"traffic_direction":"EGRESS"}})",
    // 1: a lost-events line (skipped)
    R"({"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":3}})",
    // 2: app -> kube-dns UDP/53 (allowed both sides)
    R"({"flow":{"time":"2026-01-01T10:00:01Z","uuid":"u2","verdict":"FORWARDED","IP":{"source":"10.0.2.5","destination":"10.0.0.10","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":5353,"destination_port":53}},"source":{"identity":4001,"namespace":"business","pod_name":"odoo-0","labels":["k8s:app=odoo","k8s:io.kubernetes.pod.namespace=business"]},"destination":{"identity":4002,"namespace":"kube-system","pod_name":"coredns-0","labels":["k8s:k8s-app=kube-dns","k8s:io.kubernetes.pod.namespace=kube-system"]},"Type":"L3_L4","is_reply":false}})",
    // 3: a reply
    R"({"flow":{"time":"2026-01-01T10:00:02Z","uuid":"u3","verdict":"FORWARDED","IP":{"source":"10.0.0.10","destination":"10.0.2.5","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":53,"destination_port":5353}},"source":{"identity":4002,"namespace":"kube-system","pod_name":"coredns-0","labels":["k8s:k8s-app=kube-dns","k8s:io.kubernetes.pod.namespace=kube-system"]},"destination":{"identity":4001,"namespace":"business","pod_name":"odoo-0","labels":["k8s:app=odoo","k8s:io.kubernetes.pod.namespace=business"]},"Type":"L3_L4","is_reply":true}})",
    // 4: app -> world:25 (explicit deny in the extra policy)
    R"({"flow":{"time":"2026-01-01T10:00:03Z","uuid":"u4","verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED","IP":{"source":"10.0.2.5","destination":"203.0.113.9","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":41000,"destination_port":25}},"source":{"identity":4001,"namespace":"business","pod_name":"odoo-0","labels":["k8s:app=odoo","k8s:io.kubernetes.pod.namespace=business"]},"destination":{"identity":2,"labels":["reserved:world"]},"Type":"L3_L4"}})",
};

class PolicyVerdictCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("tw_verdict_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "policies");
    fs::copy(fs::path(testing::SourceDir()) / "tests/policy/testdata/story", dir_ / "policies",
             fs::copy_options::recursive);
    std::ofstream(dir_ / "policies" / "zz-deny-smtp.yaml") << R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny-smtp, namespace: business}
spec:
  endpointSelector: {}
  egressDeny:
  - toEntities: [world]
    toPorts:
    - ports: [{port: "25", protocol: TCP}]
)";
    std::ofstream flows(dir_ / "flows.jsonl");
    for (const char* l : kFlows) flows << l << "\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(PolicyVerdictCli, JsonLinesInInputOrderWithAttribution) {
  Result r = RunTierwatch("policy verdict --policies " + (dir_ / "policies").string() +
                              " --flows " + (dir_ / "flows.jsonl").string() + " -o json",
                          dir_);
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<json> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;  // the lost-events line is skipped

  const json& es = lines[0];
  EXPECT_EQ(es["uuid"], "u0");
  EXPECT_EQ(es["verdict"], "DENIED");
  EXPECT_EQ(es["reason"], "POLICY_DENIED");
  EXPECT_TRUE(es["undecided_reason"].is_null());
  EXPECT_EQ(es["denied_at"], "ingress");
  EXPECT_EQ(es["port"], 8080);
  EXPECT_EQ(es["protocol"], "TCP");
  EXPECT_EQ(es["egress"]["verdict"], "ALLOWED");
  ASSERT_EQ(es["egress"]["allowed_by"].size(), 1u);
  const json& ref = es["egress"]["allowed_by"][0];
  EXPECT_EQ(ref["policy"], "tier1-external-secrets-egress");
  EXPECT_TRUE(ref["namespace"].is_null());
  EXPECT_EQ(ref["kind"], "CiliumClusterwideNetworkPolicy");
  EXPECT_EQ(ref["rule_index"], 0);
  EXPECT_EQ(ref["line"], 12);
  EXPECT_NE(ref["file"].get<std::string>().find("tier1-external-secrets.yaml"), std::string::npos);
  EXPECT_EQ(es["ingress"]["verdict"], "DENIED");
  EXPECT_EQ(es["ingress"]["enforced"], true);
  std::vector<std::string> dd;
  for (const auto& d : es["ingress"]["default_deny_by"]) dd.push_back(d["policy"]);
  EXPECT_EQ(dd, (std::vector<std::string>{"allow-metrics-scraping", "default-deny-all"}));

  EXPECT_EQ(lines[1]["uuid"], "u2");
  EXPECT_EQ(lines[1]["verdict"], "ALLOWED");
  EXPECT_TRUE(lines[1]["reason"].is_null());

  // The DNS answer is a reply: it takes its connection's (u2's) verdict and says so.
  EXPECT_EQ(lines[2]["verdict"], "ALLOWED");
  EXPECT_EQ(lines[2]["reply"], true);
  EXPECT_EQ(lines[2]["reply_basis"], "is_reply");
  EXPECT_EQ(lines[2]["connection"]["port"], 53);
  EXPECT_EQ(lines[2]["connection"]["source"]["workload"], "odoo");
  EXPECT_EQ(lines[1]["reply"], false);

  const json& smtp = lines[3];
  EXPECT_EQ(smtp["verdict"], "DENIED");
  EXPECT_EQ(smtp["reason"], "POLICY_DENY");
  EXPECT_EQ(smtp["denied_at"], "egress");
  ASSERT_EQ(smtp["egress"]["denied_by"].size(), 1u);
  EXPECT_EQ(smtp["egress"]["denied_by"][0]["policy"], "deny-smtp");
  EXPECT_EQ(smtp["egress"]["denied_by"][0]["namespace"], "business");
  EXPECT_EQ(smtp["egress"]["denied_by"][0]["section"], "egressDeny");
  EXPECT_EQ(smtp["recorded_verdict"], "DROPPED");
}

TEST_F(PolicyVerdictCli, TextAndStdin) {
  std::string cmd = "cat " + (dir_ / "flows.jsonl").string() + " | " + testing::TierwatchBin() +
                    " policy verdict --policies " + (dir_ / "policies").string() + " --flows - > " +
                    (dir_ / "text.txt").string();
  int rc = std::system(cmd.c_str());
  ASSERT_EQ(WEXITSTATUS(rc), 0);
  std::string text = Slurp(dir_ / "text.txt");
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 4u) << text;
  EXPECT_NE(lines[0].find("external-secrets/external-secrets-0 -> "
                          "external-secrets/onepassword-connect-0 8080/TCP: DENIED POLICY_DENIED "
                          "at ingress"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[0].find("default-deny by allow-metrics-scraping spec.ingress[0]"),
            std::string::npos);
  EXPECT_NE(lines[3].find("DENIED POLICY_DENY at egress (egress denied by business/deny-smtp "
                          "spec.egressDeny[0])"),
            std::string::npos)
      << lines[3];
}

TEST_F(PolicyVerdictCli, BadPolicyIsReportedAndExcluded) {
  std::ofstream(dir_ / "policies" / "broken.yaml") << R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: broken, namespace: business}
spec:
  endpointSelector: {}
  egress:
  - toPorts:
    - ports: [{port: "99999"}]
)";
  Result r = RunTierwatch("policy verdict --policies " + (dir_ / "policies").string() +
                              " --flows " + (dir_ / "flows.jsonl").string() + " -o json",
                          dir_);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("broken.yaml:8: error: business/broken: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 policy with errors excluded"), std::string::npos) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 4u);
}

TEST_F(PolicyVerdictCli, ExitTwoOnUnreadableInput) {
  Result missing = RunTierwatch("policy verdict --policies " + (dir_ / "nope").string() +
                                    " --flows " + (dir_ / "flows.jsonl").string(),
                                dir_);
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("nope: no such file or directory"), std::string::npos) << missing.err;
  Result no_flows = RunTierwatch("policy verdict --policies " + (dir_ / "policies").string() +
                                     " --flows " + (dir_ / "missing.jsonl").string(),
                                 dir_);
  EXPECT_EQ(no_flows.status, 2);
}

// No policy at all: Cilium enforces nothing on endpoints no policy selects, so every flow
// is ALLOWED, with a warning (not exit 2).
TEST_F(PolicyVerdictCli, NoPolicyMeansEverythingAllowedWithAWarning) {
  fs::create_directories(dir_ / "empty");
  Result none = RunTierwatch("policy verdict --policies " + (dir_ / "empty").string() +
                                 " --capture " + (dir_ / "flows.jsonl").string() + " -o json",
                             dir_);
  EXPECT_EQ(none.status, 0) << none.err;
  EXPECT_NE(none.err.find("warning: no policy loaded"), std::string::npos) << none.err;
  std::vector<json> lines = Lines(none.out);
  ASSERT_EQ(lines.size(), 4u);
  for (const auto& l : lines) {
    EXPECT_EQ(l["verdict"], "ALLOWED") << l.dump();
    EXPECT_EQ(l["egress"]["enforced"], false);
  }
}

// A SYN-ACK of a connection the policies allow is not DENIED: replies get their
// connection's verdict (conntrack lets them through), even on a policy-verdict event whose
// is_reply Hubble writes as false.
TEST_F(PolicyVerdictCli, SynAckOfAnAllowedConnectionIsAllowedAsItsReply) {
  std::ofstream(dir_ / "synack.jsonl")
      << kFlows[2] << "\n"
      << R"({"flow":{"time":"2026-01-01T10:00:05Z","uuid":"sa","verdict":"FORWARDED","IP":{"source":"10.0.0.10","destination":"10.0.2.5","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":53,"destination_port":5353,"flags":{"SYN":true,"ACK":true}}},"source":{"identity":4002,"namespace":"kube-system","pod_name":"coredns-0","labels":["k8s:k8s-app=kube-dns","k8s:io.kubernetes.pod.namespace=kube-system"]},"destination":{"identity":4001,"namespace":"business","pod_name":"odoo-0","labels":["k8s:app=odoo","k8s:io.kubernetes.pod.namespace=business"]},"Type":"L3_L4","is_reply":false,"event_type":{"type":5},"traffic_direction":"INGRESS"}})"
      << "\n";
  std::ofstream(dir_ / "policies" / "zz-dns-tcp.yaml") << R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: odoo-dns-tcp, namespace: business}
spec:
  endpointSelector: {matchLabels: {app: odoo}}
  egress:
  - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]
    toPorts: [{ports: [{port: "53", protocol: ANY}]}]
)";
  Result r = RunTierwatch("policy verdict --policies " + (dir_ / "policies").string() +
                              " --capture " + (dir_ / "synack.jsonl").string(),
                          dir_);
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_NE(lines[1].find("5353/TCP: ALLOWED as the reply of business/odoo-0 -> "
                          "kube-system/coredns-0 53/TCP"),
            std::string::npos)
      << lines[1];
  // The totals on stderr (stdout stays one line a flow).
  EXPECT_NE(r.err.find("2 flows: 2 ALLOWED, 0 DENIED, 0 UNDECIDED (1 reply judged by the "
                       "verdict of its connection)"),
            std::string::npos)
      << r.err;
}

// On the bundled example no reply is DENIED unless its connection is.
TEST_F(PolicyVerdictCli, ExampleRepliesFollowTheirConnections) {
  fs::path ex = fs::path(testing::SourceDir()) / "examples/zero-trust-rollout/before.jsonl";
  Result r = RunTierwatch("policy verdict --policies " + testing::SourceDir() +
                              "/deploy/network-policies --capture " + ex.string() + " -o json",
                          dir_);
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, std::set<std::string>> by_connection;
  int replies = 0;
  std::vector<json> lines = Lines(r.out);
  for (const auto& l : lines) {
    if (!l["reply"].get<bool>() || !l.contains("connection")) continue;
    ++replies;
  }
  EXPECT_GT(replies, 100);
  // A reply's verdict is the one its connection's original gets in the same run.
  std::map<std::string, std::string> original_verdict;
  auto key = [](const json& src, const json& dst, int port) {
    return src.value("ip", std::string()) + ">" + dst.value("ip", std::string()) + ":" +
           std::to_string(port);
  };
  for (const auto& l : lines) {
    if (!l["reply"].get<bool>()) {
      original_verdict[key(l["source"], l["destination"], l["port"])] = l["verdict"];
    }
  }
  int checked = 0;
  for (const auto& l : lines) {
    if (!l["reply"].get<bool>() || !l.contains("connection")) continue;
    auto it = original_verdict.find(
        key(l["connection"]["source"], l["connection"]["destination"], l["connection"]["port"]));
    if (it == original_verdict.end()) continue;
    EXPECT_EQ(l["verdict"], it->second) << l.dump();
    ++checked;
  }
  EXPECT_GT(checked, 100);
}

TEST_F(PolicyVerdictCli, RealCorpusEveryFlowGetsOneLine) {
  std::string corpus = testing::SharedCorpusDir();
  if (corpus.empty()) GTEST_SKIP() << testing::kNoSharedReason;
  fs::path f = fs::path(corpus) / "basic-sample-400-tcp-flows.jsonl";
  Result r = RunTierwatch("policy verdict --policies " + (dir_ / "policies").string() +
                              " --flows " + f.string() + " -o json",
                          dir_);
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<json> lines = Lines(r.out);
  EXPECT_EQ(lines.size(), 400u);
  int replies = 0;
  for (const auto& l : lines) {
    ASSERT_TRUE(l.contains("verdict"));
    std::string v = l["verdict"];
    EXPECT_TRUE(v == "ALLOWED" || v == "DENIED" || v == "UNDECIDED") << v;
    replies += l["reply"].get<bool>();
    if (v == "DENIED") {
      EXPECT_TRUE(l["reason"] == "POLICY_DENIED" || l["reason"] == "POLICY_DENY");
    }
  }
  EXPECT_GT(replies, 0);
}

}  // namespace
}  // namespace tw
