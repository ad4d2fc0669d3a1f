// CaptureReader on real files: the shared corpus, and temporary captures with malformed
// lines (reported as FILE:LINE and skipped, or fatal with strict), lost events, node status.
#include "sources/capture/capture_reader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "testing/paths.h"

namespace tw::sources {
namespace {

namespace fs = std::filesystem;

constexpr char kFlowLine[] =
    R"({"flow":{"time":"2025-06-01T10:00:00Z","verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED","source":{"namespace":"business","labels":["k8s:app=odoo"]},"l4":{"TCP":{"source_port":40000,"destination_port":443}}},"node_name":"w1","time":"2025-06-01T10:00:00Z"})";

class CaptureReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat("capture_reader_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    std::string path = (dir_ / name).string();
    std::ofstream out(path, std::ios::binary);
    out << content;
    return path;
  }

  fs::path dir_;
  flow::SymbolTable symbols_;
};

TEST_F(CaptureReaderTest, CorpusHasNoMalformedLines) {
  std::string dir = tw::testing::SharedCorpusDir();
  if (dir.empty()) GTEST_SKIP() << tw::testing::kNoSharedReason;
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".jsonl") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 9u);
  std::ostringstream errors;
  SourceStats stats;
  absl::StatusOr<std::vector<flow::Event>> events =
      ReadCaptures(files, symbols_, {.strict = true, .errors = &errors}, &stats);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(events->size(), 1916u);
  EXPECT_EQ(stats.events, 1916u);
  EXPECT_EQ(stats.flows, 1916u);
  EXPECT_EQ(stats.malformed, 0u);
  EXPECT_EQ(stats.node_status_events, 0u);
  EXPECT_TRUE(stats.lost_by_source.empty());
  EXPECT_EQ(errors.str(), "");
  // Files are read in the order given: the first event is basic-sample-10-flows.jsonl:1.
  ASSERT_TRUE(events->front().flow);
  EXPECT_EQ(events->front().flow->source_ip, "10.0.2.16");
  EXPECT_EQ(events->front().flow->l4.source_port, 15020);
}

TEST_F(CaptureReaderTest, MalformedLinesAreReportedWithFileAndLineAndSkipped) {
  std::string path = Write("mixed.jsonl", absl::StrCat(kFlowLine, "\n",                      // 1
                                                       R"({"flow":{"verdict":"DROP)", "\n",  // 2
                                                       "\n",                                 // 3
                                                       "   \t\n",                            // 4
                                                       R"({"flow":{"uuid":5}})", "\n",       // 5
                                                       "not json at all\n",                  // 6
                                                       kFlowLine, "\n"));                    // 7
  std::ostringstream errors;
  CaptureReader reader({path}, symbols_, {.errors = &errors});
  std::vector<flow::Event> got;
  absl::Status st = reader.Run([&](flow::Event&& ev) {
    got.push_back(std::move(ev));
    return true;
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(got.size(), 2u);
  SourceStats stats = reader.stats();
  EXPECT_EQ(stats.malformed, 3u);
  EXPECT_EQ(stats.events, 2u);
  EXPECT_EQ(stats.flows, 2u);
  std::vector<std::string> lines = absl::StrSplit(errors.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << errors.str();
  EXPECT_TRUE(absl::StartsWith(lines[0], path + ":2: malformed JSON")) << lines[0];
  EXPECT_EQ(lines[1], path + ":5: field flow.uuid: expected string, got number");
  EXPECT_TRUE(absl::StartsWith(lines[2], path + ":6: not a JSON object")) << lines[2];
  ASSERT_TRUE(got[1].flow);
  EXPECT_EQ(got[1].flow->verdict, flow::Verdict::kDropped);
  EXPECT_EQ(got[1].flow->source.WorkloadName(), "odoo");
}

TEST_F(CaptureReaderTest, UnknownEnumValuesWarnOncePerFieldWithFileAndLine) {
  std::string path =
      Write("enums.jsonl", absl::StrCat(kFlowLine, "\n",                              // 1
                                        R"({"flow":{"verdict":"BOGUS"}})", "\n",      // 2
                                        R"({"flow":{"verdict":99,"Type":7}})", "\n",  // 3
                                        R"({"flow":{"l4":{"TCP":{"destination_port":65616}}}})",
                                        "\n",                                       // 4
                                        R"({"flow":{"verdict":"BOGUS"}})", "\n"));  // 5
  std::ostringstream errors;
  SourceStats stats;
  auto evs = ReadCaptures({path}, symbols_, {.errors = &errors}, &stats);
  ASSERT_TRUE(evs.ok()) << evs.status();
  EXPECT_EQ(evs->size(), 4u);
  EXPECT_EQ(stats.malformed, 1u);  // the port
  EXPECT_EQ(stats.unknown_enum_values, 4u);
  std::vector<std::string> lines = absl::StrSplit(errors.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << errors.str();
  EXPECT_TRUE(
      absl::StartsWith(lines[0], path + R"(:2: field flow.verdict: unknown Verdict value "BOGUS")"))
      << lines[0];
  EXPECT_TRUE(absl::StartsWith(lines[1], path + ":3: field flow.Type: unknown FlowType value 7"))
      << lines[1];
  EXPECT_EQ(lines[2], path +
                          ":4: field flow.l4.TCP.destination_port: expected 0-65535, got "
                          "65616 (out of range)");
  EXPECT_EQ(lines[3], "4 unknown enum values in total (flow.Type=1, flow.verdict=3)");
}

TEST_F(CaptureReaderTest, StrictStopsAtTheFirstMalformedLine) {
  std::string path =
      Write("strict.jsonl", absl::StrCat(kFlowLine, "\n", kFlowLine, "\n",
                                         R"({"flow":{"Type":true}})", "\n", kFlowLine, "\n"));
  std::ostringstream errors;
  CaptureReader reader({path}, symbols_, {.strict = true, .errors = &errors});
  int delivered = 0;
  absl::Status st = reader.Run([&](flow::Event&&) {
    ++delivered;
    return true;
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            path + ":3: field flow.Type: expected a FlowType name or number, got boolean");
  EXPECT_EQ(delivered, 2);
  EXPECT_EQ(reader.stats().malformed, 1u);
}

TEST_F(CaptureReaderTest, MissingFileIsNotFoundBeforeAnyEvent) {
  std::string good = Write("good.jsonl", absl::StrCat(kFlowLine, "\n"));
  std::string missing = (dir_ / "no-such-capture.jsonl").string();
  CaptureReader reader({good, missing}, symbols_);
  int delivered = 0;
  absl::Status st = reader.Run([&](flow::Event&&) {
    ++delivered;
    return true;
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(st.message(), missing)) << st;
  EXPECT_EQ(delivered, 0);

  absl::StatusOr<std::vector<flow::Event>> events = ReadCaptures({dir_.string()}, symbols_);
  EXPECT_EQ(events.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(events.status().message(), "is a directory"));
}

TEST_F(CaptureReaderTest, CountsLostEventsBySourceAndNodeStatus) {
  std::string path = Write(
      "events.jsonl",
      absl::StrCat(
          R"({"node_status":{"state_change":"NODE_CONNECTED","node_names":["w1","w2"]}})", "\n",
          R"({"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"3","cpu":1},"node_name":"w1"})",
          "\n", kFlowLine, "\n",
          R"({"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"4","cpu":0}})",
          "\n", R"({"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"1"}})", "\n",
          R"({"lost_events":{"source":7,"num_events_lost":"2"}})", "\n",
          R"({"node_status":{"state_change":"NODE_UNAVAILABLE","node_names":["w3"]}})"));
  SourceStats stats;
  absl::StatusOr<std::vector<flow::Event>> events = ReadCaptures({path}, symbols_, {}, &stats);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(events->size(), 7u);
  EXPECT_EQ(stats.events, 7u);
  EXPECT_EQ(stats.flows, 1u);
  EXPECT_EQ(stats.node_status_events, 2u);
  EXPECT_EQ(stats.malformed, 0u);
  std::map<std::string, uint64_t> want = {
      {"PERF_EVENT_RING_BUFFER", 7}, {"HUBBLE_RING_BUFFER", 1}, {"7", 2}};
  EXPECT_EQ(stats.lost_by_source, want);
  ASSERT_TRUE((*events)[1].lost);
  EXPECT_EQ((*events)[1].lost->cpu, std::optional<int32_t>(1));
  EXPECT_EQ((*events)[1].node_name, "w1");
  // The last line has no newline and is still read.
  ASSERT_TRUE(events->back().node_status);
  EXPECT_EQ(events->back().node_status->node_names, std::vector<std::string>{"w3"});
}

TEST_F(CaptureReaderTest, SeveralFilesInOrderWithTheirOwnLineNumbers) {
  std::string a = Write("a.jsonl", absl::StrCat("\xEF\xBB\xBF", kFlowLine, "\r\n", "{bad}\r\n"));
  std::string b =
      Write("b.jsonl", absl::StrCat("\n", R"({"flow":{"uuid":"b2"}})", "\n", "{bad}\n"));
  std::ostringstream errors;
  SourceStats stats;
  absl::StatusOr<std::vector<flow::Event>> events =
      ReadCaptures({a, b}, symbols_, {.errors = &errors}, &stats);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].flow->uuid, "b2");
  EXPECT_EQ(stats.malformed, 2u);
  EXPECT_TRUE(absl::StrContains(errors.str(), a + ":2: ")) << errors.str();
  EXPECT_TRUE(absl::StrContains(errors.str(), b + ":3: ")) << errors.str();
}

TEST_F(CaptureReaderTest, ReportsAreCappedButCountingGoesOn) {
  std::string content;
  for (int i = 0; i < 5; ++i) absl::StrAppend(&content, "[", i, "]\n");
  absl::StrAppend(&content, kFlowLine, "\n");
  std::string path = Write("many-bad.jsonl", content);
  std::ostringstream errors;
  SourceStats stats;
  absl::StatusOr<std::vector<flow::Event>> events =
      ReadCaptures({path}, symbols_, {.errors = &errors, .max_reported_errors = 2}, &stats);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 1u);
  EXPECT_EQ(stats.malformed, 5u);
  std::vector<std::string> lines = absl::StrSplit(errors.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << errors.str();
  EXPECT_EQ(lines[0], path + ":1: expected a JSON object per line, got array");
  EXPECT_EQ(lines[1], path + ":2: expected a JSON object per line, got array");
  EXPECT_EQ(lines[2], "3 more malformed lines skipped without a report (5 in total)");
}

TEST_F(CaptureReaderTest, LinesLongerThanTheReadChunk) {
  std::string big(3 << 20, 'x');  // 3 MiB label value: longer than the 1 MiB read chunk
  std::string line = absl::StrCat(R"({"flow":{"source":{"labels":["k8s:big=)", big, R"("]}}})");
  std::string path = Write("big.jsonl", absl::StrCat(kFlowLine, "\n", line, "\n", kFlowLine));
  absl::StatusOr<std::vector<flow::Event>> events = ReadCaptures({path}, symbols_);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[1].flow->source.labels.at(0).view().size(), 8 + big.size());
  EXPECT_EQ((*events)[2].flow->l4.destination_port, 443);
}

TEST_F(CaptureReaderTest, CallbackFalseOrStopEndsTheRun) {
  std::string content;
  for (int i = 0; i < 10; ++i) absl::StrAppend(&content, kFlowLine, "\n");
  std::string path = Write("ten.jsonl", content);
  {
    CaptureReader reader({path, path}, symbols_);
    int n = 0;
    EXPECT_TRUE(reader.Run([&](flow::Event&&) { return ++n < 3; }).ok());
    EXPECT_EQ(n, 3);
    EXPECT_EQ(reader.stats().events, 3u);
  }
  {
    CaptureReader reader({path, path}, symbols_);
    int n = 0;
    EXPECT_TRUE(reader
                    .Run([&](flow::Event&&) {
                      if (++n == 4) reader.Stop();
                      return true;
                    })
                    .ok());
    EXPECT_EQ(n, 4);
  }
}

TEST_F(CaptureReaderTest, EmptyFileAndNoFiles) {
  std::string path = Write("empty.jsonl", "");
  SourceStats stats;
  absl::StatusOr<std::vector<flow::Event>> events = ReadCaptures({path}, symbols_, {}, &stats);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
  EXPECT_EQ(stats.events, 0u);
  EXPECT_TRUE(ReadCaptures({}, symbols_)->empty());
}

}  // namespace
}  // namespace tw::sources

namespace tw::sources {
namespace {

std::string FlowWithUuid(int i) {
  return absl::StrCat(
      R"({"flow":{"time":"2025-06-01T10:00:0)", i % 10, R"(Z","uuid":"u-)", i,
      R"(","verdict":"DROPPED","l4":{"TCP":{"source_port":40000,"destination_port":443}}}})");
}

// The same capture given twice (or overlapping captures) must not count a flow twice.
TEST(CaptureDedupeTest, SameUuidAcrossInputsIsReadOnce) {
  fs::path dir = fs::path(::testing::TempDir()) / "capture_dedupe";
  fs::create_directories(dir);
  std::string a = (dir / "a.jsonl").string(), b = (dir / "b.jsonl").string();
  {
    std::ofstream fa(a), fb(b);
    for (int i = 0; i < 5; ++i) fa << FlowWithUuid(i) << "\n";
    for (int i = 3; i < 8; ++i) fb << FlowWithUuid(i) << "\n";  // 3 and 4 overlap
  }
  flow::SymbolTable symbols;
  SourceStats stats;
  auto twice = ReadCaptures({a, a}, symbols, {}, &stats);
  ASSERT_TRUE(twice.ok()) << twice.status();
  EXPECT_EQ(twice->size(), 5u);
  EXPECT_EQ(stats.flows, 5u);
  EXPECT_EQ(stats.duplicates, 5u);

  auto overlap = ReadCaptures({a, b}, symbols, {}, &stats);
  ASSERT_TRUE(overlap.ok());
  EXPECT_EQ(overlap->size(), 8u);
  EXPECT_EQ(stats.duplicates, 2u);

  CaptureOptions keep;
  keep.dedupe_uuids = false;
  auto all = ReadCaptures({a, a}, symbols, keep, &stats);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 10u);
  fs::remove_all(dir);
}

// `hubble observe` without -o jsonpb writes text; the report says so and how to fix it.
TEST(CaptureDedupeTest, TextLinesAreReportedAsMissingJsonpb) {
  fs::path dir = fs::path(::testing::TempDir()) / "capture_text";
  fs::create_directories(dir);
  std::string path = (dir / "compact.txt").string();
  std::ofstream(path)
      << "Nov 20 09:00:02.299: business/odoo-7d9f8:40512 (ID:48211) -> "
         "business/postgres-0:5432 (ID:1234) to-endpoint FORWARDED (TCP Flags: SYN)\n";
  flow::SymbolTable symbols;
  std::ostringstream errors;
  SourceStats stats;
  auto evs = ReadCaptures({path}, symbols, {.errors = &errors}, &stats);
  ASSERT_TRUE(evs.ok());
  EXPECT_TRUE(evs->empty());
  EXPECT_EQ(stats.malformed, 1u);
  EXPECT_NE(errors.str().find("compact.txt:1: not a JSON object"), std::string::npos)
      << errors.str();
  EXPECT_NE(errors.str().find("hubble observe -o jsonpb"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tw::sources
