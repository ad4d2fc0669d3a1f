// EventToJson writes what Hubble's jsonpb writes, and reading it back gives the same Event:
// for the real corpus and for synthetic events (DROPPED/AUDIT, policies, lost events, ...).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "flow/json.h"
#include "flow/proto_convert.h"
#include "flow/test_events.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "testing/paths.h"

namespace tw::flow {
namespace {

// protobuf's own printer with proto field names (what Hubble's protojson emits, up to key
// order), parsed so that key order does not matter.
nlohmann::json ProtobufJson(const Event& ev) {
  ::observer::GetFlowsResponse pb;
  EventToProto(ev, &pb);
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(pb, &json, options).ok());
  return nlohmann::json::parse(json);
}

void ExpectRoundTrip(const Event& ev, JsonDecoder& decoder, const std::string& where) {
  std::string json = EventToJson(ev);
  EXPECT_EQ(json.find('\n'), std::string::npos) << where;
  absl::StatusOr<Event> back = decoder.Decode(json);
  ASSERT_TRUE(back.ok()) << where << ": " << back.status() << "\n" << json;
  EXPECT_EQ(*back, ev) << where << "\n" << json;
  // Same keys and values as protobuf's printer: names, enum names, 64-bit ints as strings.
  EXPECT_EQ(nlohmann::json::parse(json), ProtobufJson(ev)) << where << "\n" << json;
}

TEST(JsonRoundTrip, SyntheticEvents) {
  SymbolTable symbols;
  JsonDecoder decoder(symbols);
  std::vector<Event> events = testing::SyntheticEvents(symbols);
  for (size_t i = 0; i < events.size(); ++i) {
    ExpectRoundTrip(events[i], decoder, "synthetic event " + std::to_string(i));
  }
}

// Found by fuzz_jsonpb_line: a flow time before 1677 or after 2262 (outside int64
// nanoseconds since 1970) or before year 1000 did not survive the writer.
TEST(JsonRoundTrip, TimesFromYearOneToYear9999) {
  SymbolTable symbols;
  JsonDecoder decoder(symbols);
  for (const char* t :
       {"0001-01-01T00:00:00Z", "0221-11-10T10:41:26.095357Z", "1677-09-21T00:12:43.145224191Z",
        "2262-04-11T23:47:16.854775808Z", "9999-12-31T23:59:59.999999999Z"}) {
    const std::string line =
        absl::StrCat(R"({"flow":{"time":")", t, R"(","verdict":"FORWARDED"},"time":")", t, R"("})");
    absl::StatusOr<Event> ev = decoder.Decode(line);
    ASSERT_TRUE(ev.ok()) << ev.status() << "\n" << line;
    ExpectRoundTrip(*ev, decoder, line);
    EXPECT_TRUE(absl::StrContains(EventToJson(*ev), t)) << EventToJson(*ev);
  }
}

TEST(JsonRoundTrip, SyntheticLines) {
  SymbolTable symbols;
  JsonDecoder decoder(symbols);
  for (const std::string& line : testing::SyntheticLines()) {
    absl::StatusOr<Event> ev = decoder.Decode(line);
    ASSERT_TRUE(ev.ok()) << ev.status() << "\n" << line;
    ExpectRoundTrip(*ev, decoder, line);
  }
}

TEST(JsonRoundTrip, Corpus) {
  std::string dir = tw::testing::SharedCorpusDir();
  if (dir.empty()) GTEST_SKIP() << tw::testing::kNoSharedReason;
  SymbolTable symbols;
  JsonDecoder decoder(symbols);
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".jsonl") continue;
    std::ifstream in(entry.path());
    std::string line;
    size_t lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      absl::StatusOr<Event> ev = decoder.Decode(line);
      ASSERT_TRUE(ev.ok()) << entry.path() << ":" << lineno << ": " << ev.status();
      ExpectRoundTrip(*ev, decoder,
                      entry.path().filename().string() + ":" + std::to_string(lineno));
      if (::testing::Test::HasFatalFailure()) return;
      ++n;
    }
  }
  EXPECT_EQ(n, 1916u);
}

TEST(JsonRoundTrip, WritesHubbleLayout) {
  SymbolTable symbols;
  Event ev = testing::SyntheticEvents(symbols)[0];
  std::string json = EventToJson(ev);
  // Proto names (not lowerCamel), response wrapper first, outer node_name/time last.
  EXPECT_EQ(json.rfind("{\"flow\":{\"time\":\"2025-11-28T03:20:00.123456789Z\",", 0), 0u) << json;
  EXPECT_NE(json.find("\"drop_reason_desc\":\"POLICY_DENIED\""), std::string::npos);
  EXPECT_NE(json.find("\"IP\":{\"source\":\"10.0.1.15\",\"source_xlated\":\"192.0.2.7\""),
            std::string::npos);
  EXPECT_NE(json.find("\"ipVersion\":\"IPv4\""), std::string::npos);
  EXPECT_NE(json.find("\"flags\":{\"SYN\":true,\"ECE\":true,\"CWR\":true,\"NS\":true}"),
            std::string::npos);
  EXPECT_NE(json.find("\"revision\":\"18446744073709551615\""), std::string::npos);
  EXPECT_NE(json.find("\"Type\":\"L3_L4\""), std::string::npos);
  EXPECT_NE(json.find("\"event_type\":{\"type\":5}"), std::string::npos);
  EXPECT_NE(json.find("\"policy_log\":[\"tier2-deny\",\"line with \\\"quotes\\\" and \\\\ "
                      "backslash\"]"),
            std::string::npos)
      << json;
  EXPECT_EQ(json.find("is_reply"), std::string::npos);  // unknown on drops: not written
  EXPECT_EQ(json.find("reply"), std::string::npos);
  EXPECT_NE(
      json.find("},\"node_name\":\"prod/worker-1\",\"time\":\"2025-11-28T03:20:00.123456789Z\"}"),
      std::string::npos);

  // is_reply is a wrapper: false is written when known; `reply` mirrors a true is_reply.
  Event audit = testing::SyntheticEvents(symbols)[1];
  EXPECT_NE(EventToJson(audit).find("\"is_reply\":false"), std::string::npos);
  Event dns = testing::SyntheticEvents(symbols)[2];
  std::string dns_json = EventToJson(dns);
  EXPECT_NE(dns_json.find("\"reply\":true"), std::string::npos);
  EXPECT_NE(dns_json.find("\"is_reply\":true"), std::string::npos);
  EXPECT_NE(dns_json.find("\"latency_ns\":\"1234567\""), std::string::npos);
  EXPECT_NE(dns_json.find("\"trace_observation_point\":\"TO_ENDPOINT\""), std::string::npos);

  Event lost = testing::SyntheticEvents(symbols)[6];
  EXPECT_EQ(EventToJson(lost),
            "{\"lost_events\":{\"source\":\"PERF_EVENT_RING_BUFFER\",\"num_events_lost\":"
            "\"12345678901234\",\"cpu\":3},\"node_name\":\"prod/worker-1\",\"time\":"
            "\"2025-11-28T03:20:04.250Z\"}");
  Event lost0 = testing::SyntheticEvents(symbols)[7];
  EXPECT_EQ(EventToJson(lost0),
            "{\"lost_events\":{\"source\":\"HUBBLE_RING_BUFFER\",\"num_events_lost\":\"1\","
            "\"cpu\":0}}");
  Event node = testing::SyntheticEvents(symbols)[8];
  EXPECT_EQ(EventToJson(node),
            "{\"node_status\":{\"state_change\":\"NODE_CONNECTED\",\"node_names\":[\"prod/"
            "worker-1\",\"prod/worker-2\"]},\"time\":\"2025-11-28T03:20:00Z\"}");
}

TEST(JsonRoundTrip, UnknownEnumNumbersAreWrittenAsNumbers) {
  SymbolTable symbols;
  Event ev;
  ev.flow.emplace();
  ev.flow->verdict = static_cast<Verdict>(42);
  ev.flow->drop_reason_desc = 206;
  ev.flow->trace_observation_point = 77;
  std::string json = EventToJson(ev);
  EXPECT_EQ(json,
            "{\"flow\":{\"verdict\":42,\"trace_observation_point\":77,"
            "\"drop_reason_desc\":206}}");
  JsonDecoder decoder(symbols);
  absl::StatusOr<Event> back = decoder.Decode(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, ev);
}

TEST(JsonRoundTrip, EscapingOfArbitraryLabelText) {
  SymbolTable symbols;
  JsonDecoder decoder(symbols);
  Event ev;
  ev.flow.emplace();
  std::string all_ascii;
  for (int c = 1; c < 128; ++c) all_ascii += static_cast<char>(c);
  ev.flow->source.labels = {symbols.Intern("k8s:x=" + all_ascii),
                            symbols.Intern(std::string("k8s:nul=a\0b", 11)),
                            symbols.Intern("k8s:utf8=\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
                            symbols.Intern("k8s:ls=\xe2\x80\xa8")};
  ExpectRoundTrip(ev, decoder, "escaping");

  // Invalid UTF-8 cannot be written as JSON text: replaced by U+FFFD, the line stays valid.
  Event bad;
  bad.flow.emplace();
  bad.flow->uuid =
      "a\xff"
      "b\xc3";
  std::string json = EventToJson(bad);
  EXPECT_EQ(json, "{\"flow\":{\"uuid\":\"a\\ufffdb\\ufffd\"}}");
  absl::StatusOr<Event> back = decoder.Decode(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->flow->uuid,
            "a\xef\xbf\xbd"
            "b\xef\xbf\xbd");
}

}  // namespace
}  // namespace tw::flow
