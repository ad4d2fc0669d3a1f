// Learning from real files: the bundled example's before phase (whose README lists the
// connections it must yield) and the real Hubble corpus in ../shared (skipped when absent).
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "baseline/baseline.h"
#include "baseline/document.h"
#include "baseline/persist.h"
#include "flow/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/paths.h"

namespace tw::baseline {
namespace {

namespace fs = std::filesystem;

// Feeds every line of `path` to the learner; returns the number of lines that failed to decode.
int LearnFile(const std::string& path, flow::JsonDecoder& decoder, Learner& learner) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::string line;
  int errors = 0;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    absl::StatusOr<flow::Event> ev = decoder.Decode(line);
    if (!ev.ok()) {
      ADD_FAILURE() << path << ":" << lineno << ": " << ev.status();
      ++errors;
      continue;
    }
    learner.Observe(*ev);
  }
  return errors;
}

std::vector<std::string> Keys(const Baseline& b) {
  std::vector<std::string> out;
  for (const ConnectionRecord& r : b.Sorted()) out.push_back(r.key.ToString());
  return out;
}

TEST(CorpusTest, ExampleBeforePhaseYieldsTheDocumentedBaseline) {
  const std::string dir = testing::SourceDir() + "/examples/zero-trust-rollout";
  ASSERT_TRUE(fs::exists(dir + "/before.jsonl")) << "the bundled example is part of the repo";
  std::ifstream expected_file(dir + "/expected-classes.json");
  nlohmann::json expected = nlohmann::json::parse(expected_file);
  std::vector<std::string> want = expected["before"]["baseline_connections"];

  flow::SymbolTable symbols;
  flow::JsonDecoder decoder(symbols);
  Baseline baseline(symbols);
  flow::DnsNameCache dns(symbols);
  Learner learner(baseline, &dns);
  EXPECT_EQ(LearnFile(dir + "/before.jsonl", decoder, learner), 0);
  baseline.set_source("capture:before.jsonl");

  std::vector<std::string> got = Keys(baseline);
  std::sort(want.begin(), want.end());
  std::vector<std::string> sorted_got = got;
  std::sort(sorted_got.begin(), sorted_got.end());
  EXPECT_EQ(sorted_got, want);
  EXPECT_EQ(learner.stats().events, expected["before"]["lines"].get<uint64_t>());
  EXPECT_GT(learner.stats().replies, 0u);
  EXPECT_GT(learner.stats().dns_answers, 0u);

  // Its export loads back equal, and a snapshot of it too.
  auto doc = ParseBaselineDocument(ExportBaselineDocument(baseline, DocumentFormat::kYaml),
                                   "before.yaml", symbols);
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_TRUE(*doc == baseline);
  auto snap = DecodeSnapshot(EncodeSnapshot(baseline), "before.twb", symbols);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_TRUE(*snap == baseline);
}

TEST(CorpusTest, RealHubbleCorpusLearnsConnectionsNotReplies) {
  const std::string dir = testing::SharedCorpusDir();
  if (dir.empty()) GTEST_SKIP() << testing::kNoSharedReason;
  flow::SymbolTable symbols;
  flow::JsonDecoder decoder(symbols);
  Baseline baseline(symbols);
  flow::DnsNameCache dns(symbols);
  Learner learner(baseline, &dns);
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".jsonl") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  for (const std::string& f : files) EXPECT_EQ(LearnFile(f, decoder, learner), 0) << f;

  const LearnStats& st = learner.stats();
  EXPECT_EQ(st.flows, 1916u);
  EXPECT_GT(st.replies, 0u);
  EXPECT_GT(st.new_connections, 0u);
  EXPECT_EQ(st.new_connections, baseline.size());
  std::vector<std::string> keys = Keys(baseline);
  // Replies (SYN-ACKs, ICMP echo replies, DNS answers) are not connections: no learned
  // connection goes to an ephemeral port of a workload, and no ICMP connection is an echo reply.
  for (const ConnectionRecord& r : baseline.Sorted()) {
    SCOPED_TRACE(r.key.ToString());
    if (r.key.protocol == flow::Protocol::kTCP || r.key.protocol == flow::Protocol::kUDP) {
      EXPECT_LT(r.key.port, flow::kFirstEphemeralPort);
    }
    if (r.key.protocol == flow::Protocol::kICMPv4) {
      EXPECT_NE(r.key.port, 0);
    }
  }
  // Connections the corpus certainly has (DNS sample: node-local-dns asks kube-dns over TCP).
  EXPECT_THAT(keys,
              ::testing::Contains("kube-system/node-local-dns -> kube-system/kube-dns:53/TCP"));
  for (const std::string& k : keys) std::cout << "  " << k << "\n";
  std::cout << keys.size() << " connections from " << st.flows << " flows (" << st.replies
            << " replies, " << st.dns_answers << " DNS answers)\n";

  // The real-corpus baseline survives both persistence forms.
  auto snap = DecodeSnapshot(EncodeSnapshot(baseline), "corpus.twb", symbols);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_TRUE(*snap == baseline);
  auto doc = ParseBaselineDocument(ExportBaselineDocument(baseline, DocumentFormat::kJson),
                                   "corpus.json", symbols);
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_TRUE(*doc == baseline);
}

}  // namespace
}  // namespace tw::baseline
