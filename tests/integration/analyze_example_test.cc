// The bundled example end to end, through the real binary: learn a baseline from the before
// phase, `tierwatch analyze` the after and audit phases, and require exactly the classes,
// event counts and distinct connections that examples/zero-trust-rollout/expected-classes.json
// (the README's table) predicts — AUDIT phase marked predicted. Then `tierwatch simulate`
// as the CI gate: the story's policies fail it, the corrected set does not break Tier 0/1/DNS.
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

#include "baseline/baseline.h"
#include "baseline/persist.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "sources/capture/capture_reader.h"
#include "testing/paths.h"
#include "testing/run.h"

namespace tw {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

using Result = testing::RunResult;
using testing::Slurp;

std::string Example(const std::string& f) {
  return testing::SourceDir() + "/examples/zero-trust-rollout/" + f;
}

class ExampleCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::path(::testing::TempDir()) /
                        ("tw_analyze_example_" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    // The baseline learned from the before phase, as `tierwatch baseline learn` would.
    flow::SymbolTable symbols;
    baseline::Baseline b(symbols);
    flow::DnsNameCache dns(symbols);
    baseline::Learner learner(b, &dns);
    sources::CaptureReader reader({Example("before.jsonl")}, symbols);
    ASSERT_TRUE(reader
                    .Run([&](flow::Event&& ev) {
                      learner.Observe(ev);
                      return true;
                    })
                    .ok());
    b.set_source("capture:before.jsonl");
    ASSERT_TRUE(baseline::SaveSnapshot(b, Baseline()).ok());
    expected_ = new json(json::parse(Slurp(Example("expected-classes.json"))));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete expected_;
  }
  static std::string Baseline() { return (*dir_ / "before.twb").string(); }

  Result Run(const std::string& args) { return testing::RunTierwatch(args, *dir_); }
  static std::vector<json> Lines(const std::string& s) {
    std::vector<json> out;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) out.push_back(json::parse(line));
    }
    return out;
  }

  // Compares `analyze -o json` objects with one phase of expected-classes.json.
  void CheckPhase(const std::vector<json>& drops, const json& phase) {
    struct Got {
      uint64_t events = 0;
      std::set<std::string> connections;
      std::set<std::string> sides;  // "connection|side"
    };
    std::map<std::string, Got> got;
    for (const json& d : drops) {
      Got& g = got[d["class"].get<std::string>()];
      ++g.events;
      g.connections.insert(d["connection"].get<std::string>());
      g.sides.insert(d["connection"].get<std::string>() + "|" +
                     d["enforcing_side"].get<std::string>());
      // AUDIT verdicts are predicted, and carry no drop reason.
      EXPECT_EQ(d["predicted"].get<bool>(), d["verdict"] == "AUDIT") << d.dump();
      if (d["predicted"].get<bool>()) {
        EXPECT_TRUE(d["drop_reason"].is_null()) << d.dump();
      }
    }
    EXPECT_EQ(drops.size(), phase["counted_events"].get<uint64_t>());
    for (const auto& [cls, want] : phase["classes"].items()) {
      SCOPED_TRACE(cls);
      const Got& g = got[cls];
      EXPECT_EQ(g.events, want["events"].get<uint64_t>());
      EXPECT_EQ(g.connections.size(), want["connections"].get<uint64_t>());
      for (const json& ex : want["examples"]) {
        std::string key =
            ex["connection"].get<std::string>() + "|" + ex["enforcing_side"].get<std::string>();
        EXPECT_TRUE(g.sides.count(key)) << "missing " << key;
      }
      for (const json& d : drops) {
        if (d["class"] != cls) continue;
        EXPECT_EQ(d["severity"], want["severity"]) << d.dump();
      }
    }
    for (const auto& [cls, g] : got) {
      EXPECT_TRUE(phase["classes"].contains(cls)) << "unexpected class " << cls;
    }
  }

  static fs::path* dir_;
  static json* expected_;
};

fs::path* ExampleCli::dir_ = nullptr;
json* ExampleCli::expected_ = nullptr;

TEST_F(ExampleCli, AfterPhaseHasTheReadmeClasses) {
  Result r = Run("analyze " + Example("after.jsonl") + " --baseline " + Baseline() + " -o json");
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<json> drops = Lines(r.out);
  CheckPhase(drops, (*expected_)["after"]);
  // Each denied packet once: the type-5 twins were folded in.
  size_t twins = 0;
  for (const json& d : drops) twins += d["twin_uuid"].is_null() ? 0 : 1;
  EXPECT_EQ(twins, drops.size() - 1);  // every policy drop had its twin; the infra drop none
}

TEST_F(ExampleCli, AuditPhaseHasTheSameClassesPredicted) {
  Result r =
      Run("analyze --capture " + Example("audit.jsonl") + " --baseline " + Baseline() + " -o json");
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<json> drops = Lines(r.out);
  CheckPhase(drops, (*expected_)["audit"]);
  size_t predicted = 0;
  for (const json& d : drops) predicted += d["predicted"].get<bool>() ? 1 : 0;
  EXPECT_EQ(predicted, (*expected_)["audit"]["verdicts"]["AUDIT"].get<size_t>());
}

// Done when (issue 3): with the story's policies loaded, every story mistake is a critical or
// high drop whose explanation names the policy responsible.
TEST_F(ExampleCli, StoryMistakesAreNamedWithTheirPolicies) {
  Result r = Run("analyze " + Example("after.jsonl") + " --baseline " + Baseline() +
                 " --policies " + testing::SourceDir() + "/tests/policy/testdata/story -o json");
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, json> first;  // connection|side -> first drop
  for (const json& d : Lines(r.out)) {
    std::string k =
        d["connection"].get<std::string>() + "|" + d["enforcing_side"].get<std::string>();
    if (!first.count(k)) first[k] = d;
  }
  struct Want {
    const char* key;
    const char* cls;
    const char* policy;  // must appear in the explanation
  };
  for (const Want& w : {
           Want{"(remote-node) -> kube-system/coredns:53/UDP|destination", "dns_blocked",
                "allow-dns-ingress"},
           Want{"flux-system/helm-controller -> flux-system/source-controller:9090/TCP|destination",
                "tier0_violation", "allow-metrics-scraping"},
           Want{"(remote-node) -> (health):4240/TCP|destination", "tier0_violation",
                "default-deny-all"},
           Want{"observability/vmagent -> kube-system/coredns:9153/TCP|source",
                "metrics_scrape_blocked", "tier1-observability-egress"},
           Want{"business/debug-shell -> business/postgres:5432/TCP|source", "bypass_ineffective",
                "allow-dns-egress"},
           Want{"cert-manager/cert-manager -> acme-v02.api.letsencrypt.org:443/TCP|source",
                "platform_blocked", "tier1-cert-manager-egress"},
           Want{
               "external-secrets/external-secrets -> external-secrets/onepassword-connect:8080/TCP|"
               "destination",
               "platform_blocked", "default-deny-all"},
       }) {
    SCOPED_TRACE(w.key);
    ASSERT_TRUE(first.count(w.key));
    const json& d = first[w.key];
    EXPECT_EQ(d["class"], w.cls);
    EXPECT_THAT(d["severity"].get<std::string>(), ::testing::AnyOf("critical", "high"));
    EXPECT_THAT(d["explanation"].get<std::string>(), HasSubstr(w.policy));
    EXPECT_TRUE(d["policy"]["evaluated"].get<bool>());
    EXPECT_EQ(d["policy"]["side_verdict"], "DENIED");
  }
}

TEST_F(ExampleCli, TextSummaryAndExplain) {
  Result r = Run("analyze " + Example("after.jsonl") + " --baseline " + Baseline());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("CLASS"));
  EXPECT_THAT(r.out, HasSubstr("tier0_violation          critical        45            4"));
  EXPECT_THAT(r.out, HasSubstr("total                                   307           32"));
  EXPECT_THAT(r.out, HasSubstr("[critical] dns_blocked"));
  EXPECT_THAT(r.out, HasSubstr("Bypassed endpoints (policy.cilium.io/enforce=false):"));
  EXPECT_THAT(r.out, HasSubstr("business/debug-shell"));

  Result j = Run("analyze " + Example("after.jsonl") + " --baseline " + Baseline() + " -o json");
  std::string id;
  for (const json& d : Lines(j.out)) {
    if (d["class"] == "reply_drop") id = d["id"].get<std::string>();
  }
  ASSERT_FALSE(id.empty());
  Result e =
      Run("analyze " + Example("after.jsonl") + " --baseline " + Baseline() + " --explain " + id);
  ASSERT_EQ(e.status, 0) << e.err;
  EXPECT_THAT(e.out, HasSubstr("drop " + id + ": reply_drop (low)"));
  EXPECT_THAT(e.out, HasSubstr("2 reply_drop: yes"));
  EXPECT_THAT(e.out, HasSubstr("reply to    business/odoo -> business/postgres:5432/TCP"));
  EXPECT_THAT(e.out, HasSubstr("policy-verdict twin"));
}

TEST_F(ExampleCli, BadInputExitsTwo) {
  EXPECT_EQ(Run("analyze").status, 2);
  EXPECT_EQ(Run("analyze /nonexistent/capture.jsonl").status, 2);
  std::ofstream(*dir_ / "garbage.jsonl") << "this is not json\nneither is this\n";
  Result g = Run("analyze " + (*dir_ / "garbage.jsonl").string());
  EXPECT_EQ(g.status, 2);
  EXPECT_THAT(g.err, HasSubstr("garbage.jsonl:1"));
  EXPECT_EQ(Run("analyze " + Example("after.jsonl") + " --baseline /nonexistent.twb").status, 2);
  EXPECT_EQ(Run("analyze " + Example("after.jsonl") + " --explain 000000000000").status, 2);
  std::ofstream(*dir_ / "bad-tiers.yaml") << "tiers: 7\n";
  EXPECT_EQ(
      Run("analyze " + Example("after.jsonl") + " --tiers " + (*dir_ / "bad-tiers.yaml").string())
          .status,
      2);
}

// --- simulate, the CI gate -----------------------------------------------------------------------

TEST_F(ExampleCli, SimulateStoryPoliciesFailTheGate) {
  Result r = Run("simulate --policies " + testing::SourceDir() +
                 "/tests/policy/testdata/story --capture " + Example("before.jsonl") + " -o json");
  EXPECT_EQ(r.status, 1) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["gate"], "fail");
  EXPECT_EQ(j["totals"]["tier0_violation"]["connections"], 4);
  EXPECT_EQ(j["totals"]["dns_blocked"]["connections"], 1);
  EXPECT_GT(j["totals"]["platform_blocked"]["connections"].get<int>(), 0);
}

TEST_F(ExampleCli, SimulateCorrectedSet) {
  const std::string set = testing::SourceDir() + "/deploy/network-policies/app";
  // Alone, the platform set leaves the Tier 2 business workloads without allow policies:
  // high (baseline_regression), so the default gate fails ...
  Result r = Run("simulate --policies " + set + " --capture " + Example("before.jsonl"));
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("dns_blocked              critical         0            0"));
  EXPECT_THAT(r.out, HasSubstr("tier0_violation          critical         0            0"));
  EXPECT_THAT(r.out, HasSubstr("platform_blocked         high             0            0"));
  // ... while a gate on Tier 0/1, DNS, scraping and the bypass passes,
  Result g = Run("simulate --policies " + set + " --capture " + Example("before.jsonl") +
                 " --fail-on critical,platform_blocked,metrics_scrape_blocked,bypass_ineffective");
  EXPECT_EQ(g.status, 0) << g.out << g.err;
  // ... and with the app team's policies nothing breaks.
  Result a =
      Run("simulate --policies " + set + " " + testing::SourceDir() +
          "/tests/simulate/testdata/business-apps.yaml --capture " + Example("before.jsonl"));
  EXPECT_EQ(a.status, 0) << a.out << a.err;
  EXPECT_THAT(a.out, HasSubstr("47 connections: 47 allowed, 0 would break"));
  // A baseline file works as input too.
  Result b = Run("simulate --policies " + set + " " + testing::SourceDir() +
                 "/tests/simulate/testdata/business-apps.yaml --baseline " + Baseline() +
                 " --capture " + Example("before.jsonl") + " -o json");
  EXPECT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(json::parse(b.out)["connections"], 47);
}

TEST_F(ExampleCli, SimulateBadInputExitsTwo) {
  const std::string set = testing::SourceDir() + "/deploy/network-policies/app";
  EXPECT_EQ(Run("simulate --policies " + set).status, 2);  // no connections given
  EXPECT_EQ(Run("simulate --capture " + Example("before.jsonl")).status, 2);  // no policies
  EXPECT_EQ(Run("simulate --policies " + set + " --baseline /nonexistent.twb").status, 2);
  fs::create_directories(*dir_ / "badpol");
  std::ofstream(*dir_ / "badpol" / "p.yaml") << R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: x, namespace: y}
spec:
  endpointSelector: {}
  egress:
    - toPorts: [{ports: [{port: "99999", protocol: TCP}]}]
)";
  Result r = Run("simulate --policies " + (*dir_ / "badpol").string() + " --capture " +
                 Example("before.jsonl"));
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("p.yaml:"));
  EXPECT_EQ(Run("simulate --policies " + set + " --capture " + Example("before.jsonl") +
                " --fail-on nonsense")
                .status,
            2);
}

}  // namespace
}  // namespace tw
