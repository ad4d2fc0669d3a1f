// deploy/tierwatch: the manifests render with kustomize into what docs/deploy.md promises
// (skipped where kubectl is absent), and tierwatch's CiliumNetworkPolicy, together with the
// zero-trust set in deploy/network-policies, allows exactly tierwatch's traffic — checked
// with `tierwatch policy verdict`, the project's own Cilium policy evaluator.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/paths.h"
#include "yaml-cpp/yaml.h"

namespace tw::deploy_test {
namespace {

namespace fs = std::filesystem;

struct Result {
  int status = -1;
  std::string out;
};

// Runs a shell command line, capturing stdout (stderr passes through to the test log).
Result RunShell(const std::string& cmd) {
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string Src(const std::string& rel) { return tw::testing::SourceDir() + "/" + rel; }

// tierwatch's traffic and two things it must not get.
const char* kFlows[] = {
    // tierwatch -> hubble-relay 4245 (the Service's 80 after translation)
    R"({"flow":{"time":"2026-11-20T09:00:00Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":40000,"destination_port":4245,"flags":{"SYN":true}}},"source":{"namespace":"observability","labels":["k8s:app.kubernetes.io/name=tierwatch","k8s:io.kubernetes.pod.namespace=observability"],"identity":30001,"pod_name":"tierwatch-abc"},"destination":{"namespace":"kube-system","labels":["k8s:k8s-app=hubble-relay","k8s:app.kubernetes.io/name=hubble-relay","k8s:io.kubernetes.pod.namespace=kube-system"],"identity":30002,"pod_name":"hubble-relay-abc"},"Type":"L3_L4","node_name":"n1","event_type":{"type":4},"traffic_direction":"EGRESS","is_reply":false}})",
    // vmagent -> tierwatch 9977
    R"({"flow":{"time":"2026-11-20T09:00:01Z","verdict":"FORWARDED","IP":{"source":"10.0.0.3","destination":"10.0.0.1","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":40000,"destination_port":9977,"flags":{"SYN":true}}},"source":{"namespace":"observability","labels":["k8s:app.kubernetes.io/name=vmagent","k8s:io.kubernetes.pod.namespace=observability"],"identity":30003,"pod_name":"vmagent-abc"},"destination":{"namespace":"observability","labels":["k8s:app.kubernetes.io/name=tierwatch","k8s:io.kubernetes.pod.namespace=observability"],"identity":30001,"pod_name":"tierwatch-abc"},"Type":"L3_L4","node_name":"n1","event_type":{"type":4},"traffic_direction":"EGRESS","is_reply":false}})",
    // tierwatch -> kube-dns 53/UDP (allow-dns-egress of the set)
    R"({"flow":{"time":"2026-11-20T09:00:02Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.4","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":40000,"destination_port":53}},"source":{"namespace":"observability","labels":["k8s:app.kubernetes.io/name=tierwatch","k8s:io.kubernetes.pod.namespace=observability"],"identity":30001,"pod_name":"tierwatch-abc"},"destination":{"namespace":"kube-system","labels":["k8s:k8s-app=kube-dns","k8s:io.kubernetes.pod.namespace=kube-system"],"identity":30004,"pod_name":"coredns-abc"},"Type":"L3_L4","node_name":"n1","event_type":{"type":4},"traffic_direction":"EGRESS","is_reply":false}})",
    // tierwatch -> the internet: nothing allows it
    R"({"flow":{"time":"2026-11-20T09:00:03Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"203.0.113.9","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":40000,"destination_port":443,"flags":{"SYN":true}}},"source":{"namespace":"observability","labels":["k8s:app.kubernetes.io/name=tierwatch","k8s:io.kubernetes.pod.namespace=observability"],"identity":30001,"pod_name":"tierwatch-abc"},"destination":{"identity":2,"labels":["reserved:world"]},"Type":"L3_L4","node_name":"n1","event_type":{"type":4},"traffic_direction":"EGRESS","is_reply":false}})",
    // grafana -> tierwatch 9977: not a scraper
    R"({"flow":{"time":"2026-11-20T09:00:04Z","verdict":"FORWARDED","IP":{"source":"10.0.0.5","destination":"10.0.0.1","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":40000,"destination_port":9977,"flags":{"SYN":true}}},"source":{"namespace":"observability","labels":["k8s:app.kubernetes.io/name=grafana","k8s:io.kubernetes.pod.namespace=observability"],"identity":30005,"pod_name":"grafana-abc"},"destination":{"namespace":"observability","labels":["k8s:app.kubernetes.io/name=tierwatch","k8s:io.kubernetes.pod.namespace=observability"],"identity":30001,"pod_name":"tierwatch-abc"},"Type":"L3_L4","node_name":"n1","event_type":{"type":4},"traffic_direction":"EGRESS","is_reply":false}})",
};

std::vector<std::string> Verdicts(const std::string& policies) {
  fs::path flows = fs::temp_directory_path() / absl::StrCat("tw_deploy_flows_", getpid(), ".jsonl");
  {
    std::ofstream out(flows);
    for (const char* line : kFlows) out << line << "\n";
  }
  Result r = RunShell(absl::StrCat(tw::testing::TierwatchBin(), " policy verdict --policies ",
                                   policies, " --flows ", flows.string(), " -o json"));
  fs::remove(flows);
  EXPECT_EQ(r.status, 0);
  std::vector<std::string> verdicts;
  for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
    auto j = nlohmann::json::parse(line);
    verdicts.push_back(j["verdict"].get<std::string>());
  }
  return verdicts;
}

TEST(DeployTierwatchTest, NetworkPolicyAllowsExactlyTierwatchsTraffic) {
  std::vector<std::string> with = Verdicts(absl::StrCat(
      Src("deploy/network-policies/app"), " ", Src("deploy/tierwatch/networkpolicy.yaml")));
  EXPECT_EQ(with, (std::vector<std::string>{"ALLOWED", "ALLOWED", "ALLOWED", "DENIED", "DENIED"}));
  // Without tierwatch's policy, the cluster's default-deny cuts it off from the relay.
  std::vector<std::string> without = Verdicts(Src("deploy/network-policies/app"));
  ASSERT_EQ(without.size(), 5u);
  EXPECT_EQ(without[0], "DENIED");
}

TEST(DeployTierwatchTest, NetworkPolicyLintsClean) {
  Result r = RunShell(absl::StrCat(tw::testing::TierwatchBin(), " policy lint ",
                                   Src("deploy/network-policies/app"), " ",
                                   Src("deploy/tierwatch/networkpolicy.yaml")));
  EXPECT_EQ(r.status, 0) << r.out;
}

TEST(DeployTierwatchTest, KustomizeRendersTheDeployment) {
  if (RunShell("command -v kubectl >/dev/null 2>&1").status != 0) {
    GTEST_SKIP() << "kubectl is absent (not a Debian 12 package); CI has it";
  }
  Result r = RunShell(absl::StrCat("kubectl kustomize ", Src("deploy/tierwatch")));
  ASSERT_EQ(r.status, 0) << r.out;
  std::vector<YAML::Node> docs = YAML::LoadAll(r.out);
  std::map<std::string, YAML::Node> by_kind;
  for (const auto& d : docs) {
    EXPECT_EQ(d["metadata"]["namespace"].as<std::string>(), "observability")
        << d["kind"].as<std::string>();
    by_kind[d["kind"].as<std::string>()] = d;
  }
  for (const char* kind : {"ServiceAccount", "ConfigMap", "PersistentVolumeClaim", "Service",
                           "Deployment", "CiliumNetworkPolicy"}) {
    EXPECT_TRUE(by_kind.count(kind)) << kind;
  }
  YAML::Node dep = by_kind["Deployment"];
  EXPECT_EQ(dep["spec"]["replicas"].as<int>(), 1);
  EXPECT_EQ(dep["spec"]["strategy"]["type"].as<std::string>(), "Recreate");
  YAML::Node pod = dep["spec"]["template"]["spec"];
  EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
  YAML::Node c = pod["containers"][0];
  EXPECT_TRUE(c["securityContext"]["readOnlyRootFilesystem"].as<bool>());
  EXPECT_FALSE(c["securityContext"]["allowPrivilegeEscalation"].as<bool>());
  EXPECT_EQ(c["ports"][0]["containerPort"].as<int>(), 9977);
  // The probes hit the daemon's HTTP server on the named port.
  EXPECT_EQ(c["ports"][0]["name"].as<std::string>(), "http");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["port"].as<std::string>(), "http");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(c["startupProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  // The generated ConfigMap (name with content hash) is the one mounted, and it is the
  // config checked by the app tests.
  std::string cm = by_kind["ConfigMap"]["metadata"]["name"].as<std::string>();
  bool mounted = false;
  for (const auto& v : pod["volumes"]) {
    if (v["configMap"] && v["configMap"]["name"].as<std::string>() == cm) mounted = true;
  }
  EXPECT_TRUE(mounted) << cm;
  EXPECT_TRUE(by_kind["ConfigMap"]["data"]["tierwatch.yaml"].IsDefined());
  EXPECT_EQ(by_kind["Service"]["spec"]["ports"][0]["port"].as<int>(), 9977);
}

}  // namespace
}  // namespace tw::deploy_test
