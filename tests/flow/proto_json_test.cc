// flow::HubbleJson against what hubble printed: every line of the real corpus (hubble
// observe -o json output) read into the wire message and written back must come out as the
// same bytes, and the bundled example's lines too.
#include "flow/proto_json.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "google/protobuf/util/json_util.h"
#include "observer/observer.pb.h"
#include "testing/paths.h"

namespace tw::flow {
namespace {

namespace fs = std::filesystem;

// Lines whose every field is in tierwatch's proto subset must round-trip byte for byte.
void ExpectSameBytes(const std::string& path, size_t* compared) {
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    ::observer::GetFlowsResponse resp;
    google::protobuf::util::JsonParseOptions opts;
    opts.ignore_unknown_fields = false;  // an unknown field would make the comparison unfair
    auto st = google::protobuf::util::JsonStringToMessage(line, &resp, opts);
    ASSERT_TRUE(st.ok()) << path << ":" << n << ": " << st.ToString();
    EXPECT_EQ(HubbleJson(resp), line) << path << ":" << n;
    ++*compared;
  }
}

TEST(HubbleJsonTest, RealCorpusLinesComeBackAsHubblePrintedThem) {
  std::string dir = tw::testing::SharedCorpusDir();
  if (dir.empty()) GTEST_SKIP() << tw::testing::kNoSharedReason;
  size_t compared = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".jsonl") ExpectSameBytes(e.path().string(), &compared);
  }
  EXPECT_GT(compared, 1900u);
}

TEST(HubbleJsonTest, ExampleLinesComeBackUnchanged) {
  size_t compared = 0;
  ExpectSameBytes(tw::testing::SourceDir() + "/examples/zero-trust-rollout/after.jsonl", &compared);
  EXPECT_GT(compared, 1000u);
}

TEST(HubbleJsonTest, EscapesAsGoEncoderAndWritesWellKnownTypes) {
  ::observer::GetFlowsResponse r;
  auto* f = r.mutable_flow();
  f->mutable_time()->set_seconds(1700000000);
  f->mutable_time()->set_nanos(120000000);
  f->set_uuid("u-1");
  f->set_verdict(::flow::DROPPED);
  f->mutable_is_reply()->set_value(false);
  f->set_node_name("a <b> & \x1b[31m");
  f->set_socket_cookie(42);
  r.set_node_name("n1");
  r.mutable_time()->set_seconds(1700000000);
  EXPECT_EQ(
      HubbleJson(r),
      R"({"flow":{"time":"2023-11-14T22:13:20.120Z","uuid":"u-1","verdict":"DROPPED",)"
      R"("node_name":"a \u003cb\u003e \u0026 \u001b[31m","is_reply":false,"socket_cookie":"42"},)"
      R"("node_name":"n1","time":"2023-11-14T22:13:20Z"})");
}

}  // namespace
}  // namespace tw::flow
