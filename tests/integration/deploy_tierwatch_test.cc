// deploy/: the kustomizations render (kubectl kustomize; skipped, saying why, where kubectl
// is absent) into what docs/deploy.md promises — the restricted Pod Security Standard, one
// copy of each policy shared by Flux and tierwatch, components that enable TLS and the
// Prometheus operator — every rendered CiliumNetworkPolicy/CCNP lints clean, the rendered
// config starts the real daemon with the rendered tier model and policies, and tierwatch's
// own CiliumNetworkPolicy, with the zero-trust set, lets exactly tierwatch's traffic through
// (`tierwatch simulate`).
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "deploy_helpers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "process.h"

namespace tw::deploy_test {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

// --- tierwatch's CiliumNetworkPolicy, proven with tierwatch simulate ----------------------

const Ep kTierwatch{"observability",
                    {"app.kubernetes.io/name=tierwatch"},
                    "tierwatch-7c9f8-abcde",
                    "10.244.1.20",
                    30001};
const Ep kRelay{"cilium",
                {"k8s-app=hubble-relay", "app.kubernetes.io/name=hubble-relay",
                 "app.kubernetes.io/part-of=cilium"},
                "hubble-relay-5d4c-x1",
                "10.244.0.30",
                30002};
const Ep kKubeDns{"kube-system", {"k8s-app=kube-dns"}, "coredns-6f5d-q2", "10.244.0.10", 30003};
const Ep kVmagent{
    "observability", {"app.kubernetes.io/name=vmagent"}, "vmagent-0", "10.244.2.5", 30004};
const Ep kPrometheus{
    "observability", {"app.kubernetes.io/name=prometheus"}, "prometheus-0", "10.244.2.6", 30005};
const Ep kHost{"", {"reserved:host"}, "", "192.168.1.21", 1};

std::vector<std::string> TierwatchsOwnTraffic() {
  return {
      FlowLine(kTierwatch, kRelay, "TCP", 4245, 1),  // the relay Service's 80 after translation
      FlowLine(kTierwatch, kKubeDns, "UDP", 53, 2),  // resolving hubble-relay.cilium.svc
      FlowLine(kTierwatch, kKubeDns, "TCP", 53, 3),
      FlowLine(kVmagent, kTierwatch, "TCP", 9977, 4),
      FlowLine(kPrometheus, kTierwatch, "TCP", 9977, 5),
      FlowLine(kHost, kTierwatch, "TCP", 9977, 6),  // the kubelet's probes
  };
}

std::vector<std::string> EverythingElse() {
  Ep world{"", {"reserved:world"}, "", "203.0.113.9", 2};
  Ep apiserver{"", {"reserved:kube-apiserver"}, "", "192.168.1.10", 7};
  Ep relay_other_ns = kRelay;
  relay_other_ns.ns = "kube-system";
  Ep vmsingle{
      "observability", {"app.kubernetes.io/name=vmsingle"}, "vmsingle-0", "10.244.2.7", 30006};
  Ep grafana{"observability", {"app.kubernetes.io/name=grafana"}, "grafana-0", "10.244.2.8", 30007};
  Ep odoo{"business", {"app.kubernetes.io/name=odoo"}, "odoo-0", "10.244.3.9", 30008};
  Ep remote_node{"", {"reserved:remote-node"}, "", "192.168.1.22", 6};
  return {
      FlowLine(kTierwatch, world, "TCP", 443, 10),
      FlowLine(kTierwatch, apiserver, "TCP", 6443, 11),
      FlowLine(kTierwatch, relay_other_ns, "TCP", 4245, 12),  // a relay elsewhere
      FlowLine(kTierwatch, kRelay, "TCP", 80, 13),            // the Service port: never seen
      FlowLine(kTierwatch, vmsingle, "TCP", 8428, 14),
      FlowLine(kTierwatch, kHost, "TCP", 4244, 15),  // Hubble's peer port on the node
      FlowLine(grafana, kTierwatch, "TCP", 9977, 16),
      FlowLine(odoo, kTierwatch, "TCP", 9977, 17),
      FlowLine(kVmagent, kTierwatch, "TCP", 9978, 18),  // a port beside its own
      FlowLine(remote_node, kTierwatch, "TCP", 9977, 19),
  };
}

const char* kSetAndPolicy = "deploy/network-policies/app deploy/tierwatch/networkpolicy.yaml";

TEST(DeployTierwatchPolicyTest, TierwatchsOwnConnectionsAreAllowed) {
  nlohmann::json sim = Simulate(kSetAndPolicy, TierwatchsOwnTraffic());
  ASSERT_FALSE(sim.contains("error")) << sim.dump();
  EXPECT_EQ(sim["connections"], 6);
  EXPECT_EQ(sim["allowed"], 6) << sim.dump(1);
  EXPECT_THAT(Broken(sim), IsEmpty());
  EXPECT_EQ(sim["undecided"], 0);
}

TEST(DeployTierwatchPolicyTest, EveryOtherConnectionIsDenied) {
  nlohmann::json sim = Simulate(kSetAndPolicy, EverythingElse());
  ASSERT_FALSE(sim.contains("error")) << sim.dump();
  EXPECT_EQ(sim["connections"], 10);
  EXPECT_EQ(sim["allowed"], 0);
  EXPECT_EQ(sim["broken"], 10) << sim.dump(1);
  // Denied by the cluster's default-deny, not by anything tierwatch's policy adds: the
  // policy only allows.
  for (const auto& b : sim["breaks"]) {
    EXPECT_THAT(b["drop"]["policy"]["responsible"], UnorderedElementsAreArray({"default-deny-all"}))
        << b["connection"];
  }
}

TEST(DeployTierwatchPolicyTest, WithoutItsPolicyTheRelayIsDenied) {
  nlohmann::json sim = Simulate("deploy/network-policies/app", TierwatchsOwnTraffic());
  ASSERT_FALSE(sim.contains("error")) << sim.dump();
  std::vector<std::string> broken = Broken(sim);
  EXPECT_THAT(broken, ::testing::Contains(HasSubstr("cilium/hubble-relay:4245/TCP")));
  // The set alone already lets the scrapers and DNS through: the policy repeats them so
  // tierwatch does not hinge on those lists.
  EXPECT_EQ(broken.size(), 1u) << absl::StrJoin(broken, "\n");
}

TEST(DeployTierwatchPolicyTest, SetAndPolicyLintClean) {
  ShellResult r =
      RunShell(absl::StrCat("cd ", tw::testing::SourceDir(), " && ", Tw(), " policy lint ",
                            kSetAndPolicy, " --tiers config/tiers.yaml"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("0 error(s), 0 warning(s), 0 info"));
}

// The relay tierwatch connects to and the relay its policy allows are in one namespace.
TEST(DeployTierwatchPolicyTest, RelayAddressAndPolicyNameTheSameNamespace) {
  for (const char* config : {"deploy/tierwatch/tierwatch.yaml",
                             "deploy/tierwatch/components/relay-tls/tierwatch.yaml"}) {
    YAML::Node cfg = YAML::LoadFile(Src(config));
    std::string address = cfg["relay"]["address"].as<std::string>();
    std::vector<std::string> host = absl::StrSplit(address, '.');
    ASSERT_GE(host.size(), 3u) << address;
    EXPECT_EQ(host[0], "hubble-relay") << address;
    YAML::Node cnp = YAML::LoadFile(Src("deploy/tierwatch/networkpolicy.yaml"));
    bool found = false;
    for (const auto& rule : cnp["spec"]["egress"]) {
      for (const auto& sel : rule["toEndpoints"]) {
        YAML::Node ml = sel["matchLabels"];
        if (ml["k8s:k8s-app"] && ml["k8s:k8s-app"].as<std::string>() == "hubble-relay") {
          EXPECT_EQ(ml["k8s:io.kubernetes.pod.namespace"].as<std::string>(), host[1]) << config;
          EXPECT_EQ(rule["toPorts"][0]["ports"][0]["port"].as<std::string>(), "4245");
          found = true;
        }
      }
    }
    EXPECT_TRUE(found);
  }
}

// --- the configs -----------------------------------------------------------------------------

// components/relay-tls/tierwatch.yaml is the base config with TLS: nothing else may drift.
TEST(DeployTierwatchConfigTest, TlsConfigDiffersOnlyInRelayAddressAndTls) {
  YAML::Node base = YAML::LoadFile(Src("deploy/tierwatch/tierwatch.yaml"));
  YAML::Node tls = YAML::LoadFile(Src("deploy/tierwatch/components/relay-tls/tierwatch.yaml"));
  EXPECT_TRUE(tls["relay"]["tls"]["enabled"].as<bool>());
  EXPECT_TRUE(absl::EndsWith(tls["relay"]["address"].as<std::string>(), ":443"));
  EXPECT_TRUE(absl::EndsWith(base["relay"]["address"].as<std::string>(), ":80"));
  for (YAML::Node* n : {&base, &tls}) {
    (*n)["relay"].remove("address");
    (*n)["relay"].remove("tls");
  }
  YAML::Emitter a, b;
  a << base;
  b << tls;
  EXPECT_EQ(std::string(a.c_str()), std::string(b.c_str()));
}

// deploy/tierwatch-sharded/tierwatch.yaml is the base config watching the shared baseline.
TEST(DeployTierwatchConfigTest, ShardedConfigDiffersOnlyInModeAndBaseline) {
  YAML::Node base = YAML::LoadFile(Src("deploy/tierwatch/tierwatch.yaml"));
  YAML::Node sharded = YAML::LoadFile(Src("deploy/tierwatch-sharded/tierwatch.yaml"));
  EXPECT_EQ(sharded["mode"].as<std::string>(), "watch");
  EXPECT_EQ(sharded["baseline"]["path"].as<std::string>(), "/etc/tierwatch/baseline/baseline.yaml");
  for (YAML::Node* n : {&base, &sharded}) {
    n->remove("mode");
    (*n)["baseline"].remove("path");
  }
  YAML::Emitter a, b;
  a << base;
  b << sharded;
  EXPECT_EQ(std::string(a.c_str()), std::string(b.c_str()));
  // The placeholder baseline is a documented baseline tierwatch reads.
  ShellResult r =
      RunShell(Tw() + " baseline export " + Src("deploy/tierwatch-sharded/baseline.yaml"));
  EXPECT_EQ(r.status, 0) << r.out;
}

TEST(DeployTierwatchConfigTest, BothConfigsPassRunCheck) {
  for (const char* config : {"deploy/tierwatch/tierwatch.yaml",
                             "deploy/tierwatch/components/relay-tls/tierwatch.yaml"}) {
    // --check-syntax: the files they name (/etc/tierwatch/...) exist only in the pod.
    ShellResult r =
        RunShell(absl::StrCat(Tw(), " run --check-syntax --config ", Src(config), " 2>&1"));
    EXPECT_EQ(r.status, 0) << config << "\n" << r.out;
  }
}

// The zero-trust Component packs exactly the files Flux applies.
TEST(DeployTierwatchConfigTest, PolicyComponentListsWhatFluxApplies) {
  YAML::Node app = YAML::LoadFile(Src("deploy/network-policies/app/kustomization.yaml"));
  YAML::Node comp = YAML::LoadFile(Src("deploy/network-policies/kustomization.yaml"));
  std::vector<std::string> applied, packed;
  for (const auto& r : app["resources"]) applied.push_back("app/" + r.as<std::string>());
  for (const auto& f : comp["configMapGenerator"][0]["files"])
    packed.push_back(f.as<std::string>());
  EXPECT_EQ(packed, applied);
  EXPECT_EQ(comp["kind"].as<std::string>(), "Component");
}

// A ConfigMap volume holds every key twice (a symlink, and its target under ..<timestamp>/):
// the policies must still load once each.
TEST(DeployTierwatchConfigTest, PoliciesLoadOnceFromAConfigMapVolume) {
  TempDir vol("cmvol");
  fs::path data = vol / "..2026_11_20_09_00_00.123456789";
  fs::create_directories(data);
  int files = 0;
  for (const auto& e : fs::directory_iterator(Src("deploy/network-policies/app"))) {
    if (e.path().filename() == "kustomization.yaml") continue;
    fs::copy_file(e.path(), data / e.path().filename());
    fs::create_symlink(fs::path("..data") / e.path().filename(), vol / e.path().filename());
    ++files;
  }
  fs::create_directory_symlink(data.filename(), vol / "..data");
  ShellResult plain =
      RunShell(absl::StrCat(Tw(), " policy lint ", Src("deploy/network-policies/app")));
  ShellResult mounted = RunShell(absl::StrCat(Tw(), " policy lint ", vol.path().string()));
  EXPECT_EQ(mounted.status, 0) << mounted.out;
  EXPECT_THAT(mounted.out, HasSubstr(absl::StrCat("from ", files, " file(s)")));
  // Same policies, same (clean) findings.
  auto summary = [](const std::string& out) { return out.substr(0, out.find(" from ")); };
  EXPECT_EQ(summary(mounted.out), summary(plain.out));
}

// --- the Flux entry point --------------------------------------------------------------------

TEST(DeployTierwatchFluxTest, KustomizationIsInTheStorysStyle) {
  YAML::Node ks = YAML::LoadFile(Src("deploy/tierwatch/ks.yaml"));
  EXPECT_EQ(ks["apiVersion"].as<std::string>(), "kustomize.toolkit.fluxcd.io/v1");
  EXPECT_EQ(ks["kind"].as<std::string>(), "Kustomization");
  EXPECT_EQ(ks["metadata"]["name"].as<std::string>(), "tierwatch");
  EXPECT_EQ(ks["metadata"]["namespace"].as<std::string>(), "flux-system");
  YAML::Node spec = ks["spec"];
  EXPECT_EQ(spec["targetNamespace"].as<std::string>(), "observability");
  EXPECT_TRUE(spec["prune"].as<bool>());
  EXPECT_TRUE(spec["wait"].as<bool>());
  EXPECT_TRUE(spec["timeout"].IsDefined());
  EXPECT_EQ(spec["sourceRef"]["name"].as<std::string>(), "k8s-ops");
  std::set<std::string> deps;
  for (const auto& d : spec["dependsOn"]) deps.insert(d["name"].as<std::string>());
  EXPECT_TRUE(deps.count("network-policies"));
  EXPECT_EQ(deps.size(), 2u);  // and the observability stack
  // The story's network-policies entry point is the same shape.
  YAML::Node np = YAML::LoadFile(Src("deploy/network-policies/ks.yaml"));
  for (const char* key : {"prune", "wait", "interval", "retryInterval", "timeout", "sourceRef"})
    EXPECT_TRUE(spec[key].IsDefined() && np["spec"][key].IsDefined()) << key;
}

// --- kustomize renders ------------------------------------------------------------------------

// Lints every CiliumNetworkPolicy / CCNP of a render, each written to its own file.
void ExpectRenderedPoliciesLintClean(const Rendered& r, const std::string& what,
                                     size_t expected_policies) {
  TempDir dir("lint");
  size_t n = 0;
  // The documents as kustomize wrote them: re-emitting through yaml-cpp would drop the
  // quotes of `port: "53"` and lint would rightly flag integers where the CRD wants strings.
  for (absl::string_view raw : absl::StrSplit(r.text, "\n---\n")) {
    YAML::Node d = YAML::Load(std::string(raw));
    std::string kind = d["kind"] ? d["kind"].as<std::string>() : "";
    if (kind != "CiliumNetworkPolicy" && kind != "CiliumClusterwideNetworkPolicy") continue;
    WriteFile(dir / absl::StrCat(n++, ".yaml"), std::string(raw));
  }
  // ConfigMaps carrying policies (zero-trust-policies) are checked the same way.
  for (const auto& cm : r.OfKind("ConfigMap")) {
    if (!absl::StartsWith(cm["metadata"]["name"].as<std::string>(), "zero-trust-policies"))
      continue;
    for (const auto& kv : cm["data"]) {
      WriteFile(dir / absl::StrCat("cm-", kv.first.as<std::string>()), kv.second.as<std::string>());
      for (const auto& doc : YAML::LoadAll(kv.second.as<std::string>()))
        if (doc["kind"]) ++n;
    }
  }
  ASSERT_EQ(n, expected_policies) << what;
  ShellResult lint = RunShell(absl::StrCat(Tw(), " policy lint ", dir.path().string(), " --tiers ",
                                           Src("config/tiers.yaml"), " 2>&1"));
  EXPECT_EQ(lint.status, 0) << what << "\n" << lint.out;
  EXPECT_THAT(lint.out, HasSubstr("0 error(s), 0 warning(s), 0 info")) << what;
}

class DeployRenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveKubectl()) GTEST_SKIP() << kNoKubectl;
  }
};

// The restricted Pod Security Standard and the house rules on one rendered pod template.
void ExpectRestrictedPod(const YAML::Node& workload) {
  std::string name = workload["kind"].as<std::string>();
  YAML::Node pod = workload["spec"]["template"]["spec"];
  EXPECT_FALSE(pod["automountServiceAccountToken"].as<bool>()) << name;
  EXPECT_FALSE(pod["hostNetwork"] && pod["hostNetwork"].as<bool>());
  EXPECT_FALSE(pod["hostPID"] && pod["hostPID"].as<bool>());
  EXPECT_FALSE(pod["hostIPC"] && pod["hostIPC"].as<bool>());
  YAML::Node psc = pod["securityContext"];
  EXPECT_TRUE(psc["runAsNonRoot"].as<bool>());
  EXPECT_GT(psc["runAsUser"].as<int>(), 0);
  EXPECT_GT(psc["runAsGroup"].as<int>(), 0);
  EXPECT_EQ(psc["seccompProfile"]["type"].as<std::string>(), "RuntimeDefault");
  EXPECT_GE(pod["terminationGracePeriodSeconds"].as<int>(), 30);
  std::set<std::string> allowed_volumes = {"configMap", "secret", "projected", "emptyDir",
                                           "persistentVolumeClaim"};
  for (const auto& v : pod["volumes"]) {
    for (const auto& kv : v) {
      std::string k = kv.first.as<std::string>();
      if (k != "name") {
        EXPECT_TRUE(allowed_volumes.count(k)) << "volume type " << k;
      }
    }
  }
  ASSERT_TRUE(pod["containers"].IsSequence());
  for (const auto& c : pod["containers"]) {
    YAML::Node sc = c["securityContext"];
    EXPECT_FALSE(sc["allowPrivilegeEscalation"].as<bool>());
    EXPECT_TRUE(sc["readOnlyRootFilesystem"].as<bool>());
    EXPECT_FALSE(sc["privileged"] && sc["privileged"].as<bool>());
    std::vector<std::string> drop;
    for (const auto& d : sc["capabilities"]["drop"]) drop.push_back(d.as<std::string>());
    EXPECT_EQ(drop, std::vector<std::string>{"ALL"});
    EXPECT_FALSE(sc["capabilities"]["add"].IsDefined());
    // Writable: the baseline volume and /tmp only.
    for (const auto& m : c["volumeMounts"]) {
      std::string path = m["mountPath"].as<std::string>();
      bool ro = m["readOnly"] && m["readOnly"].as<bool>();
      if (path != "/var/lib/tierwatch" && path != "/tmp") {
        EXPECT_TRUE(ro) << path;
      }
    }
    EXPECT_TRUE(c["resources"]["requests"]["memory"].IsDefined());
    EXPECT_TRUE(c["resources"]["requests"]["cpu"].IsDefined());
    EXPECT_TRUE(c["resources"]["limits"]["memory"].IsDefined());
    EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
    EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
    EXPECT_EQ(c["startupProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
    EXPECT_EQ(c["livenessProbe"]["httpGet"]["port"].as<std::string>(), "http");
    EXPECT_EQ(c["ports"][0]["containerPort"].as<int>(), 9977);
    EXPECT_EQ(c["ports"][0]["name"].as<std::string>(), "http");
  }
}

std::string GeneratedName(const Rendered& r, const std::string& prefix) {
  for (const auto& cm : r.OfKind("ConfigMap")) {
    std::string n = cm["metadata"]["name"].as<std::string>();
    if (absl::StartsWith(n, prefix + "-")) return n;
  }
  return "";
}

TEST_F(DeployRenderTest, TierwatchBaseRendersWhatTheDocsPromise) {
  Rendered r = Render("deploy/tierwatch");
  ASSERT_TRUE(r.ok) << r.error;
  std::map<std::string, int> kinds;
  for (const auto& d : r.docs) {
    ++kinds[d["kind"].as<std::string>()];
    EXPECT_EQ(d["metadata"]["namespace"].as<std::string>(), "observability")
        << d["kind"].as<std::string>();
  }
  EXPECT_EQ(kinds, (std::map<std::string, int>{{"ServiceAccount", 1},
                                               {"ConfigMap", 3},
                                               {"PersistentVolumeClaim", 1},
                                               {"Service", 1},
                                               {"Deployment", 1},
                                               {"VMServiceScrape", 1},
                                               {"VMRule", 1},
                                               {"CiliumNetworkPolicy", 1}}))
      << "a PodDisruptionBudget makes no sense for one replica (kustomization.yaml says why)";
  EXPECT_FALSE(r.OfKind("ServiceAccount")[0]["automountServiceAccountToken"].as<bool>());

  YAML::Node dep = r.OfKind("Deployment")[0];
  EXPECT_EQ(dep["spec"]["replicas"].as<int>(), 1);
  EXPECT_EQ(dep["spec"]["strategy"]["type"].as<std::string>(), "Recreate");
  ExpectRestrictedPod(dep);

  // The generated ConfigMaps (names with a content hash) are the ones mounted.
  YAML::Node pod = dep["spec"]["template"]["spec"];
  std::set<std::string> mounted;
  for (const auto& v : pod["volumes"]) {
    if (v["configMap"]) mounted.insert(v["configMap"]["name"].as<std::string>());
    if (v["projected"])
      for (const auto& s : v["projected"]["sources"])
        mounted.insert(s["configMap"]["name"].as<std::string>());
    if (v["persistentVolumeClaim"]) {
      EXPECT_EQ(v["persistentVolumeClaim"]["claimName"].as<std::string>(), "tierwatch-baseline");
    }
  }
  for (const char* cm : {"tierwatch-config", "tierwatch-tiers", "zero-trust-policies"}) {
    std::string name = GeneratedName(r, cm);
    ASSERT_FALSE(name.empty()) << cm;
    EXPECT_TRUE(mounted.count(name)) << name;
  }
  EXPECT_EQ(pod["serviceAccountName"].as<std::string>(), "tierwatch");
  std::vector<std::string> args;
  for (const auto& a : pod["containers"][0]["args"]) args.push_back(a.as<std::string>());
  EXPECT_EQ(args,
            (std::vector<std::string>{"run", "--config", "/etc/tierwatch/config/tierwatch.yaml"}));

  // The ConfigMaps carry the repository's files byte for byte: one copy of each.
  for (const auto& cm : r.OfKind("ConfigMap")) {
    std::string n = cm["metadata"]["name"].as<std::string>();
    for (const auto& kv : cm["data"]) {
      std::string key = kv.first.as<std::string>();
      std::string file = absl::StartsWith(n, "tierwatch-config") ? "deploy/tierwatch/" + key
                         : absl::StartsWith(n, "tierwatch-tiers")
                             ? "config/" + key
                             : "deploy/network-policies/app/" + key;
      EXPECT_EQ(kv.second.as<std::string>(), ReadText(Src(file))) << n << " " << key;
    }
  }
  EXPECT_EQ(r.OfKind("Service")[0]["spec"]["ports"][0]["port"].as<int>(), 9977);
  EXPECT_EQ(r.OfKind("VMServiceScrape")[0]["spec"]["endpoints"][0]["port"].as<std::string>(),
            "http");
  EXPECT_EQ(r.OfKind("PersistentVolumeClaim")[0]["spec"]["accessModes"][0].as<std::string>(),
            "ReadWriteOnce");
  ExpectRenderedPoliciesLintClean(r, "deploy/tierwatch", 16);
}

TEST_F(DeployRenderTest, NetworkPoliciesAppRendersTheSetAndLintsClean) {
  Rendered r = Render("deploy/network-policies/app");
  ASSERT_TRUE(r.ok) << r.error;
  for (const auto& d : r.docs) {
    EXPECT_EQ(d["kind"].as<std::string>(), "CiliumClusterwideNetworkPolicy");
    EXPECT_FALSE(d["metadata"]["namespace"].IsDefined());
  }
  ExpectRenderedPoliciesLintClean(r, "deploy/network-policies/app", 15);
}

TEST_F(DeployRenderTest, RelayTlsComponentMountsTheClientCertificate) {
  Rendered r = RenderWith("deploy/tierwatch", {"deploy/tierwatch/components/relay-tls"});
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.OfKind("Certificate").size(), 1u);
  YAML::Node cert = r.OfKind("Certificate")[0];
  EXPECT_EQ(cert["metadata"]["namespace"].as<std::string>(), "observability");
  std::string secret = cert["spec"]["secretName"].as<std::string>();
  std::vector<std::string> usages;
  for (const auto& u : cert["spec"]["usages"]) usages.push_back(u.as<std::string>());
  EXPECT_THAT(usages, ::testing::Contains("client auth"));

  YAML::Node dep = r.OfKind("Deployment")[0];
  ExpectRestrictedPod(dep);
  YAML::Node pod = dep["spec"]["template"]["spec"];
  bool volume = false, mount = false;
  for (const auto& v : pod["volumes"])
    if (v["secret"] && v["secret"]["secretName"].as<std::string>() == secret) volume = true;
  for (const auto& m : pod["containers"][0]["volumeMounts"])
    if (m["mountPath"].as<std::string>() == "/etc/tierwatch/tls") mount = m["readOnly"].as<bool>();
  EXPECT_TRUE(volume);
  EXPECT_TRUE(mount);
  // Exactly one tierwatch-config, the TLS one, and it points at the mounted files.
  int configs = 0;
  for (const auto& cm : r.OfKind("ConfigMap")) {
    if (!absl::StartsWith(cm["metadata"]["name"].as<std::string>(), "tierwatch-config")) continue;
    ++configs;
    YAML::Node cfg = YAML::Load(cm["data"]["tierwatch.yaml"].as<std::string>());
    EXPECT_TRUE(cfg["relay"]["tls"]["enabled"].as<bool>());
    for (const char* f : {"ca_file", "cert_file", "key_file"})
      EXPECT_TRUE(
          absl::StartsWith(cfg["relay"]["tls"][f].as<std::string>(), "/etc/tierwatch/tls/"));
  }
  EXPECT_EQ(configs, 1);
  ExpectRenderedPoliciesLintClean(r, "relay-tls", 16);
}

TEST_F(DeployRenderTest, PrometheusOperatorComponentSwapsTheScrapeObject) {
  Rendered r = RenderWith("deploy/tierwatch", {"deploy/tierwatch/components/prometheus-operator"});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.OfKind("ServiceMonitor").size(), 1u);
  EXPECT_EQ(r.OfKind("VMServiceScrape").size(), 0u) << "both would scrape tierwatch twice";
  EXPECT_EQ(r.OfKind("VMRule").size(), 0u) << "both would fire every alert twice";
  EXPECT_EQ(r.OfKind("ServiceMonitor")[0]["spec"]["endpoints"][0]["port"].as<std::string>(),
            "http");
  ExpectRestrictedPod(r.OfKind("Deployment")[0]);
}

// The rendered config, tier model and policies, laid out as the pod sees them (ConfigMap
// volumes with their ..data symlinks), start the real daemon.
// Lays the rendered ConfigMaps out as the pod sees them (ConfigMap volumes with their ..data
// symlinks) under `root`, with the pod's absolute paths moved there too and the HTTP server
// off: which ConfigMap goes where is what the workload's volumes say.
void MountRendered(const Rendered& r, const YAML::Node& workload, const fs::path& root,
                   const std::string& relay = "") {
  std::map<std::string, YAML::Node> maps;
  for (const auto& cm : r.OfKind("ConfigMap")) maps[cm["metadata"]["name"].as<std::string>()] = cm;
  YAML::Node pod = workload["spec"]["template"]["spec"];
  std::map<std::string, std::vector<std::string>> volume_maps;  // volume -> ConfigMap names
  for (const auto& v : pod["volumes"]) {
    std::string name = v["name"].as<std::string>();
    if (v["configMap"]) volume_maps[name].push_back(v["configMap"]["name"].as<std::string>());
    if (v["projected"])
      for (const auto& src : v["projected"]["sources"])
        volume_maps[name].push_back(src["configMap"]["name"].as<std::string>());
  }
  for (const auto& m : pod["containers"][0]["volumeMounts"]) {
    auto it = volume_maps.find(m["name"].as<std::string>());
    fs::path dir = root / m["mountPath"].as<std::string>().substr(1);
    fs::create_directories(dir);
    if (it == volume_maps.end()) continue;  // PVC, emptyDir: an empty directory
    fs::path data = dir / "..2026_11_20_09_00_00.1";
    fs::create_directories(data);
    fs::create_directory_symlink(data.filename(), dir / "..data");
    for (const auto& cm_name : it->second) {
      for (const auto& kv : maps[cm_name]["data"]) {
        std::string key = kv.first.as<std::string>();
        std::string text = absl::StrReplaceAll(
            kv.second.as<std::string>(),
            {{" /etc/tierwatch/", " " + (root / "etc/tierwatch/").string()},
             {" /var/lib/tierwatch/", " " + (root / "var/lib/tierwatch/").string()},
             {"listen: \":9977\"", "listen: \"\""}});
        if (!relay.empty()) {
          text = absl::StrReplaceAll(text, {{"hubble-relay.cilium.svc:80", relay}});
        }
        WriteFile(data / key, text);
        fs::create_symlink(fs::path("..data") / key, dir / key);
      }
    }
  }
}

TEST_F(DeployRenderTest, RenderedFilesStartTheDaemon) {
  Rendered r = Render("deploy/tierwatch");
  ASSERT_TRUE(r.ok) << r.error;
  TempDir root("podfs");
  MountRendered(r, r.OfKind("Deployment")[0], root.path());
  ShellResult run = RunShell(absl::StrCat(
      Tw(), " --log-level info run --config ",
      (root / "etc/tierwatch/config/tierwatch.yaml").string(), " --capture ",
      Src("examples/zero-trust-rollout/before.jsonl"), " -o json 2>", (root / "stderr").string()));
  std::string err = ReadText(root / "stderr");
  ASSERT_EQ(run.status, 0) << run.out << err;
  EXPECT_THAT(err, HasSubstr("policies=15"));
  EXPECT_THAT(err, HasSubstr("tiers=" + (root / "etc/tierwatch/config/tiers.yaml").string()));
  EXPECT_TRUE(fs::exists(root / "var/lib/tierwatch/baseline.twb"));
  nlohmann::json report = nlohmann::json::parse(run.out);
  EXPECT_GT(report["baseline"]["connections"].get<int>(), 0);
}

TEST_F(DeployRenderTest, ShardedVariantRendersAStatefulSetOfShards) {
  Rendered r = Render("deploy/tierwatch-sharded");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.OfKind("Deployment").empty());
  EXPECT_TRUE(r.OfKind("PersistentVolumeClaim").empty());
  ASSERT_EQ(r.OfKind("StatefulSet").size(), 1u);
  EXPECT_EQ(r.OfKind("PodDisruptionBudget").size(), 1u);
  for (const auto& d : r.docs) {
    EXPECT_EQ(d["metadata"]["namespace"].as<std::string>(), "observability")
        << d["kind"].as<std::string>();
  }
  YAML::Node sts = r.OfKind("StatefulSet")[0];
  ExpectRestrictedPod(sts);
  // --shard ordinal/N with N = replicas.
  std::vector<std::string> args;
  for (const auto& a : sts["spec"]["template"]["spec"]["containers"][0]["args"])
    args.push_back(a.as<std::string>());
  auto shard = std::find(args.begin(), args.end(), "--shard");
  ASSERT_NE(shard, args.end());
  ASSERT_NE(shard + 1, args.end());
  EXPECT_EQ(*(shard + 1), absl::StrCat("ordinal/", sts["spec"]["replicas"].as<int>()));
  EXPECT_EQ(sts["spec"]["serviceName"].as<std::string>(), "tierwatch-shards");
  // The Services select every shard; the scrape object and tierwatch's policy come along.
  EXPECT_EQ(r.OfKind("Service").size(), 2u);
  EXPECT_EQ(r.OfKind("VMServiceScrape").size(), 1u);
  ExpectRenderedPoliciesLintClean(r, "deploy/tierwatch-sharded", 16);

  // The rendered files start a shard against a relay (the replay of the example), reading
  // the shared baseline read-only.
  TempDir root("shardfs");
  testing::Process relay(
      {Tw(), "replay", "--capture", Src("examples/zero-trust-rollout/after.jsonl"), "--listen",
       "127.0.0.1:0"},
      root / "relay.out", root / "relay.err");
  ASSERT_TRUE(relay.AwaitOut("listening on "));
  std::string out = relay.out();
  std::string addr = out.substr(out.find("listening on ") + 13);
  addr = addr.substr(0, addr.find_first_of(" \n"));
  MountRendered(r, sts, root.path(), addr);
  ShellResult run =
      RunShell(absl::StrCat(Tw(), " --log-level info run --config ",
                            (root / "etc/tierwatch/config/tierwatch.yaml").string(),
                            " --shard 0/2 --duration 2s -o json 2>", (root / "stderr").string()));
  std::string err = ReadText(root / "stderr");
  ASSERT_EQ(run.status, 0) << run.out << err;
  EXPECT_THAT(err, HasSubstr("read_only=true"));
  EXPECT_THAT(err, HasSubstr("shard 0/2: "));
  EXPECT_THAT(err, HasSubstr("policies=15"));
}

// --- the image -------------------------------------------------------------------------------

// The package (from dpkg -S) of every shared library the binary links. One dpkg call per
// round, each for what the rounds before left open: by the path ldd prints, by its real
// path (merged /usr), then by file name anywhere.
std::set<std::string> LinkedPackages(std::string* missing) {
  struct Lib {
    std::string queries[3];
    std::string pkg;
  };
  std::map<std::string, Lib> libs;  // by the file name ldd prints
  ShellResult ldd = RunShell("ldd " + Tw());
  for (absl::string_view line : absl::StrSplit(ldd.out, '\n', absl::SkipEmpty())) {
    size_t arrow = line.find("=> /");
    if (arrow == absl::string_view::npos) continue;
    std::string path(line.substr(arrow + 3));
    path = path.substr(0, path.find(' '));
    std::string base = fs::path(path).filename().string();
    libs[base] = Lib{{path, fs::weakly_canonical(path).string(), "*/" + base}, ""};
  }
  for (int round = 0; round < 3; ++round) {
    std::map<std::string, std::string> lib_of_file;  // queried file name -> library
    std::vector<std::string> open;
    for (const auto& [base, lib] : libs) {
      if (!lib.pkg.empty()) continue;
      open.push_back(lib.queries[round]);
      lib_of_file[fs::path(lib.queries[round]).filename().string()] = base;
    }
    if (open.empty()) break;
    ShellResult s = RunShell("dpkg -S '" + absl::StrJoin(open, "' '") + "' 2>/dev/null");
    for (absl::string_view l : absl::StrSplit(s.out, '\n', absl::SkipEmpty())) {
      // "libssl3:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3"
      size_t sep = l.find(": ");
      if (sep == absl::string_view::npos) continue;
      auto it = lib_of_file.find(fs::path(std::string(l.substr(sep + 2))).filename().string());
      if (it == lib_of_file.end() || !libs[it->second].pkg.empty()) continue;
      std::string pkg(l.substr(0, sep));
      libs[it->second].pkg = pkg.substr(0, pkg.find(':'));
    }
  }
  std::set<std::string> out;
  for (const auto& [base, lib] : libs) {
    if (lib.pkg.empty()) {
      absl::StrAppend(missing, base, " ");
    } else {
      out.insert(lib.pkg);
    }
  }
  return out;
}

// The packages `apt-get install` lines of the Dockerfile's last stage install.
std::set<std::string> RuntimeStagePackages(std::string* from, std::string* user,
                                           std::string* entrypoint) {
  std::string text = ReadText(Src("deploy/tierwatch/Dockerfile"));
  // Join continuation lines, then keep the last stage.
  text = absl::StrReplaceAll(text, {{"\\\n", " "}});
  std::vector<std::string> stage;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, "FROM ")) stage.clear();
    stage.emplace_back(line);
  }
  std::set<std::string> pkgs;
  for (const auto& line : stage) {
    if (absl::StartsWith(line, "FROM ")) *from = line.substr(5);
    if (absl::StartsWith(line, "USER ")) *user = line.substr(5);
    if (absl::StartsWith(line, "ENTRYPOINT ")) *entrypoint = line.substr(11);
    if (!absl::StartsWith(line, "RUN ")) continue;
    for (absl::string_view cmd : absl::StrSplit(line, "&&")) {
      std::vector<std::string> words = absl::StrSplit(cmd, ' ', absl::SkipWhitespace());
      if (words.size() < 2 || words[0] != "apt-get" || words[1] != "install") continue;
      for (size_t i = 2; i < words.size(); ++i)
        if (words[i][0] != '-') pkgs.insert(words[i]);
    }
  }
  return pkgs;
}

TEST(DeployImageTest, RuntimeStageInstallsThePackageOfEveryLinkedLibrary) {
  if (RunShell("command -v dpkg >/dev/null && command -v ldd >/dev/null").status != 0)
    GTEST_SKIP() << "dpkg or ldd is absent: not a Debian machine, libraries cannot be mapped";
  std::string missing;
  std::set<std::string> needed = LinkedPackages(&missing);
  EXPECT_TRUE(missing.empty()) << "no package owns: " << missing;
  ASSERT_FALSE(needed.empty());
  std::string from, user, entrypoint;
  std::set<std::string> installed = RuntimeStagePackages(&from, &user, &entrypoint);
  for (const auto& p : needed)
    EXPECT_TRUE(installed.count(p)) << "Dockerfile runtime stage lacks " << p;
  // Nothing but libraries and the CA bundle.
  for (const auto& p : installed)
    EXPECT_TRUE(needed.count(p) || p == "ca-certificates") << "not needed by the binary: " << p;
  EXPECT_EQ(from, "debian:bookworm-slim");
  EXPECT_EQ(user, "65532:65532");
  EXPECT_EQ(entrypoint, "[\"/usr/local/bin/tierwatch\"]");
}

TEST(DeployImageTest, BuildStageUsesTheSamePackagesAsMakeTest) {
  std::string text = ReadText(Src("deploy/tierwatch/Dockerfile"));
  EXPECT_THAT(text, HasSubstr("FROM debian:bookworm AS build"));
  EXPECT_THAT(text, HasSubstr("RUN scripts/install-deps.sh"));
  EXPECT_THAT(text, HasSubstr("COPY --from=build /src/build/tierwatch /usr/local/bin/tierwatch"));
  // The image's uid is the one the pod's securityContext runs as.
  YAML::Node dep = YAML::LoadAll(ReadText(Src("deploy/tierwatch/deployment.yaml")))[0];
  EXPECT_EQ(dep["spec"]["template"]["spec"]["securityContext"]["runAsUser"].as<int>(), 65532);
  EXPECT_EQ(dep["spec"]["template"]["spec"]["securityContext"]["runAsGroup"].as<int>(), 65532);
}

}  // namespace
}  // namespace tw::deploy_test
