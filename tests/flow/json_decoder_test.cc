// JsonDecoder on malformed and extreme input: truncated lines, wrong types, unknown enum
// names, lines that are not objects, huge labels. No crash; a clear error naming the field,
// or a correct decode.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "flow/json.h"
#include "flow/test_events.h"

namespace tw::flow {
namespace {

class JsonDecoderTest : public ::testing::Test {
 protected:
  absl::Status Error(const std::string& line) {
    absl::StatusOr<Event> ev = decoder_.Decode(line);
    EXPECT_FALSE(ev.ok()) << line << " decoded as " << (ev.ok() ? EventToJson(*ev) : "");
    return ev.status();
  }
  Event Ok(const std::string& line) {
    absl::StatusOr<Event> ev = decoder_.Decode(line);
    EXPECT_TRUE(ev.ok()) << line << ": " << ev.status();
    return ev.ok() ? *ev : Event();
  }

  SymbolTable symbols_;
  JsonDecoder decoder_{symbols_};
};

TEST_F(JsonDecoderTest, EveryTruncationIsAnError) {
  std::vector<std::string> lines = testing::SyntheticLines();
  for (const Event& ev : testing::SyntheticEvents(symbols_)) lines.push_back(EventToJson(ev));
  size_t checked = 0;
  for (const std::string& line : lines) {
    for (size_t len = 0; len < line.size(); ++len) {
      absl::StatusOr<Event> ev = decoder_.Decode(absl::string_view(line).substr(0, len));
      ASSERT_FALSE(ev.ok()) << "prefix of " << len << " bytes decoded: " << line.substr(0, len);
      EXPECT_EQ(ev.status().code(), absl::StatusCode::kInvalidArgument);
      ++checked;
    }
    // And the decoder is still usable after all those errors.
    EXPECT_TRUE(decoder_.Decode(line).ok()) << line;
  }
  EXPECT_GT(checked, 10000u);
}

TEST_F(JsonDecoderTest, TruncatedLineSaysMalformed) {
  absl::Status st = Error(R"({"flow":{"time":"2021-11-10T10:41:26.095357Z","verdict":"FORW)");
  EXPECT_TRUE(absl::StrContains(st.message(), "malformed JSON")) << st;
  st = Error(R"({"flow":{"verdict":"FORWARDED","source":{"labels":["a","b")");
  EXPECT_TRUE(absl::StrContains(st.message(), "malformed JSON")) << st;
}

TEST_F(JsonDecoderTest, NotAnObject) {
  for (const char* line : {"[1,2]", "\"flow\"", "42", "true", "null"}) {
    absl::Status st = Error(line);
    EXPECT_TRUE(absl::StartsWith(st.message(), "expected a JSON object per line, got")) << st;
  }
  EXPECT_EQ(Error("").message(), "empty line");
  EXPECT_EQ(Error("   \t ").message(), "empty line");
  for (const char* line : {"garbage", "nonsense", "nul", "tru", "-", "\"open", "{", "}"}) {
    absl::Status garbage = Error(line);
    EXPECT_TRUE(absl::StartsWith(garbage.message(), "malformed JSON")) << line << ": " << garbage;
  }
  absl::Status trailing = Error(R"({"flow":{}} trailing)");
  EXPECT_TRUE(absl::StrContains(trailing.message(), "malformed JSON")) << trailing;
  absl::Status two = Error(R"({"flow":{}}{"flow":{}})");
  EXPECT_EQ(two.message(), "unexpected text after the JSON object at byte 12");
}

TEST_F(JsonDecoderTest, WrongTypesNameTheFieldAndTheExpectation) {
  struct Case {
    const char* line;
    const char* message;
  };
  const Case cases[] = {
      {R"({"flow":"x"})", "field flow: expected object, got string"},
      {R"({"flow":{"IP":{"source":1}}})", "field flow.IP.source: expected string, got number"},
      {R"({"flow":{"l4":{"TCP":{"destination_port":"http"}}}})",
       "field flow.l4.TCP.destination_port: expected an unsigned 32-bit integer, got \"http\""},
      {R"({"flow":{"destination_names":[1]}})",
       "field flow.destination_names[0]: expected string, got number"},
      {R"({"flow":{"is_reply":"maybe"}})",
       "field flow.is_reply: expected true or false, got \"maybe\""},
      {R"({"flow":{"traffic_direction":{}}})",
       "field flow.traffic_direction: expected a TrafficDirection name or number, got object"},
      {R"({"flow":{"l7":{"dns":{"ips":"1.2.3.4","ttl":"long"}}}})",
       "field flow.l7.dns.ttl: expected an unsigned 32-bit integer"},
      {R"({"flow":{"ingress_denied_by":[{"labels":[true]}]}})",
       "field flow.ingress_denied_by[0].labels[0]: expected string, got boolean"},
      {R"({"lost_events":{"num_events_lost":-2}})",
       "field lost_events.num_events_lost: expected an unsigned 64-bit integer"},
      {R"({"node_status":{"node_names":[{}]}})",
       "field node_status.node_names[0]: expected string, got object"},
      {R"({"time":"yesterday","flow":{}})", "field time: expected an RFC 3339 timestamp"},
      {R"({"nodeStatus":{"stateChange":[]}})",
       "field nodeStatus.stateChange: expected a NodeState name or number, got array"},
  };
  for (const Case& c : cases) {
    absl::Status st = Error(c.line);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(st.message(), c.message)) << c.line << "\n -> " << st.message();
  }
}

TEST_F(JsonDecoderTest, UnknownEnumNamesLeaveTheDefault) {
  Event ev =
      Ok(R"({"flow":{"verdict":"QUARANTINED","drop_reason_desc":"DROP_NO_DEVICE","Type":"L3_L4",)"
         R"("traffic_direction":"SIDEWAYS","IP":{"ipVersion":"IPv9","source":"10.0.0.1"}}})");
  ASSERT_TRUE(ev.flow);
  EXPECT_EQ(ev.flow->verdict, Verdict::kUnknown);
  EXPECT_EQ(ev.flow->drop_reason_desc, 0u);
  EXPECT_EQ(ev.flow->traffic_direction, TrafficDirection::kUnknown);
  EXPECT_EQ(ev.flow->ip_version, IpVersion::kNotUsed);
  EXPECT_EQ(ev.flow->type, FlowType::kL3L4);  // the rest still decodes
  EXPECT_EQ(ev.flow->source_ip, "10.0.0.1");
  // ... but numbers unknown to this build are kept (proto3 enums are open).
  ev = Ok(R"({"flow":{"drop_reason_desc":206,"verdict":"4"}})");
  EXPECT_EQ(ev.flow->drop_reason_desc, 206u);
  EXPECT_EQ(ev.flow->verdict, Verdict::kAudit);
}

TEST_F(JsonDecoderTest, UnknownEnumValuesAreCountedPerFieldAndReportedOnce) {
  Ok(R"({"flow":{"verdict":"BOGUS","Type":99,"traffic_direction":"UP"}})");
  std::vector<std::string> first = decoder_.new_unknown_enums();
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0], R"(field flow.verdict: unknown Verdict value "BOGUS" (left at the default))");
  EXPECT_EQ(first[1], "field flow.Type: unknown FlowType value 99 (kept)");
  EXPECT_TRUE(absl::StrContains(first[2], "flow.traffic_direction: unknown TrafficDirection"));
  // The same fields again: counted, no new message; a known value is not counted.
  Event ev = Ok(R"({"flow":{"verdict":99,"Type":"L7","traffic_direction":"INGRESS"}})");
  EXPECT_EQ(static_cast<int>(ev.flow->verdict), 99);
  EXPECT_TRUE(decoder_.new_unknown_enums().empty());
  Ok(R"({"flow":{"verdict":"-1","drop_reason_desc":"NOPE"}})");
  ASSERT_EQ(decoder_.new_unknown_enums().size(), 1u);
  EXPECT_TRUE(absl::StrContains(decoder_.new_unknown_enums()[0], "flow.drop_reason_desc"));
  const UnknownEnumCounts& counts = decoder_.unknown_enums();
  EXPECT_EQ(counts.total, 6u);
  EXPECT_EQ(counts.by_field.at("flow.verdict"), 3u);
  EXPECT_EQ(counts.by_field.at("flow.Type"), 1u);
  EXPECT_EQ(counts.by_field.at("flow.traffic_direction"), 1u);
  EXPECT_EQ(counts.by_field.at("flow.drop_reason_desc"), 1u);
  Ok(R"({"flow":{"verdict":"DROPPED","Type":1}})");
  EXPECT_EQ(decoder_.unknown_enums().total, 6u);
}

TEST_F(JsonDecoderTest, PortsBeyond65535AreErrorsNotWrapped) {
  // 65616 mod 65536 would be port 80: a wrong baseline and a wrong verdict.
  absl::Status st = Error(R"({"flow":{"l4":{"TCP":{"destination_port":65616}}}})");
  EXPECT_EQ(st.message(),
            "field flow.l4.TCP.destination_port: expected 0-65535, got 65616 (out of range)");
  st = Error(R"({"flow":{"l4":{"UDP":{"source_port":"4294967295"}}}})");
  EXPECT_TRUE(absl::StrContains(st.message(), "flow.l4.UDP.source_port: expected 0-65535"));
  st = Error(R"({"flow":{"l4":{"ICMPv4":{"type":256}}}})");
  EXPECT_TRUE(absl::StrContains(st.message(), "flow.l4.ICMPv4.type: expected 0-255"));
  Event ev = Ok(R"({"flow":{"l4":{"SCTP":{"destination_port":65535}}}})");
  EXPECT_EQ(ev.flow->l4.destination_port, 65535);
}

TEST_F(JsonDecoderTest, UnknownFieldsAreSkippedAtAnyDepth) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "[{\"a\":";
  deep += "1";
  for (int i = 0; i < 200; ++i) deep += "}]";
  Event ev = Ok(absl::StrCat(R"({"future":)", deep, R"(,"flow":{"new_field":)", deep,
                             R"(,"verdict":"DROPPED","x":{"y":[1,"2",null,true]}},"z":"w"})"));
  ASSERT_TRUE(ev.flow);
  EXPECT_EQ(ev.flow->verdict, Verdict::kDropped);
}

TEST_F(JsonDecoderTest, LowerCamelAndProtoNamesMeanTheSame) {
  Event a =
      Ok(R"({"flow":{"destination_names":["x."],"is_reply":true,"drop_reason_desc":"POLICY_DENY",)"
         R"("traffic_direction":"EGRESS","event_type":{"type":1,"sub_type":181},)"
         R"("source":{"pod_name":"p","cluster_name":"c"},"l4":{"UDP":{"source_port":5,)"
         R"("destination_port":53}},"policy_match_type":3,"egress_denied_by":[{"name":"n"}]},)"
         R"("node_name":"n1"})");
  Event b =
      Ok(R"({"flow":{"destinationNames":["x."],"isReply":true,"dropReasonDesc":"POLICY_DENY",)"
         R"("trafficDirection":"EGRESS","eventType":{"type":1,"subType":181},)"
         R"("source":{"podName":"p","clusterName":"c"},"l4":{"UDP":{"sourcePort":5,)"
         R"("destinationPort":53}},"policyMatchType":3,"egressDeniedBy":[{"name":"n"}]},)"
         R"("nodeName":"n1"})");
  EXPECT_EQ(a, b);
  ASSERT_TRUE(a.flow);
  EXPECT_EQ(a.flow->drop_reason_desc, kDropPolicyDeny);
  EXPECT_EQ(a.flow->source.pod_name, "p");
  EXPECT_EQ(a.node_name, "n1");
  // Names are case-sensitive, as in protobuf: these are unknown fields.
  Event c = Ok(R"({"flow":{"ip":{"source":"1.1.1.1"},"type":"L7","summary":"s","verdict":1}})");
  EXPECT_EQ(c.flow->source_ip, "");
  EXPECT_EQ(c.flow->type, FlowType::kUnknown);
  EXPECT_EQ(c.flow->summary, "");
}

TEST_F(JsonDecoderTest, DeprecatedReplyOnlyWhenIsReplyAbsent) {
  EXPECT_EQ(Ok(R"({"flow":{"reply":true}})").flow->is_reply, std::optional<bool>(true));
  EXPECT_EQ(Ok(R"({"flow":{"reply":false}})").flow->is_reply, std::nullopt);
  EXPECT_EQ(Ok(R"({"flow":{"reply":true,"is_reply":false}})").flow->is_reply,
            std::optional<bool>(false));
  EXPECT_EQ(Ok(R"({"flow":{"is_reply":false,"reply":true}})").flow->is_reply,
            std::optional<bool>(false));
  EXPECT_EQ(Ok(R"({"flow":{}})").flow->is_reply, std::nullopt);
}

TEST_F(JsonDecoderTest, BareFlowObjects) {
  Event ev =
      Ok(R"({"time":"2021-11-10T10:41:26.095357Z","verdict":"DROPPED","node_name":"kind-worker",)"
         R"("drop_reason_desc":"POLICY_DENIED","source":{"identity":2}})");
  ASSERT_TRUE(ev.flow);
  EXPECT_EQ(ev.flow->verdict, Verdict::kDropped);
  EXPECT_EQ(ev.flow->node_name, "kind-worker");
  EXPECT_EQ(ev.node_name, "kind-worker");
  EXPECT_EQ(ev.time, ev.flow->time);
  EXPECT_EQ(ev.flow->source.reserved, kReservedWorld);
  EXPECT_TRUE(ev.flow->IsPolicyVerdictDrop());
}

TEST_F(JsonDecoderTest, TimestampForms) {
  auto time_of = [&](const std::string& ts) {
    return Ok(absl::StrCat(R"({"flow":{"time":")", ts, R"("}})")).flow->time;
  };
  absl::Time base = absl::FromUnixSeconds(1636540886);  // 2021-11-10T10:41:26Z
  EXPECT_EQ(time_of("2021-11-10T10:41:26Z"), base);
  EXPECT_EQ(time_of("2021-11-10T10:41:26.1Z"), base + absl::Milliseconds(100));
  EXPECT_EQ(time_of("2021-11-10T10:41:26.095357Z"), base + absl::Microseconds(95357));
  EXPECT_EQ(time_of("2021-11-10T10:41:26.000000001Z"), base + absl::Nanoseconds(1));
  EXPECT_EQ(time_of("2021-11-10T11:41:26+01:00"), base);
  EXPECT_EQ(time_of("2021-11-10T09:11:26.5-01:30"), base + absl::Milliseconds(500));
  EXPECT_EQ(time_of("1970-01-01T00:00:00Z"), absl::UnixEpoch());
  EXPECT_EQ(time_of("1969-12-31T23:59:59.999999999Z"), absl::UnixEpoch() - absl::Nanoseconds(1));
  EXPECT_EQ(time_of("2024-02-29T00:00:00Z"), absl::FromUnixSeconds(1709164800));
  for (const char* bad : {"2023-02-29T00:00:00Z", "2021-13-01T00:00:00Z", "2021-11-10T10:41:26",
                          "2021-11-10T10:41:26.Z", "2021-11-10 10:41:26Z",
                          "2021-11-10T10:41:26+0100", "2021-11-10T10:41:26Z ", "", "2021-11-10"}) {
    absl::Status st = Error(absl::StrCat(R"({"flow":{"time":")", bad, R"("}})"));
    EXPECT_TRUE(absl::StrContains(st.message(), "field flow.time: expected an RFC 3339")) << bad;
  }
}

TEST_F(JsonDecoderTest, HugeLabelValue) {
  std::string value(1 << 20, 'v');
  value[12345] = '"';  // escaped in the line
  std::string escaped = value;
  escaped.replace(12345, 1, "\\\"");
  Event ev = Ok(absl::StrCat(R"({"flow":{"source":{"labels":["k8s:big=)", escaped,
                             R"(","k8s:app=x"]},"verdict":"FORWARDED"}})"));
  ASSERT_TRUE(ev.flow);
  ASSERT_EQ(ev.flow->source.labels.size(), 2u);
  EXPECT_EQ(ev.flow->source.labels[0].view(), "k8s:big=" + value);
  EXPECT_EQ(ev.flow->source.WorkloadName(), "x");
  // Round trip through the writer, and a normal line decodes after the big one.
  absl::StatusOr<Event> back = decoder_.Decode(EventToJson(ev));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, ev);
  EXPECT_EQ(Ok(R"({"flow":{"verdict":"DROPPED"}})").flow->verdict, Verdict::kDropped);
}

TEST_F(JsonDecoderTest, TenThousandLabels) {
  std::string line = R"({"flow":{"destination":{"labels":[)";
  for (int i = 0; i < 10000; ++i) absl::StrAppend(&line, i ? "," : "", "\"k8s:l", i, "=v\"");
  line += R"(,"reserved:world"]}}})";
  Event ev = Ok(line);
  ASSERT_TRUE(ev.flow);
  ASSERT_EQ(ev.flow->destination.labels.size(), 10001u);
  EXPECT_EQ(ev.flow->destination.labels[9999], "k8s:l9999=v");
  EXPECT_EQ(ev.flow->destination.reserved, kReservedWorld);
  EXPECT_EQ(ev.flow->destination.LabelValue("l5000"), std::optional<absl::string_view>("v"));
}

TEST_F(JsonDecoderTest, InvalidUtf8IsAnError) {
  absl::Status st = Error("{\"flow\":{\"uuid\":\"a\xff\"}}");
  EXPECT_TRUE(absl::StrContains(st.message(), "malformed JSON")) << st;
}

TEST_F(JsonDecoderTest, InternsThroughTheTable) {
  Event a = Ok(R"({"flow":{"source":{"namespace":"business","labels":["k8s:app=odoo"]}}})");
  Event b = Ok(R"({"flow":{"source":{"namespace":"business","labels":["k8s:app=odoo"]}}})");
  EXPECT_EQ(&a.flow->source.namespace_.str(), &b.flow->source.namespace_.str());
  EXPECT_EQ(&a.flow->source.labels[0].str(), &symbols_.Intern("k8s:app=odoo").str());
}

}  // namespace
}  // namespace tw::flow
