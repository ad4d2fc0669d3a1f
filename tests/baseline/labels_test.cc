// Workload labels: what the baseline keeps per workload (the labels every pod carries, minus
// per-revision labels), how the snapshot (version 2, and version 1 files still loading) and
// the exported document carry them, and that loaders reject bad label entries.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "baseline/baseline.h"
#include "baseline/document.h"
#include "baseline/persist.h"
#include "common/time_source.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"
#include "testing/paths.h"

namespace tw::baseline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testutil::kT0;

std::vector<std::string> Strings(absl::Span<const flow::Symbol> labels) {
  std::vector<std::string> out;
  for (flow::Symbol l : labels) out.push_back(l.str());
  return out;
}

class LabelsTest : public ::testing::Test {
 protected:
  flow::Endpoint Pod(absl::string_view ns, uint32_t identity, std::vector<std::string> labels) {
    flow::Endpoint ep;
    ep.identity = identity;
    ep.namespace_ = s_.Intern(ns);
    for (const auto& l : labels) ep.labels.push_back(s_.Intern(l));
    ep.reserved = flow::ComputeReserved(ep);
    return ep;
  }
  flow::Flow Syn(flow::Endpoint src, flow::Endpoint dst, uint16_t dport) {
    flow::Flow f;
    f.time = kT0;
    f.verdict = flow::Verdict::kForwarded;
    f.source = std::move(src);
    f.destination = std::move(dst);
    f.source_ip = "10.0.0.1";
    f.destination_ip = "10.0.0.2";
    f.l4.protocol = flow::Protocol::kTCP;
    f.l4.source_port = 40000;
    f.l4.destination_port = dport;
    f.l4.tcp_flags = flow::kSYN;
    f.node_name = s_.Intern("node-a");
    f.type = flow::FlowType::kL3L4;
    f.event_type = flow::kEventTrace;
    return f;
  }
  flow::Peer Workload(absl::string_view ns, absl::string_view name) {
    return flow::Peer::Workload(s_.Intern(ns), s_.Intern(name));
  }
  std::string Dir() {
    if (dir_.empty()) dir_ = testutil::TempDir("labels");
    return dir_;
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  flow::SymbolTable s_;
  std::string dir_;
};

TEST_F(LabelsTest, PerPodLabelsAreNeverKept) {
  EXPECT_TRUE(IsPerPodLabel("k8s:pod-template-hash=5d8f9c7b6"));
  EXPECT_TRUE(IsPerPodLabel("k8s:controller-revision-hash=postgres-7c9d"));
  EXPECT_TRUE(IsPerPodLabel("k8s:statefulset.kubernetes.io/pod-name=postgres-0"));
  EXPECT_TRUE(IsPerPodLabel("pod-template-hash=x"));
  EXPECT_FALSE(IsPerPodLabel("k8s:app=odoo"));
  // A namespace label with that name is the namespace's, not the pod's.
  EXPECT_FALSE(IsPerPodLabel("k8s:io.cilium.k8s.namespace.labels.pod-template-hash=x"));
}

TEST_F(LabelsTest, LearnerKeepsTheLabelsAllPodsOfAWorkloadShare) {
  Baseline b(s_);
  Learner learner(b, nullptr);
  // reviews-v1 has two identities over time: a version label that changed during the
  // window (a rollout) is not a label its pods share.
  flow::Endpoint v1a = Pod("bookinfo", 100,
                           {"k8s:app=reviews", "k8s:version=v1", "k8s:pod-template-hash=aaa",
                            "k8s:io.kubernetes.pod.namespace=bookinfo",
                            "k8s:io.cilium.k8s.policy.serviceaccount=bookinfo-reviews"});
  v1a.workloads = {{s_.Intern("reviews-v1"), s_.Intern("Deployment")}};
  flow::Endpoint v1b = Pod("bookinfo", 101,
                           {"k8s:app=reviews", "k8s:version=v1.1", "k8s:pod-template-hash=bbb",
                            "k8s:io.kubernetes.pod.namespace=bookinfo",
                            "k8s:io.cilium.k8s.policy.serviceaccount=bookinfo-reviews"});
  v1b.workloads = v1a.workloads;
  flow::Endpoint ratings = Pod("bookinfo", 200,
                               {"k8s:app=ratings", "k8s:io.kubernetes.pod.namespace=bookinfo",
                                "k8s:io.cilium.k8s.policy.serviceaccount=bookinfo-ratings"});
  learner.Observe(Syn(v1a, ratings, 9080));
  // Named after the app label every node reports (Endpoint.workloads only comes from the
  // pod's own node).
  auto labels = b.Labels(Workload("bookinfo", "reviews"));
  ASSERT_TRUE(labels.has_value());
  EXPECT_THAT(
      Strings(*labels),
      ElementsAre("k8s:app=reviews", "k8s:io.cilium.k8s.policy.serviceaccount=bookinfo-reviews",
                  "k8s:io.kubernetes.pod.namespace=bookinfo", "k8s:version=v1"));
  EXPECT_EQ(ServiceAccountOf(*labels), "bookinfo-reviews");
  learner.Observe(Syn(v1b, ratings, 9080));
  EXPECT_THAT(
      Strings(*b.Labels(Workload("bookinfo", "reviews"))),
      ElementsAre("k8s:app=reviews", "k8s:io.cilium.k8s.policy.serviceaccount=bookinfo-reviews",
                  "k8s:io.kubernetes.pod.namespace=bookinfo"));
  // The destination side is learned too; entities and world peers keep none.
  EXPECT_THAT(
      Strings(*b.Labels(Workload("bookinfo", "ratings"))),
      ElementsAre("k8s:app=ratings", "k8s:io.cilium.k8s.policy.serviceaccount=bookinfo-ratings",
                  "k8s:io.kubernetes.pod.namespace=bookinfo"));
  EXPECT_EQ(b.labelled_workloads(), 2u);
  // An endpoint without labels (nothing known) does not erase what is known.
  flow::Endpoint bare = Pod("bookinfo", 0, {});
  bare.workloads = {{s_.Intern("reviews"), s_.Intern("Deployment")}};
  learner.Observe(Syn(bare, ratings, 9081));
  EXPECT_EQ(b.Labels(Workload("bookinfo", "reviews"))->size(), 3u);
  EXPECT_FALSE(b.Labels(Workload("bookinfo", "nobody")).has_value());
}

TEST_F(LabelsTest, MergeKeepsSharedLabelsAndCopiesCompareThem) {
  Baseline a(s_), b(s_);
  flow::Peer odoo = Workload("business", "odoo");
  a.SetLabels(odoo, {s_.Intern("k8s:app=odoo"), s_.Intern("k8s:tier=web")});
  b.SetLabels(odoo, {s_.Intern("k8s:app=odoo"), s_.Intern("k8s:pod-template-hash=x")});
  b.SetLabels(Workload("business", "n8n"), {s_.Intern("k8s:app=n8n")});
  EXPECT_FALSE(a == b);
  Baseline copy = a;
  EXPECT_TRUE(copy == a);
  copy.Merge(b);
  EXPECT_THAT(Strings(*copy.Labels(odoo)), ElementsAre("k8s:app=odoo"));
  EXPECT_THAT(Strings(*copy.Labels(Workload("business", "n8n"))), ElementsAre("k8s:app=n8n"));
  EXPECT_THAT(Strings(*a.Labels(odoo)), ElementsAre("k8s:app=odoo", "k8s:tier=web"));
  EXPECT_FALSE(copy == a);
}

TEST_F(LabelsTest, SnapshotCarriesLabelsAndEncodesDeterministically) {
  Baseline b = testutil::Synthetic(s_, 2000);
  ASSERT_GT(b.labelled_workloads(), 100u);
  std::string bytes = EncodeSnapshot(b);
  EXPECT_EQ(bytes.substr(6, 2), std::string("\x02\x00", 2));  // format version 2
  flow::SymbolTable other;
  auto back = DecodeSnapshot(bytes, "b.twb", other);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == b);
  EXPECT_EQ(back->labelled_workloads(), b.labelled_workloads());
  EXPECT_EQ(EncodeSnapshot(*back), bytes);
}

// tests/baseline/testdata/before-v1.twb was written by tierwatch before it kept labels
// (format version 1): `baseline learn` of the example's before phase.
TEST_F(LabelsTest, VersionOneSnapshotStillLoadsAndTheSaverUpgradesIt) {
  std::string fixture = tw::testing::SourceDir() + "/tests/baseline/testdata/before-v1.twb";
  {
    std::ifstream in(fixture, std::ios::binary);
    char head[8] = {};
    in.read(head, 8);
    ASSERT_EQ(std::string(head + 6, 2), std::string("\x01\x00", 2)) << "not a version-1 file";
  }
  auto v1 = LoadSnapshot(fixture, s_);
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->size(), 48u);
  EXPECT_EQ(v1->labelled_workloads(), 0u);
  EXPECT_EQ(v1->source(), "capture:examples/zero-trust-rollout/before.jsonl");
  auto any = LoadBaselineAny(fixture, s_);
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_TRUE(*any == *v1);

  // The daemon's saver loads it and replaces it with a version-2 snapshot of the same data.
  std::string path = Dir() + "/baseline.twb";
  std::filesystem::copy_file(fixture, path);
  ManualTimeSource clock(kT0);
  Saver saver({.path = path}, clock);
  auto started = saver.Start(s_);
  ASSERT_TRUE(started.ok()) << started.status();
  started->SetLabels(Workload("business", "odoo"), {s_.Intern("k8s:app=odoo")});
  ASSERT_TRUE(saver.Save(*started).ok());
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  EXPECT_EQ(buf.str().substr(6, 2), std::string("\x02\x00", 2));
  auto v2 = LoadSnapshot(path, s_);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->size(), 48u);
  EXPECT_TRUE(*v2 == *started);
}

TEST_F(LabelsTest, NewerVersionIsRefusedNamingBoth) {
  std::string bytes = EncodeSnapshot(testutil::Synthetic(s_, 10));
  bytes[6] = 3;
  auto r = DecodeSnapshot(bytes, "v3.twb", s_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("format version 3; this tierwatch reads versions 1 to 2"));
}

TEST_F(LabelsTest, DocumentCarriesWorkloadsInBothFormats) {
  Baseline b(s_);
  b.Record(testutil::Key(s_, "business", "odoo", "business", "postgres", 5432), kT0,
           s_.Intern("node-a"), flow::Verdict::kForwarded);
  b.SetLabels(Workload("business", "odoo"),
              {s_.Intern("k8s:app.kubernetes.io/name=odoo"),
               s_.Intern("k8s:io.cilium.k8s.policy.serviceaccount=odoo"),
               s_.Intern("k8s:io.kubernetes.pod.namespace=business")});
  b.SetLabels(Workload("business", "postgres"), {s_.Intern("k8s:app=true")});
  std::string yaml = ExportBaselineDocument(b, DocumentFormat::kYaml);
  EXPECT_THAT(yaml, HasSubstr("workloads:\n  - namespace: business\n    workload: odoo\n"
                              "    serviceAccount: odoo\n    labels:\n"
                              "      - k8s:app.kubernetes.io/name=odoo\n"));
  for (DocumentFormat f : {DocumentFormat::kYaml, DocumentFormat::kJson}) {
    std::string text = ExportBaselineDocument(b, f);
    flow::SymbolTable other;
    auto back = ParseBaselineDocument(text, "doc", other);
    ASSERT_TRUE(back.ok()) << back.status() << "\n" << text;
    EXPECT_TRUE(*back == b) << text;
    EXPECT_EQ(ExportBaselineDocument(*back, f), text);
  }
}

TEST_F(LabelsTest, DocumentWithoutWorkloadsStillLoads) {
  // The shape exported before tierwatch kept labels.
  std::string old_doc =
      "apiVersion: tierwatch.io/v1\nkind: TierwatchBaseline\nmetadata:\n"
      "  generatedFrom: capture:x\nconnections:\n"
      "  - source: {namespace: business, workload: odoo}\n"
      "    destination: {namespace: business, workload: postgres}\n"
      "    protocol: TCP\n    port: 5432\n";
  auto b = ParseBaselineDocument(old_doc, "old.yaml", s_);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->size(), 1u);
  EXPECT_EQ(b->labelled_workloads(), 0u);
}

TEST_F(LabelsTest, DocumentWorkloadErrorsNameTheLine) {
  std::string doc =
      "apiVersion: tierwatch.io/v1\nkind: TierwatchBaseline\nconnections: []\n"
      "workloads:\n"
      "  - namespace: business\n"  // line 5
      "    workload: odoo\n"
      "    serviceAccount: odoo\n"
      "    labels: [k8s:io.cilium.k8s.policy.serviceaccount=other]\n"  // line 8
      "  - namespace: business\n"                                      // line 9
      "    workload: n8n\n"
      "    labels: [reserved:world, appisnolabel]\n"               // line 11
      "  - {namespace: business, workload: odoo, colour: red}\n";  // line 12
  auto b = ParseBaselineDocument(doc, "w.yaml", s_);
  ASSERT_FALSE(b.ok());
  std::string msg(b.status().message());
  EXPECT_THAT(msg,
              HasSubstr("w.yaml:7:21: error: workloads[0].serviceAccount: \"odoo\", but the labels "
                        "say \"other\""));
  EXPECT_THAT(msg, HasSubstr("w.yaml:11:14: error: workloads[1].labels: \"reserved:world\" is a "
                             "reserved label"));
  EXPECT_THAT(
      msg, HasSubstr("w.yaml:11:30: error: workloads[1].labels: \"appisnolabel\" is not a label"));
  EXPECT_THAT(msg, HasSubstr("w.yaml:12:43: error: workloads[2]: unknown key \"colour\""));

  // serviceAccount alone gives the service-account label.
  std::string sa_only =
      "apiVersion: tierwatch.io/v1\nkind: TierwatchBaseline\nconnections: []\n"
      "workloads:\n  - {namespace: business, workload: odoo, serviceAccount: odoo}\n";
  auto ok = ParseBaselineDocument(sa_only, "sa.yaml", s_);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_THAT(Strings(*ok->Labels(Workload("business", "odoo"))),
              ElementsAre("k8s:io.cilium.k8s.policy.serviceaccount=odoo"));
}

}  // namespace
}  // namespace tw::baseline
