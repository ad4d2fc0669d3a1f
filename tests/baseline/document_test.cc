// The documented baseline: export -> parse equals, stable bytes, errors with file:line; diff.
#include "baseline/document.h"

#include <string>

#include "baseline/diff.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "test_util.h"

namespace tw::baseline {
namespace {

using ::testing::HasSubstr;
using testutil::Key;
using testutil::kT0;

class DocumentTest : public ::testing::Test {
 protected:
  // One connection of each peer kind, with awkward names.
  Baseline Small() {
    Baseline b(s_);
    b.set_source("capture:before.jsonl");
    auto odoo_pg = Key(s_, "business", "odoo", "business", "postgres", 5432);
    b.Record(odoo_pg, kT0, s_.Intern("node-a"), flow::Verdict::kForwarded);
    b.Record(odoo_pg, kT0 + absl::Milliseconds(1500), s_.Intern("node-b"), flow::Verdict::kAudit);
    flow::ConnectionKey acme;
    acme.source = flow::Peer::Workload(s_.Intern("cert-manager"), s_.Intern("cert-manager"));
    acme.destination = flow::Peer::Fqdn(s_.Intern("acme-v02.api.letsencrypt.org"));
    acme.protocol = flow::Protocol::kTCP;
    acme.port = 443;
    b.Record(acme, kT0 + absl::Nanoseconds(1), s_.Intern("node-a"), flow::Verdict::kForwarded);
    flow::ConnectionKey ip = acme;
    ip.destination = flow::Peer::Ip(s_.Intern("2001:db8::1"));
    b.Record(ip, kT0, flow::Symbol(), flow::Verdict::kForwarded);
    flow::ConnectionKey api;
    api.source = flow::Peer::Workload(s_.Intern("flux-system"), s_.Intern("true"));
    api.destination = flow::Peer::Entity(s_.Intern("kube-apiserver"));
    api.protocol = flow::Protocol::kTCP;
    api.port = 6443;
    b.Record(api, kT0, s_.Intern("8080"), flow::Verdict::kForwarded);
    flow::ConnectionKey ping;
    ping.source = flow::Peer::Entity(s_.Intern("health"));
    ping.destination = flow::Peer::Workload(s_.Intern("business"), flow::Symbol());
    ping.protocol = flow::Protocol::kICMPv4;
    ping.port = 8;
    b.Record(ping, kT0, s_.Intern("node-a"), flow::Verdict::kForwarded);
    return b;
  }
  flow::SymbolTable s_;
};

TEST_F(DocumentTest, YamlAndJsonRoundTrip) {
  Baseline b = Small();
  for (DocumentFormat f : {DocumentFormat::kYaml, DocumentFormat::kJson}) {
    std::string text = ExportBaselineDocument(b, f);
    SCOPED_TRACE(text);
    flow::SymbolTable other;
    auto parsed = ParseBaselineDocument(text, "doc", other);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_TRUE(*parsed == b);
    // Exporting what was parsed gives the same bytes: the document is stable.
    EXPECT_EQ(ExportBaselineDocument(*parsed, f), text);
  }
}

TEST_F(DocumentTest, LargeRoundTripAndInsertionOrderDoesNotMatter) {
  Baseline b = testutil::Synthetic(s_, 500);
  std::string yaml = ExportBaselineDocument(b, DocumentFormat::kYaml);
  auto parsed = ParseBaselineDocument(yaml, "big.yaml", s_);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(*parsed == b);
  // A baseline with the same content built in another order exports identically.
  Baseline reversed(s_);
  reversed.set_source(b.source());
  std::vector<ConnectionRecord> records = b.Sorted();
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    ConnectionStats st{it->first_seen, it->last_seen, it->count,
                       std::vector<flow::Symbol>(it->nodes.begin(), it->nodes.end()), it->verdicts};
    reversed.Insert(it->key, st);
  }
  auto workloads = b.LabelledWorkloads();
  for (auto it = workloads.rbegin(); it != workloads.rend(); ++it) {
    reversed.SetLabels(it->first, std::vector<flow::Symbol>(it->second.begin(), it->second.end()));
  }
  // Compared as booleans: a mismatch would print two documents of thousands of lines.
  EXPECT_TRUE(ExportBaselineDocument(reversed, DocumentFormat::kYaml) == yaml);
  EXPECT_TRUE(ExportBaselineDocument(reversed, DocumentFormat::kJson) ==
              ExportBaselineDocument(b, DocumentFormat::kJson));
}

TEST_F(DocumentTest, DocumentShape) {
  std::string yaml = ExportBaselineDocument(Small(), DocumentFormat::kYaml);
  EXPECT_THAT(yaml, HasSubstr("apiVersion: tierwatch.io/v1\nkind: TierwatchBaseline\n"));
  EXPECT_THAT(yaml, HasSubstr("generatedFrom: capture:before.jsonl"));
  EXPECT_THAT(yaml, HasSubstr("from: 2026-05-28T20:26:40Z"));
  EXPECT_THAT(yaml, HasSubstr("to: 2026-05-28T20:26:41.500Z"));
  EXPECT_THAT(yaml, HasSubstr("destination: {fqdn: acme-v02.api.letsencrypt.org}"));
  EXPECT_THAT(yaml, HasSubstr("source: {namespace: flux-system, workload: \"true\"}"));
  EXPECT_THAT(yaml, HasSubstr("nodes: [\"8080\"]"));
  EXPECT_THAT(yaml, HasSubstr("verdicts: [FORWARDED, AUDIT]"));
  EXPECT_THAT(yaml, HasSubstr("byIpOnly: true"));

  nlohmann::json j = nlohmann::json::parse(ExportBaselineDocument(Small(), DocumentFormat::kJson));
  EXPECT_EQ(j["kind"], "TierwatchBaseline");
  EXPECT_EQ(j["metadata"]["connections"], 5);
  ASSERT_EQ(j["connections"].size(), 5u);
  // Sorted: workload sources before entity sources, then by name.
  EXPECT_EQ(j["connections"][0]["source"]["namespace"], "business");
  EXPECT_EQ(j["connections"][4]["source"]["entity"], "health");
  EXPECT_EQ(j["connections"][0]["count"], 2);
}

TEST_F(DocumentTest, HandWrittenMinimalEntries) {
  auto b = ParseBaselineDocument(R"(apiVersion: tierwatch.io/v1
kind: TierwatchBaseline
connections:
  - source: {namespace: business, workload: odoo}
    destination: {fqdn: "API.Example.com."}
    protocol: tcp
    port: 443
  - source: {entity: world}
    destination: {namespace: ingress, workload: nginx}
    protocol: TCP
    port: 443
)",
                                 "hand.yaml", s_);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->size(), 2u);
  flow::ConnectionKey k;
  k.source = flow::Peer::Workload(s_.Intern("business"), s_.Intern("odoo"));
  k.destination = flow::Peer::Fqdn(s_.Intern("api.example.com"));
  k.protocol = flow::Protocol::kTCP;
  k.port = 443;
  EXPECT_TRUE(b->Contains(k));
}

TEST_F(DocumentTest, DuplicateKeysAreErrors) {
  // yaml-cpp keeps both and a lookup returns the first: the port would silently be 443.
  auto b = ParseBaselineDocument(R"(apiVersion: tierwatch.io/v1
kind: TierwatchBaseline
connections:
  - source: {namespace: business, workload: odoo}
    destination: {fqdn: api.example.com}
    protocol: tcp
    port: 443
    port: 8443
)",
                                 "dup.yaml", s_);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(
      std::string(b.status().message()),
      HasSubstr("dup.yaml:8:5: error: connections[0].port: duplicate key (first given at line 7)"));
  auto j = ParseBaselineDocument(
      "{\"apiVersion\": \"tierwatch.io/v1\", \"kind\": \"TierwatchBaseline\",\n"
      " \"connections\": [], \"connections\": []}\n",
      "dup.json", s_);
  ASSERT_FALSE(j.ok());
  EXPECT_THAT(std::string(j.status().message()),
              HasSubstr("dup.json:2:21: error: connections: duplicate"));
}

TEST_F(DocumentTest, AliasBombIsRefused) {
  std::string y =
      "apiVersion: tierwatch.io/v1\nkind: TierwatchBaseline\nconnections: []\n"
      "metadata:\n  generatedFrom: x\n  timeRange: &a0 [x]\n";
  for (int i = 1; i <= 8; ++i) {
    y += "  a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) y += std::string(j ? "," : "") + "*a" + std::to_string(i - 1);
    y += "]\n";
  }
  auto b = ParseBaselineDocument(y, "bomb.yaml", s_);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(std::string(b.status().message()),
              HasSubstr("expands to more than 100000 YAML nodes"));
  EXPECT_THAT(std::string(b.status().message()),
              HasSubstr("1 error in baseline document bomb.yaml"));
}

TEST_F(DocumentTest, ErrorsAreAllReportedWithLines) {
  auto b = ParseBaselineDocument(
      "apiVersion: tierwatch.io/v1\n"                       // 1
      "kind: TierwatchBaseline\n"                           // 2
      "extra: 1\n"                                          // 3
      "connections:\n"                                      // 4
      "  - source: {namespace: a, workload: b}\n"           // 5
      "    destination: {entity: wrold}\n"                  // 6
      "    protocol: TCP\n"                                 // 7
      "    port: 443\n"                                     // 8
      "  - source: {namespace: a, workload: b, fqdn: x}\n"  // 9
      "    destination: {ip: 192.0.2.1}\n"                  // 10
      "    protocol: QUIC\n"                                // 11
      "    port: 70000\n"                                   // 12
      "  - source: {namespace: a, workload: b}\n"           // 13
      "    destination: {namespace: c, workload: d}\n"      // 14
      "    protocol: TCP\n"                                 // 15
      "    port: 80\n"                                      // 16
      "    firstSeen: yesterday\n"                          // 17
      "    verdicts: [FORWARDED, MAYBE]\n"                  // 18
      "    byIpOnly: true\n"                                // 19
      "  - source: {namespace: a, workload: b}\n"           // 20
      "    destination: {namespace: c, workload: d}\n"      // 21
      "    protocol: TCP\n"                                 // 22
      "    port: 81\n"                                      // 23
      "  - source: {namespace: a, workload: b}\n"           // 24
      "    destination: {namespace: c, workload: d}\n"      // 25
      "    protocol: TCP\n"                                 // 26
      "    port: 81\n",                                     // 27
      "bad.yaml", s_);
  ASSERT_FALSE(b.ok());
  std::string msg(b.status().message());
  SCOPED_TRACE(msg);
  EXPECT_THAT(msg, HasSubstr("bad.yaml:3:1: error: document: unknown key \"extra\""));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:6:"));
  EXPECT_THAT(msg, HasSubstr("\"wrold\" is not a reserved entity"));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:9:"));
  EXPECT_THAT(msg, HasSubstr("expected exactly one of"));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:11:15: error: connections[1].protocol: \"QUIC\""));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:12:11: error: connections[1].port: expected an integer"));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:17:16: error: connections[2].firstSeen: \"yesterday\""));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:18:"));
  EXPECT_THAT(msg, HasSubstr("\"MAYBE\" is not a verdict"));
  EXPECT_THAT(msg,
              HasSubstr("bad.yaml:24:5: error: connections[4]: a/b -> c/d:81/TCP is listed twice "
                        "(first at line 20)"));
  EXPECT_THAT(msg, HasSubstr("8 errors in baseline document bad.yaml"));
}

TEST_F(DocumentTest, WrongApiVersionAndSyntax) {
  auto v2 = ParseBaselineDocument("apiVersion: tierwatch.io/v2\nkind: TierwatchBaseline\n",
                                  "v2.yaml", s_);
  EXPECT_EQ(v2.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(v2.status().message()), HasSubstr("apiVersion tierwatch.io/v2"));
  auto syntax =
      ParseBaselineDocument("{\"kind\": \"TierwatchBaseline\",\n  \"x\": [1,\n", "s.json", s_);
  EXPECT_EQ(syntax.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(syntax.status().message()), HasSubstr("s.json:"));
}

// --- Diff ------------------------------------------------------------------------------

TEST_F(DocumentTest, DiffFindsNewAndVanishedConnectionsOnly) {
  Baseline a = Small();
  Baseline b = Small();
  // Counts and times differ: not differences.
  b.Record(Key(s_, "business", "odoo", "business", "postgres", 5432), kT0 + absl::Hours(48),
           s_.Intern("node-c"), flow::Verdict::kForwarded);
  BaselineDiff same = DiffBaselines(a, b);
  EXPECT_TRUE(same.empty());
  EXPECT_THAT(RenderDiffText(same, {"a.yaml", "b.yaml", "new", "vanished"}),
              HasSubstr("no differences: a.yaml (5 connections) and b.yaml (5 connections)"));

  b.Record(Key(s_, "business", "n8n", "business", "postgres", 5432), kT0, s_.Intern("node-a"),
           flow::Verdict::kForwarded);
  Baseline c(s_);
  c.Merge(b);
  BaselineDiff d = DiffBaselines(a, b);
  ASSERT_EQ(d.added.size(), 1u);
  EXPECT_EQ(d.added[0].key.ToString(), "business/n8n -> business/postgres:5432/TCP");
  EXPECT_TRUE(d.removed.empty());
  BaselineDiff back = DiffBaselines(b, a);
  ASSERT_EQ(back.removed.size(), 1u);
  EXPECT_TRUE(back.added.empty());

  DiffLabels labels{"old.yaml", "new.yaml", "new in new.yaml", "vanished (in old.yaml only)"};
  std::string text = RenderDiffText(back, labels);
  EXPECT_THAT(text,
              HasSubstr("0 new, 1 vanished: old.yaml (6 connections) -> new.yaml (5 connections)"));
  EXPECT_THAT(text, HasSubstr("vanished (in old.yaml only) (1):\n  - business/n8n -> "
                              "business/postgres:5432/TCP\n      count=1"));
  nlohmann::json j = nlohmann::json::parse(RenderDiffJson(d, labels));
  EXPECT_EQ(j["identical"], false);
  EXPECT_EQ(j["new"].size(), 1u);
  EXPECT_EQ(j["new"][0]["source"]["workload"], "n8n");
  EXPECT_EQ(j["vanished"].size(), 0u);
}

}  // namespace
}  // namespace tw::baseline
